"""Where a running activity stands in its retries."""

from __future__ import annotations

from temporalio import activity


def last_attempt(limit: int | None = None) -> int | None:
    """This attempt's number if it is the last the running activity gets (by its retry
    policy, or by `limit` when that is lower), else None: what still fails now is reported
    as failed instead of raised for a retry that will not come."""
    info = activity.info()
    policy = info.retry_policy
    allowed = [n for n in (limit, policy.maximum_attempts if policy is not None else 0) if n]
    return info.attempt if allowed and info.attempt >= min(allowed) else None
