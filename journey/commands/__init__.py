"""Groups of `journey` commands; `cli.py` assembles them."""
