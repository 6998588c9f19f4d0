"""Optional OpenTelemetry tracing of every Temporal call, with the SDK's own interceptor
(`temporalio.contrib.opentelemetry.TracingInterceptor`).

On when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set and
`OTEL_SDK_DISABLED` is not `true`: the spans go to that OTLP/HTTP endpoint (`/v1/traces`)
as the OpenTelemetry exporter reads the standard variables (headers, timeout,
`OTEL_RESOURCE_ATTRIBUTES`), under the service name `OTEL_SERVICE_NAME`, else
`journey-worker` for a worker and `journey-cli` for the other commands. Off, nothing of
OpenTelemetry is imported. The packages are an optional extra (`journey[otel]`); with the
endpoint set and the packages missing, the command stops with a bad setting naming the
variable and how to install them.
"""

from __future__ import annotations

import os
from typing import Any

from journey.config import setting
from journey.domain.errors import InputError

ENDPOINT_SETTINGS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
PROTOCOL_SETTINGS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
PROTOCOL = "http/protobuf"
WORKER_SERVICE = "journey-worker"
CLI_SERVICE = "journey-cli"
INSTALL = "pip install 'journey[otel]'"

# Set up once per process, by the first client that asks.
_provider: Any = None
_interceptor: Any = None


class TracingUnavailable(InputError):
    """Tracing is asked for but cannot be done here (packages missing, another protocol)."""


def endpoint_setting() -> str | None:
    """The variable that turns tracing on, or None when it is off."""
    if (setting("OTEL_SDK_DISABLED") or "").lower() == "true":
        return None
    return next((name for name in ENDPOINT_SETTINGS if setting(name)), None)


def interceptors(service: str) -> list[Any]:
    """The client interceptors for tracing: the SDK's `TracingInterceptor` when tracing is
    on (set up at the first call, with `service` as the default service name), none when
    it is off. A worker's client passes them on to its workflows and activities."""
    global _interceptor
    name = endpoint_setting()
    if name is None:
        return []
    if _interceptor is None:
        _interceptor = _set_up(name, service)
    return [_interceptor]


def _set_up(name: str, service: str) -> Any:
    global _provider
    for variable in PROTOCOL_SETTINGS:
        protocol = setting(variable)
        if protocol is not None and protocol != PROTOCOL:
            raise TracingUnavailable(f"{variable}: {protocol[:40]!r} is not supported; spans are sent as {PROTOCOL}")
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from temporalio.contrib.opentelemetry import TracingInterceptor
    except ImportError as err:
        raise TracingUnavailable(
            f"{name} is set but the OpenTelemetry packages are not installed ({err.name} is missing): "
            f"install them with {INSTALL}, or unset {name}"
        ) from None
    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME") or service})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    _provider = provider
    return TracingInterceptor(provider.get_tracer("journey"))


def shutdown() -> None:
    """Send the spans still buffered and stop (before the process leaves; it leaves
    without interpreter teardown, which would otherwise do it)."""
    global _provider, _interceptor
    if _provider is not None:
        _provider.shutdown()
    _provider = _interceptor = None
