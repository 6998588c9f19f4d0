"""The `journey` console script (also `python cli.py`); the commands are in `journey.cli`."""

from journey.cli import entry, main

__all__ = ["entry", "main"]

if __name__ == "__main__":
    entry()
