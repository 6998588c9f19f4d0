"""Connecting to Temporal: the embedded dev server by default, any cluster through envconfig."""

from __future__ import annotations

import os

from temporalio.client import Client, RPCTimeoutOrCancelledError
from temporalio.envconfig import ClientConfig
from temporalio.service import RPCError, RPCStatusCode

from journey.config import KeyRing, encryption_keys
from journey.telemetry import tracing
from journey.temporal.converter import journey_data_converter
from journey.temporal.errors import Unreachable
from journey.temporal.keycheck import check_keys, check_workers_read
from journey.temporal.runtime import process_runtime

DEFAULT_ADDRESS = "localhost:7233"
_BUSY_HINT = (
    "is a worker running (`journey worker`) for the journey to answer? The server may also be "
    "overloaded: retry later"
)


def connect_config() -> dict[str, object]:
    """`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS*`,
    `TEMPORAL_PROFILE` and TOML profiles, as `temporalio.envconfig` reads them."""
    config = dict(ClientConfig.load_client_connect_config())
    config.setdefault("target_host", os.environ.get("TEMPORAL_ADDRESS", DEFAULT_ADDRESS))
    if not config.get("target_host"):
        config["target_host"] = DEFAULT_ADDRESS
    return config


async def connect(
    ring: KeyRing | None = None,
    *,
    check: bool = True,
    identity: str | None = None,
    service: str = tracing.CLI_SERVICE,
) -> Client:
    """A client for the configured Temporal, on the process's runtime, encrypting with
    `ring` (default: the keys of JOURNEY_ENCRYPTION_KEY or JOURNEY_ENCRYPTION_KEY_FILE),
    traced when an OTLP endpoint is set (`service`: the default service name of the spans);
    `Unreachable` (naming the address and how to start a server) when nothing answers
    there. With `check`, it first makes sure it can decrypt the newest journey and that the
    workers polling now can decrypt what it writes (`journey.temporal.keycheck`), so that a
    process with the wrong key stops before it sends anything."""
    ring = encryption_keys() if ring is None else ring
    config = connect_config()
    if identity is not None:
        config["identity"] = identity
    interceptors = tracing.interceptors(service)
    try:
        client = await Client.connect(
            **config,  # type: ignore[arg-type]
            data_converter=journey_data_converter(ring),
            runtime=process_runtime(),
            interceptors=interceptors,
        )
    except RuntimeError as err:
        raise Unreachable(
            f"cannot reach Temporal at {config.get('target_host')}: {err}. Start it with `journey up` "
            f"(or `journey server`), or set TEMPORAL_ADDRESS."
        ) from None
    if check:
        await check_keys(client, ring)
        await check_workers_read(client, ring)
    return client


# What to check when Temporal answers a call with this status instead of doing it.
_RPC_HINTS = {
    RPCStatusCode.UNAVAILABLE: "is the server running? Start it with `journey up` (or `journey server`), or set TEMPORAL_ADDRESS",
    RPCStatusCode.DEADLINE_EXCEEDED: _BUSY_HINT,
    RPCStatusCode.CANCELLED: _BUSY_HINT,
    RPCStatusCode.RESOURCE_EXHAUSTED: "the server is overloaded or rate-limits this namespace; retry later, or raise its limits",
    RPCStatusCode.UNAUTHENTICATED: "check TEMPORAL_API_KEY and the TEMPORAL_TLS* settings",
    RPCStatusCode.PERMISSION_DENIED: "check TEMPORAL_API_KEY, the TEMPORAL_TLS* settings and TEMPORAL_NAMESPACE",
    RPCStatusCode.NOT_FOUND: "check TEMPORAL_NAMESPACE",
}


def service_failure(err: BaseException) -> str | None:
    """One line for a call that Temporal did not carry out (it timed out, the server is
    overloaded, gone or refuses this client), saying what to check; None for any other error."""
    if isinstance(err, RPCTimeoutOrCancelledError):
        return f"Temporal at {_address()} did not answer in time ({err}); {_BUSY_HINT}"
    if isinstance(err, RPCError):
        hint = _RPC_HINTS.get(err.status, "check the server's log")
        return f"Temporal at {_address()} answered {err.status.name}: {err.message}; {hint}"
    return None


def _address() -> object:
    try:
        return connect_config().get("target_host")
    except Exception:  # noqa: BLE001 (the address is only a help in a message about another error)
        return os.environ.get("TEMPORAL_ADDRESS", DEFAULT_ADDRESS)


def use_quiet_runtime() -> None:
    """Make the process's runtime (the SDK core's log lines, which it prints to stdout,
    kept to errors so that `--json` output stays parseable) the SDK's default now, for
    code that creates clients or servers without `connect`."""
    process_runtime()
