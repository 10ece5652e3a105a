# Type stubs for the cuprum._rust extension (built from rust/binding).
from typing import Literal

__version__: str

def pump(
    reader_fd: int, writer_fd: int, *, buffer_size: int = 65536, cancel_fd: int | None = None
) -> int: ...
def pump_hop(
    reader_fd: int, writer_fd: int, *, buffer_size: int = 65536, cancel_fd: int | None = None
) -> tuple[int, Literal["eof", "downstream_closed", "cancelled"]]: ...
def consume(reader_fd: int, *, buffer_size: int = 65536, cancel_fd: int | None = None) -> str: ...
