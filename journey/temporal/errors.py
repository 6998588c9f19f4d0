"""Errors of the client side that callers map without importing the Temporal client."""

from __future__ import annotations


class Unreachable(ConnectionError):
    """Temporal did not answer at the configured address."""


class JourneyUnavailable(Exception):
    """The journey exists but cannot answer now (e.g. its workflow task keeps failing)."""
