Feature: Choosing the stream backend
  Cuprum moves pipeline data through a Python or a Rust backend, chosen by
  the CUPRUM_STREAM_BACKEND environment variable.

  Scenario: The test run's backend is the one resolved
    Given the environment variable is left as the test target set it
    When the stream backend is resolved
    Then it is the backend the test target names

  Scenario Outline: A choice is case-insensitive
    Given CUPRUM_STREAM_BACKEND is "<value>"
    When the stream backend is resolved
    Then the backend is "<backend>"

    Examples: Python
      | value  | backend |
      | python | python  |
      | PYTHON | python  |

    @rust
    Examples: Rust, and auto, which prefers it
      | value  | backend |
      | rust   | rust    |
      | Rust   | rust    |
      | auto   | rust    |
      |        | rust    |

  Scenario: An unknown backend is refused with the allowed values
    Given CUPRUM_STREAM_BACKEND is "java"
    When the stream backend is resolved
    Then a ValueError says "expected one of: auto, python, rust"

  Scenario: Rust is refused clearly when the extension is missing
    Given the Rust extension cannot be imported
    And CUPRUM_STREAM_BACKEND is "rust"
    When the stream backend is resolved
    Then an ImportError says "Rust stream backend is unavailable"

  Scenario: Auto falls back to Python when the extension is missing
    Given the Rust extension cannot be imported
    And CUPRUM_STREAM_BACKEND is "auto"
    When the stream backend is resolved
    Then the backend is "python"
