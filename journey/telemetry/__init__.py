"""What a worker tells its operators: the engine's metrics (`metrics`) and, when configured,
OpenTelemetry tracing (`tracing`). Nothing here is loaded or costs anything unless a
metrics port or an OTLP endpoint is set."""
