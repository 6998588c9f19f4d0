"""The process's one Temporal SDK runtime: the SDK core's log lines kept to errors, and,
for a worker with a metrics port, its Prometheus endpoint.

Every client of the process (`journey.temporal.client.connect`, the simulation's test
server) uses this runtime, so the worker's client, its workflows and activities and the
engine's own metrics (`journey.telemetry.metrics`, recorded on `runtime.metric_meter`)
all reach the one endpoint the runtime serves. It is created when first needed, not at
start, so a worker can ask for its metrics endpoint first and commands that never talk
to Temporal never start the SDK's threads.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from temporalio.runtime import LoggingConfig, PrometheusConfig, Runtime, TelemetryConfig, TelemetryFilter

from journey.domain.errors import InputError
from journey.telemetry.metrics import histogram_buckets

_runtime: Runtime | None = None


@dataclass(frozen=True)
class MetricsEndpoint:
    """Where `/metrics` is served; `setting` and `ip_setting` name the options or
    variables the port and the address came from (None: the default address), for the
    message when it cannot be served there."""

    ip: str
    port: int
    setting: str
    ip_setting: str | None = None

    @property
    def bind_address(self) -> str:
        host = f"[{self.ip}]" if ipaddress.ip_address(self.ip).version == 6 else self.ip
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.bind_address}/metrics"


class MetricsUnavailable(InputError):
    """The metrics endpoint could not be served (the port is taken, not allowed, ...): a
    bad setting, named in the message."""


def process_runtime(metrics: MetricsEndpoint | None = None) -> Runtime:
    """The process's runtime, created at the first call and made the SDK's default. With
    `metrics`, a runtime serving them replaces one made earlier without (a process asks
    for its endpoint before any client exists, so in practice there is one runtime).
    Raises `MetricsUnavailable` when the endpoint cannot be served."""
    global _runtime
    if _runtime is not None and metrics is None:
        return _runtime
    try:
        runtime = Runtime(telemetry=telemetry_config(metrics))
    except ValueError as err:  # the exporter binds at once: a taken port fails here
        assert metrics is not None
        raise MetricsUnavailable(_unavailable(metrics, err)) from None
    Runtime.set_default(runtime, error_if_already_set=False)
    _runtime = runtime
    return runtime


def telemetry_config(metrics: MetricsEndpoint | None = None) -> TelemetryConfig:
    """The SDK core's log lines kept to errors (it prints them to stdout, which `--json`
    output shares); with `metrics`, its Prometheus exporter serving them."""
    logging = LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
    if metrics is None:
        return TelemetryConfig(logging=logging)
    prometheus = PrometheusConfig(
        bind_address=metrics.bind_address,
        # Prometheus naming for the SDK's metrics too: counters end in `_total`, durations
        # are seconds and say so (`_seconds`).
        counters_total_suffix=True,
        unit_suffix=True,
        durations_as_seconds=True,
        histogram_bucket_overrides=histogram_buckets(),
    )
    # No `service_name="temporal-core-sdk"` label on every series: Prometheus labels each
    # target itself (`job`, `instance`).
    return TelemetryConfig(logging=logging, metrics=prometheus, attach_service_name=False)


def _unavailable(metrics: MetricsEndpoint, err: ValueError) -> str:
    """The message naming the setting to change: the port's when it is taken, else both."""
    reason = str(err).removeprefix("Failed starting Prometheus exporter: ")
    if "in use" in reason.lower():
        return f"{metrics.setting}: cannot serve metrics on {metrics.bind_address}: the port is already in use"
    settings = metrics.setting if metrics.ip_setting is None else f"{metrics.setting} / {metrics.ip_setting}"
    return f"{settings}: cannot serve metrics on {metrics.bind_address}: {reason}"
