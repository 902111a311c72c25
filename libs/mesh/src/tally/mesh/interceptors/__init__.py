"""gRPC interceptors of the mesh: tracing, error mapping, deadlines and auth, server and client side."""
