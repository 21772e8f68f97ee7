"""The Python SDK: ``Client`` over the REST API, local signing and proof checks."""

from consortia.client.client import Client
from consortia.client.proofs import ProofError, verify_transaction

__all__ = ["Client", "ProofError", "verify_transaction"]
