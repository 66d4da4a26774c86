#!/usr/bin/env bash
# Regenerates the Python protobuf/gRPC code that ships inside the SDK (sdk/dojo/v1/).
# `make protos` runs this; CI checks the committed output is fresh (tests/unit/test_protos_fresh.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
out=${1:-sdk}
mkdir -p "$out/dojo/v1"
"$PY" -m grpc_tools.protoc -Iprotos --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" protos/dojo/v1/*.proto
touch "$out/dojo/v1/__init__.py"
