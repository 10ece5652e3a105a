Feature: Safe builders for git, rsync and tar
  The builders take validated values only: a path or a git ref that could be
  read as an option, climb out of a directory or name a remote is refused
  before any command exists, with an error that says which rule it breaks,
  and what is accepted reaches the program as a plain operand.

  Scenario Outline: A hostile path is refused when it is validated
    When a safe path is made from "<value>"
    Then an InvalidPathError says the path <reason>

    Examples:
      | value        | reason                          |
      | /srv/../etc  | must not contain a '..' segment |
      | ../../etc    | must not contain a '..' segment |
      | relative/dir | must be absolute                |
      | -rf          | must be absolute                |

  Scenario: A relative member that looks like an option stays a file name
    When a tar archive of the relative member "--to-command=sh" is built
    Then the member follows "--" as "./--to-command=sh"
    And the archive is given as "--file=/srv/out.tar"

  Scenario Outline: A branch name that breaks a ref rule is refused, naming the rule
    When the branch "<branch>" is checked out with create in the repository "/srv/app"
    Then an InvalidRefError names the rule "<rule>"
    And no git command was built

    Examples:
      | branch       | rule                                                    |
      | feature/a..b | must not contain '..'                                   |
      | -b           | must not begin with '-' (it would be read as an option) |
      | main.lock    | no component may end with '.lock'                       |
      | ext::sh      | must not contain any of ~ ^ : ? * [ \                   |

  Scenario: A valid branch is created with the name as a plain argument
    When the branch "release/1.2" is checked out with create in the repository "/srv/app"
    Then the git command is "git -C /srv/app checkout -b release/1.2 --"

  Scenario Outline: A tar round trip keeps awkward file names and runs nothing
    Given a directory holding files named "-v", "a b", "*" and "--to-command=touch pwned"
    When the directory is archived with <compression> compression and extracted elsewhere
    Then the extracted files match the originals
    And no file named "pwned" exists

    Examples:
      | compression |
      | no          |
      | gzip        |
      | xz          |
