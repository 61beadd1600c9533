"""Pluggable anonymizers over Arrow data (no Beam inside): the contract (:mod:`anonymizers.base`), the
registry with its entry-point group ``anonbench.anonymizers`` (:mod:`anonymizers.registry`), chains
(:mod:`anonymizers.chain`), keys (:mod:`anonymizers.secrets`) and the built-ins, one module each."""

from anonymizers.base import Anonymizer, BatchContext, NoParams
from anonymizers.chain import Chain, ChainError, resolve_chain
from anonymizers.secrets import SecretRef

__all__ = ["Anonymizer", "BatchContext", "Chain", "ChainError", "NoParams", "SecretRef", "resolve_chain"]
