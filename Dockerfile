# syntax=docker/dockerfile:1
# One image for every process of Dojo Cloud: web (gunicorn), api (manage.py serve_grpc),
# the Celery workers of each pool and the migrate Job; the pod's command picks which.
# Build: docker build -t dojocloud:0.1.0 .   (CPU torch; for CUDA hosts pass
# --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128)
# deploy/docker/README.md says what is checked without a Docker engine.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# --- build: a virtual environment with the pinned dependencies ----------------------------
FROM ${PYTHON_IMAGE} AS build
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Compilers only here, for any pinned package without a wheel for this platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential=12.9 \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY requirements.txt deploy/docker/image-excludes.txt ./
# torch first, from the CPU index: the same pinned version (2.13.0+cpu satisfies the
# requirement torch==2.13.0) without the CUDA libraries' gigabytes. DL3013: the pin is
# requirements.txt's line, read into TORCH, which hadolint cannot see.
# hadolint ignore=DL3013
RUN TORCH="$(grep -E '^torch==' requirements.txt)" \
 && pip install --index-url "${TORCH_INDEX}" "${TORCH}" \
 && grep -v -E -f image-excludes.txt requirements.txt > runtime-requirements.txt \
 && pip install -r runtime-requirements.txt
COPY sdk/ sdk/
RUN pip install --no-deps ./sdk

# --- runtime: the venv and the source, no compiler, a non-root user ----------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app:/app/platform \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=dojocloud.settings \
    DJANGO_DEBUG=0 \
    DOJO_DATA_DIR=/var/lib/dojo
RUN groupadd --system --gid 10001 dojo \
 && useradd --system --uid 10001 --gid dojo --home-dir /var/lib/dojo --create-home dojo
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY manage.py pyproject.toml ./
COPY platform/ platform/
COPY scheduler/ scheduler/
COPY dojo_runtime/ dojo_runtime/
COPY deploy/clusters/ deploy/clusters/
COPY deploy/prices.yaml deploy/prices.yaml
COPY deploy/docker/healthcheck.py deploy/docker/healthcheck.py
USER 10001:10001
EXPOSE 8000 50051 9101 9102
# Docker and Compose use this; Kubernetes ignores it and runs the pods' probes instead.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "deploy/docker/healthcheck.py"]
CMD ["python", "-m", "gunicorn", "-c", "python:dojocloud.gunicorn_conf", "--bind", "0.0.0.0:8000"]
