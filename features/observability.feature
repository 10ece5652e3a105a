Feature: Observing commands through the logging, metrics and tracing adapters
  Cuprum's adapters watch commands through the observe hooks. They record
  what ran and how it ended, for logs, metrics and traces, and they never
  emit what they were told to keep secret.

  Scenario: A failing command produces an error span
    Given a tracer that keeps its spans in memory
    When the program "false" is run under observation
    Then one span named "false" was recorded
    And the span has an error status saying "exit code 1"
    And the span's attribute "cuprum.exit_code" is 1

  Scenario: A pipeline's stages become one span each
    Given a tracer that keeps its spans in memory
    When the pipeline echo "hello" | cat is run under observation
    Then the spans "echo" and "cat" were recorded, for stages 0 and 1 of one run
    And no span has an error status

  Scenario: A secret argument never appears in the logs
    Given JSON logs of every command and its output, redacting the value "hunter2" and the option "--password"
    When echo is run with the arguments "--password", "s3cret" and "token=hunter2" under observation
    Then the logs hold a start record, an output record and an exit record for echo
    And the logged argv is "echo", "--password", "***" and "token=***"
    And neither "hunter2" nor "s3cret" appears anywhere in the logs

  Scenario: Metrics count executions per program
    Given Prometheus metrics on a fresh registry
    When the program "echo" is run under observation 3 times
    And the program "false" is run under observation
    Then cuprum_executions_total is 3 for "echo" of project "coreutils"
    And cuprum_executions_total is 1 for "false" of project "coreutils"
    And cuprum_failures_total is 1 for "false" of project "coreutils"
    And no failure was counted for "echo" of project "coreutils"
