Feature: Running a batch of commands concurrently
  A batch runs many commands at once, within a limit, and reports each
  result in the order the commands were given.

  Scenario: Results keep the submission order
    Given a batch of echo commands for "alpha", "beta" and "gamma"
    When the batch runs with at most 2 at once
    Then the outputs are "alpha", "beta" and "gamma" in that order
    And every command completed

  Scenario: Fail-fast stops the rest at the first failure
    Given a batch of a long sleep, a failing command and another long sleep
    When the batch runs with fail-fast
    Then command 1 is reported as failed
    And commands 0 and 2 are reported as cancelled
    And no process of the batch is left running
