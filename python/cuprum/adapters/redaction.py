"""Redaction for adapters: ``cuprum.redaction``, re-exported where adapters look for it."""

from cuprum.redaction import DEFAULT_MASK, Redactor, redact_argv, redact_text, redacting

__all__ = ["DEFAULT_MASK", "Redactor", "redact_argv", "redact_text", "redacting"]
