"""`python -m letters` runs the command line, like the `letters` script."""

from cli import main

main()
