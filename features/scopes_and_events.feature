Feature: Scopes, hooks, environment and events
  Scopes narrow what code may run and layer settings over it; hooks and
  events let callers watch every run.

  Scenario: Environment overlays layer from the live environment inwards
    Given the live environment sets CUPRUM_DEMO to "live"
    And an outer scope overlays CUPRUM_DEMO with "outer"
    And an inner scope overlays CUPRUM_DEMO with "inner"
    When a child prints CUPRUM_DEMO
    Then it prints "inner"
    And with the context overlaying CUPRUM_DEMO with "context" it prints "context"

  Scenario: An invalid environment is refused before anything starts
    When a command runs with the environment variable "A=B" set to "x"
    Then a ValueError names the variable
    And no process was started

  Scenario: Before hooks run outer first, after hooks inner first
    Given hooks registered in an outer and an inner scope
    When a command runs inside both scopes
    Then the hooks ran in the order "before outer, before inner, after inner, after outer"

  Scenario: A run's events arrive in order, with its output lines
    When a command printing "one" and "two" runs under an observer
    Then the observer saw the phases "plan, start, stdout, stdout, exit"
    And the stdout events carry the lines "one" and "two"
    And the exit event reports the outcome "ok"

  Scenario: A raising observer does not break the run
    When a command runs under an observer that raises
    Then the command still succeeds
    And the error was logged on "cuprum.hooks"
