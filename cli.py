"""Run the `letters` command from a source checkout: `python cli.py --help`.

The app lives in `letters/cli.py` (the installed `letters` script runs it too); this file is
kept out of the wheel so that installing letters adds no top-level `cli` module.
"""

from letters.cli import main

if __name__ == "__main__":
    main()
