"""Connecting to Temporal: the embedded dev server by default, any cluster through envconfig."""

from __future__ import annotations

import os

from temporalio.client import Client
from temporalio.envconfig import ClientConfig

from journey.temporal.converter import data_converter
from journey.temporal.errors import Unreachable

DEFAULT_ADDRESS = "localhost:7233"


def connect_config() -> dict[str, object]:
    """`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS*`,
    `TEMPORAL_PROFILE` and TOML profiles, as `temporalio.envconfig` reads them."""
    config = dict(ClientConfig.load_client_connect_config())
    config.setdefault("target_host", os.environ.get("TEMPORAL_ADDRESS", DEFAULT_ADDRESS))
    if not config.get("target_host"):
        config["target_host"] = DEFAULT_ADDRESS
    return config


async def connect() -> Client:
    """A client for the configured Temporal; `Unreachable` (naming the address and how to
    start a server) when nothing answers there."""
    config = connect_config()
    try:
        return await Client.connect(**config, data_converter=data_converter)  # type: ignore[arg-type]
    except RuntimeError as err:
        raise Unreachable(
            f"cannot reach Temporal at {config.get('target_host')}: {err}. Start it with `journey up` "
            f"(or `journey server`), or set TEMPORAL_ADDRESS."
        ) from None


def use_quiet_runtime() -> None:
    """Keep the SDK core's own log lines (it prints to stdout) to errors only, so that
    `--json` output stays parseable. Call before any client or server is created."""
    from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

    telemetry = TelemetryConfig(logging=LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR")))
    Runtime.set_default(Runtime(telemetry=telemetry), error_if_already_set=False)
