#!/usr/bin/env bash
# Regenerates the Python protobuf/gRPC code that ships inside the SDK (sdk/dojo/v1/).
# `make protos` runs this; CI checks the committed output is fresh (tests/unit/test_protos_fresh.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
out=${1:-sdk}
mkdir -p "$out/dojo/v1"
# Typed stubs for the *_pb2_grpc modules come from mypy-protobuf's plugin, which sits beside
# the interpreter (named by path: the freshness test runs this with a bare PATH).
plugin=${MYPY_GRPC_PLUGIN:-$(dirname "$PY")/protoc-gen-mypy_grpc}
"$PY" -m grpc_tools.protoc -Iprotos --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" \
  --plugin=protoc-gen-mypy_grpc="$plugin" --mypy_grpc_out=quiet:"$out" protos/dojo/v1/*.proto
touch "$out/dojo/v1/__init__.py"
