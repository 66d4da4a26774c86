"""Customer web portal: server-rendered pages over the same services that gRPC uses."""
