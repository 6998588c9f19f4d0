"""Activities that write and read the store. Every write is idempotent by key."""

from __future__ import annotations

from temporalio import activity

from journey.metrics import utilization_on
from journey.models import Effects
from journey.playbook import Playbook, load_playbooks
from journey.store import Store
from workflows.messages import PlaybookRequest, UtilizationQuery, UtilizationResult


class StoreActivities:
    """Bound to one `Store` so tests and simulations can point a worker at their own database."""

    def __init__(self, store: Store, playbook_dir: str | None = None) -> None:
        self.store = store
        self.playbook_dir = playbook_dir

    @activity.defn(name="apply_effects")
    def apply_effects(self, effects: Effects) -> None:
        self.store.apply_effects(effects)

    @activity.defn(name="fetch_utilization")
    def fetch_utilization(self, query: UtilizationQuery) -> UtilizationResult:
        with self.store.engine.connect() as conn:
            mau = utilization_on(conn, query.account, query.on)
        if mau is None:
            return UtilizationResult(utilization=None)
        return UtilizationResult(utilization=mau / query.seats, mau=mau)

    @activity.defn(name="load_playbook")
    def load_playbook(self, request: PlaybookRequest) -> Playbook:
        return load_playbooks(self.playbook_dir)[request.model]

    def all(self) -> list[object]:
        return [self.apply_effects, self.fetch_utilization, self.load_playbook]
