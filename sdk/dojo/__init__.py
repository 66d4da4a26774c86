"""Dojo Cloud SDK: a typed gRPC client and the `dojo` CLI. Generated wire types: dojo.v1."""
