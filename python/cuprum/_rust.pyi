# Type stubs for the cuprum._rust extension (built from rust/binding).

__version__: str
