"""The pure domain of `journey`: accounts, stages, playbooks, the engine and its decisions.

Nothing here does I/O against Temporal or the database: these modules import only the
standard library, pydantic and transitions (checked by the import contracts in
pyproject.toml), so every rule is unit-tested without a server.
"""
