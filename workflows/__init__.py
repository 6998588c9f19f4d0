"""Temporal workflows: one long-lived `AccountJourney` per account, plus its sub-processes."""
