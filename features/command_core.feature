Feature: Running catalogued commands
  Cuprum runs only the programs its catalogue approves, and never through a
  shell; a scope may narrow what is allowed still further. A timeout ends
  the command's whole process tree yet still reports what it had written,
  and a failing command can be made to raise.

  Scenario: An approved program runs and its output is read
    Given a command for the catalogued program "echo" with the arguments "hello" and "world"
    When the command is run
    Then the command exits with status 0
    And its standard output is "hello world"

  Scenario Outline: A program the catalogue does not know is refused when the command is built
    When a command is built for the program "<program>" from the default catalogue
    Then an UnknownProgramError names "<program>"
    And no command was built

    Examples:
      | program         |
      | rm-everything   |
      | sh              |
      | bash            |
      | /usr/bin/python |

  Scenario: A program outside the scope's allowlist is refused before it starts
    Given a scope that allows only "echo"
    And a shell command that would leave a marker file behind
    When the command is run
    Then a ForbiddenProgramError names "sh"
    And the marker file does not exist
    And nothing about the command was observed

  Scenario: A program inside the scope's allowlist runs
    Given a scope that allows both "sh" and "echo"
    And a shell command that would leave a marker file behind
    When the command is run
    Then the command exits with status 0
    And the marker file exists

  Scenario: A timeout kills the whole process tree and reports the partial output
    Given a shell command that prints "started" and then waits for a background sleep
    When the command is run with a timeout of 1.0 seconds
    Then a TimeoutExpired is raised within 10 seconds
    And the TimeoutExpired reports the standard output "started"
    And the TimeoutExpired names the command and its timeout of 1.0 seconds
    And no process of the command's process group is left alive

  Scenario: An observer that never returns cannot hold a run past its timeout
    Given a shell command that prints "started" and then waits for a background sleep
    And an async observer that never returns once the command has started
    When the command is run with a timeout of 1.0 seconds
    Then a TimeoutExpired is raised within 20 seconds
    And no process of the command's process group is left alive

  Scenario: A non-zero exit with check raises CommandFailed
    Given a shell command that writes "broken" to its standard error and exits with status 3
    When the command is run with check
    Then a CommandFailed is raised
    And the failed result has exit status 3
    And the failed result's standard error is "broken"

  Scenario: A non-zero exit without check is reported, not raised
    Given a shell command that writes "broken" to its standard error and exits with status 3
    When the command is run
    Then the command exits with status 3
    And its standard error is "broken"
