"""Accounts for tests: one valid account, any field overridden."""

from __future__ import annotations

from datetime import date
from typing import Any

from journey.domain.enums import ContactRole
from journey.domain.models import Account, Contact


def make_account(account_id: str = "acme", **overrides: Any) -> Account:
    values: dict[str, Any] = {
        "id": account_id,
        "name": f"{account_id.title()} Inc",
        "segment": "strategic",
        "tier": 1,
        "seats": 500,
        "arr": 250_000.0,
        "signed": date(2025, 1, 15),
        "renewal": date(2026, 1, 15),
        "ta": "tara",
        "ae": "alex",
        "contacts": [
            Contact(name="Chris Champion", email="chris@example.com", role=ContactRole.champion),
            Contact(name="Bea Buyer", role=ContactRole.economic_buyer),
        ],
    }
    values.update(overrides)
    return Account(**values)
