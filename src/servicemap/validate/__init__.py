"""Validation: the Great Expectations gate between normalisation and deduplication."""

from servicemap.validate.suite import (
    SUITE_PATH,
    ExpectationOutcome,
    SuiteError,
    Validation,
    load_suite,
    records_frame,
    validate_records,
)

__all__ = [
    "SUITE_PATH",
    "ExpectationOutcome",
    "SuiteError",
    "Validation",
    "load_suite",
    "records_frame",
    "validate_records",
]
