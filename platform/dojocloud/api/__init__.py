"""The public gRPC API (JobService): auth, error mapping, mappers, servicer, serve_grpc."""
