"""Beam-free generators: (seed, chunk, params) -> Arrow tables. Population, behaviour, value pools."""
