class Feature:
    name: str

class Scenario:
    name: str
    tags: list[str]
