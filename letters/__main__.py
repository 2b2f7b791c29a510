"""`python -m letters` runs the command line, like the `letters` script."""

from letters.cli import main

main()
