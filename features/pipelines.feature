Feature: Pipelines behave the same on every stream backend
  The stages of a pipeline run concurrently and their bytes flow through
  pumps in Cuprum's own process, on whichever stream backend
  CUPRUM_STREAM_BACKEND selects. Every backend delivers exactly the same
  bytes, ends a pipeline early the same way and blames the same stage. By
  default a pipeline follows a shell with pipefail; fail-fast is an opt-in.

  Scenario: An empty stream stays empty
    Given a producer that writes nothing
    And the pipeline continues through cat
    When the pipeline runs
    Then the pipeline succeeds
    And the output is empty
    And every hop carried 0 bytes

  Scenario Outline: Multi-byte UTF-8 text survives chunk boundaries
    Given a producer that writes <size> KiB of UTF-8 text mixing 1- to 4-byte characters in odd-sized chunks
    And the pipeline continues through cat
    And the pipeline continues through cat
    When the pipeline runs
    Then the pipeline succeeds
    And the output is exactly the text that was written
    And every hop carried exactly the encoded text

    Examples:
      | size |
      | 1    |
      | 100  |
      | 1024 |

  Scenario: A consumer that has enough ends the pipeline at once
    Given the pipeline yes | head -n 1
    When the pipeline runs
    Then the pipeline succeeds within 5 seconds
    And the output is the line "y"
    And stage 0 was killed by SIGPIPE but is not blamed

  Scenario: By default a failing stage leaves the others to finish, as in a shell
    Given a producer that writes 3 lines and exits with status 2
    And the pipeline continues through cat
    When the pipeline runs
    Then the pipeline fails at stage 0 within 5 seconds
    And stage 0 exited with status 2
    And stage 1 exited with status 0
    And the output is the 3 lines

  Scenario: With fail-fast, a failing middle stage stops the other stages
    Given a producer that never stops
    And the pipeline continues through a stage that reads one line and exits with status 3
    And the pipeline continues through a stage that drains its input and then sleeps
    And the pipeline fails fast
    When the pipeline runs
    Then the pipeline fails at stage 1 within 5 seconds
    And stage 1 exited with status 3
    And stage 2 was terminated by Cuprum and is not blamed
    And no stage's process group is left alive

  Scenario Outline: The failing stage is named wherever it stands
    Given a three-stage pipeline whose stage <failing> exits with status 4
    When the pipeline runs
    Then the pipeline fails at stage <failing> within 5 seconds
    And stage <failing> exited with status 4
    And no stage's process group is left alive

    Examples:
      | failing |
      | 0       |
      | 1       |
      | 2       |
