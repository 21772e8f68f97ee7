"""Members' own contracts: deploy-time rules, the metered runtime, and the installed program (ADR 0014)."""

from consortia.contracts.usercode.package import (
    ARCHIVE_FORMAT,
    ContractRefused,
    InstalledContract,
    Program,
    archive_source,
    check_archive,
    compile_archive,
    compute_code_hash,
    deployment,
    make_archive,
)
from consortia.contracts.usercode.rules import ENTRY_FILE, NAME_RE, Finding, Outline, check_source
from consortia.contracts.usercode.runtime import DEFAULT_MAX_STEPS, LimitExceeded, Meter

__all__ = ["ARCHIVE_FORMAT", "DEFAULT_MAX_STEPS", "ENTRY_FILE", "NAME_RE", "ContractRefused", "Finding",
           "InstalledContract", "LimitExceeded", "Meter", "Outline", "Program", "archive_source", "check_archive",
           "check_source", "compile_archive", "compute_code_hash", "deployment", "make_archive"]
