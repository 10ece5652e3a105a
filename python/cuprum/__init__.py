"""Cuprum: typed, async command execution for Python, without a shell."""

from cuprum.stream_backend import (
    BackendChoice,
    StreamBackend,
    is_rust_available,
    resolve_stream_backend,
)

__all__ = [
    "BackendChoice",
    "StreamBackend",
    "is_rust_available",
    "resolve_stream_backend",
]
__version__ = "0.1.0"
