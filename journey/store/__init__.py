"""The store: the only package that speaks SQL (SQLAlchemy and Alembic live here alone).

`Store` is the database with every aggregate (accounts, timeline, tasks, outbox, usage,
red accounts) and the SQL behind the metrics, the health sweep and the imports; its reads
return the models of `journey.store.records` or of the domain.
"""

from journey.store.store import Store

__all__ = ["Store"]
