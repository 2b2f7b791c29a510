"""letters: turn one campaign appeal into many personalised, print-ready letters."""

from letters.errors import LettersError

__version__ = "0.1.0"
FORMAT_VERSION = 1

__all__ = ["FORMAT_VERSION", "LettersError", "__version__"]
