"""`make up` checks before it claims and heals rather than halts: ports checked first (a busy
one named with the variable that moves it), ports moved by their variables, children's
output in log files with only what matters echoed, and a supervisor that restarts a child
with backoff and gives up on a crash loop."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import devstack
from devstack import (
    REPO,
    CrashLoop,
    DevstackError,
    LogEcho,
    PortBusy,
    Ports,
    Stack,
    Supervisor,
    env_file_value,
    free_port,
)


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def _free_ports() -> Ports:
    return Ports(free_port(), free_port(), free_port(), 0, free_port())


@pytest.mark.parametrize(
    "which, variable",
    [
        ("web", "DOJO_WEB_PORT"),
        ("grpc", "DOJO_GRPC_ADDR"),
        ("grpc_metrics", "DOJO_GRPC_METRICS_PORT"),
    ],
)
def test_a_busy_port_stops_start_up_naming_its_variable(
    tmp_path: Path, busy_port: int, which: str, variable: str
) -> None:
    ports = _free_ports()
    setattr(ports, which, busy_port)
    stack = Stack(ports=ports, state_dir=tmp_path, log_dir=tmp_path / "log")
    with pytest.raises(PortBusy) as err:
        stack.start()
    assert err.value.port == busy_port and err.value.variable == variable
    assert f"port {busy_port}" in str(err.value) and variable in str(err.value)
    assert stack.procs == {}  # nothing was started, migrated or seeded
    assert not (tmp_path / "dojo.sqlite3").exists()


def test_worker_metrics_ports_are_checked_too(tmp_path: Path, busy_port: int) -> None:
    ports = _free_ports()
    ports.worker_metrics_base = busy_port - 1  # the second worker's port is the busy one
    stack = Stack(ports=ports, state_dir=tmp_path)
    with pytest.raises(PortBusy) as err:
        stack.check_ports()
    assert err.value.variable == "DOJO_WORKER_METRICS_PORT" and "worker-" in err.value.what


def test_ports_move_with_their_variables() -> None:
    ports = Ports.from_env(
        {
            "DOJO_WEB_PORT": "8100",
            "DOJO_GRPC_ADDR": "127.0.0.1:50100",
            "DOJO_GRPC_METRICS_PORT": "9201",
            "DOJO_WORKER_METRICS_PORT": "9202",
            "DOJO_PROMETHEUS_URL": "http://127.0.0.1:9190",
        }
    )
    assert ports == Ports(8100, 50100, 9201, 9202, 9190)
    assert Ports.from_env({}) == Ports()
    with pytest.raises(DevstackError, match="DOJO_WEB_PORT must name a port from 1 to 65535"):
        Ports.from_env({"DOJO_WEB_PORT": "eighty"})
    with pytest.raises(DevstackError, match="DOJO_GRPC_ADDR"):
        Ports.from_env({"DOJO_GRPC_ADDR": "127.0.0.1:99999"})


def test_make_up_on_a_busy_port_says_which_and_claims_nothing(
    tmp_path: Path, busy_port: int
) -> None:
    env = dict(os.environ, DOJO_DATA_DIR=str(tmp_path), DOJO_WEB_PORT=str(busy_port))
    res = subprocess.run(
        [sys.executable, "-m", "devstack", "up"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 1
    assert f"port {busy_port} (web) is already in use" in res.stderr
    assert "DOJO_WEB_PORT" in res.stderr
    assert "is up" not in res.stdout + res.stderr


def _stack_with(tmp_path: Path, name: str, code: str) -> Stack:
    stack = Stack(state_dir=tmp_path, log_dir=tmp_path / "log")
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"), "PYTHONUNBUFFERED": "1"}
    stack._spawn(name, [sys.executable, "-c", code], env)
    return stack


def _exited(stack: Stack, name: str) -> None:
    stack.procs[name].wait(timeout=30)


def test_the_supervisor_restarts_with_backoff_then_gives_up_on_a_crash_loop(
    tmp_path: Path,
) -> None:
    said: list[str] = []
    stack = _stack_with(
        tmp_path, "worker-x", "import sys; print('boom', file=sys.stderr); sys.exit(3)"
    )
    sup = Supervisor(stack, say=said.append, max_restarts=3, window_s=100, backoff_s=1)
    try:
        now = 1000.0
        for attempt, delay in enumerate([1, 2, 4], start=1):
            _exited(stack, "worker-x")
            first_pid = stack.procs["worker-x"].pid
            sup.check(now)  # the exit is seen: a restart is due after the backoff
            assert sup.due["worker-x"] == pytest.approx(now + delay)
            assert "exited with code 3; restarting it in" in said[-1] and "boom" in said[-1]
            sup.check(now + delay - 0.01)
            assert stack.procs["worker-x"].pid == first_pid  # not yet
            sup.check(now + delay)
            assert stack.procs["worker-x"].pid != first_pid and sup.restarts["worker-x"] == attempt
            now += delay + 1
        _exited(stack, "worker-x")
        with pytest.raises(CrashLoop) as err:
            sup.check(now)
        assert "worker-x exited with code 3, its 4th exit in 100 s" in str(err.value)
        assert "boom" in str(err.value)  # the end of its log says why
    finally:
        stack.stop(grace=2)


def test_exits_far_apart_are_not_a_crash_loop(tmp_path: Path) -> None:
    stack = _stack_with(tmp_path, "api", "raise SystemExit(1)")
    sup = Supervisor(stack, say=lambda _: None, max_restarts=1, window_s=10, backoff_s=1)
    try:
        now = 0.0
        for _ in range(4):  # one exit per window: restarted every time, backoff back at 1 s
            _exited(stack, "api")
            sup.check(now)
            assert sup.due["api"] == now + 1
            sup.check(now + 1)
            now += 20
        assert sup.restarts["api"] == 4
    finally:
        stack.stop(grace=2)


def test_a_killed_child_is_restarted_and_said_so(tmp_path: Path) -> None:
    said: list[str] = []
    stack = _stack_with(tmp_path, "worker-dojo", "import time; time.sleep(60)")
    sup = Supervisor(stack, say=said.append, backoff_s=0)
    try:
        first = stack.procs["worker-dojo"]
        first.kill()
        first.wait(timeout=10)
        sup.check()
        sup.check()
        assert "worker-dojo was killed by SIGKILL; restarting it in 0 s" in said[0]
        assert said[1].startswith("devstack: worker-dojo restarted (pid ")
        assert stack.procs["worker-dojo"].poll() is None
    finally:
        stack.stop(grace=2)


def test_logs_go_to_files_and_only_what_matters_reaches_the_terminal(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "print(' -------------- celery@host v5 (banner)')\n"
        "print('[2025-01-01 00:00:00,000: INFO/MainProcess] Connected to redis://')\n"
        "print('[2025-01-01 00:00:01,000: WARNING/MainProcess] the broker is slow')\n"
        "print('Traceback (most recent call last):')\n"
        "print('  File \"x.py\", line 1, in <module>')\n"
        "print('ValueError: bad thing')\n"
        "print('after the traceback, quiet again')\n"
        "print('Error: That port is already in use.', file=sys.stderr)\n"
    )
    stack = _stack_with(tmp_path, "web", script)
    _exited(stack, "web")
    out = io.StringIO()
    LogEcho(stack, out).poll()
    assert (tmp_path / "log" / "web.log").read_text().count("\n") == 8  # all of it, on file
    assert out.getvalue().splitlines() == [
        "[web] [2025-01-01 00:00:01,000: WARNING/MainProcess] the broker is slow",
        "[web] Traceback (most recent call last):",
        '[web]   File "x.py", line 1, in <module>',
        "[web] ValueError: bad thing",
        "[web] Error: That port is already in use.",
    ]
    later = io.StringIO()
    echo = LogEcho(stack, later)
    echo.skip_to_end()  # the next run: the files hold the last run's lines
    echo.poll()
    assert later.getvalue() == ""
    with (tmp_path / "log" / "web.log").open("a") as log:
        log.write("[2025-01-01 00:00:02,000: ERROR/MainProcess] new trouble\n")
    echo.poll()
    assert later.getvalue() == "[web] [2025-01-01 00:00:02,000: ERROR/MainProcess] new trouble\n"


def test_the_banner_comes_with_the_lines_to_paste(tmp_path: Path) -> None:
    demo = tmp_path / "demo.env"
    demo.write_text("export DOJO_SERVER=127.0.0.1:1\nexport DOJO_API_KEY=dojo_abc_def\n")
    assert env_file_value(demo, "DOJO_API_KEY") == "dojo_abc_def"
    stack = Stack(state_dir=tmp_path, log_dir=tmp_path / "log")
    env = {
        "DOJO_DEMO_ENV_FILE": str(demo),
        "DATABASE_URL": "sqlite:///x",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "DOJO_DEMO_PASSWORD": "pw",
    }
    text = devstack._banner(stack, env)
    lines = text.splitlines()
    assert lines[1] == "Dojo Cloud is up."
    assert "/console/" in text and "/admin/" in text
    assert "login demo / pw" in text and "login admin / pw" in text
    assert "dojo_abc_def" in text and f"{tmp_path}/log/*.log" in text
    assert "  source .venv/bin/activate" in lines
    assert f"  source {demo}" in lines
    assert "  dojo jobs submit examples/digits-mlp.yaml --wait" in lines
    # The README's quick start says the same lines.
    readme = (REPO / "README.md").read_text()
    for line in ("source .venv/bin/activate", "source .dojo/demo.env"):
        assert line in readme
