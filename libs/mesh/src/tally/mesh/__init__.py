"""The Go-free Python mesh: gRPC bootstrap, interceptors, telemetry, settings and NATS JetStream."""
