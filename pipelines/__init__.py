"""Apache Beam pipelines: generate, anonymize, validate, attack. Thin, labelled composite PTransforms over the
Beam-free packages; sharded, atomic Parquet IO; runner options."""
