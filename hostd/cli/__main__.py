"""`python -m hostd.cli`: the `hostd` command."""

from hostd.cli import main

main()
