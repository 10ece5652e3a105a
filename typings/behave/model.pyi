class Feature:
    name: str

class Scenario:
    name: str
    tags: list[str]
    effective_tags: set[str]
    def skip(self, reason: str | None = None, require_not_executed: bool = False) -> None: ...
