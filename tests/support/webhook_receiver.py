"""A real HTTP receiver for webhook tests: `http.server` on a free loopback port, in a
thread. It answers each POST with the next status of `answers` (the last one repeats),
keeps every request, and verifies each signature with the SDK's `dojo.webhooks.verify`
against the secret it is told, as a customer's receiver would."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from dojo.webhooks import SignatureError, verify


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival
    verified: bool  # the signature held for the secret the receiver knew
    why: str  # the SignatureError, when it did not


@dataclass
class Receiver:
    answers: Sequence[int] = (200,)
    secret: str = ""
    received: list[Received] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        verified, why = True, ""
        try:
            verify(body, headers.get("Dojo-Signature", ""), self.secret)
        except SignatureError as exc:
            verified, why = False, str(exc)
        with self.lock:
            n = len(self.received)
            self.received.append(Received(path, headers, body, time.monotonic(), verified, why))
        status = self.answers[min(n, len(self.answers) - 1)]
        return status, f"answer {n + 1}: {status}".encode()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.05)
        raise AssertionError(f"{len(self.received)} of {count} deliveries arrived")


@contextmanager
def receiving(answers: Sequence[int] = (200,)) -> Iterator[Receiver]:
    receiver = Receiver(answers=answers)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, reply = receiver.handle(self.path, dict(self.headers.items()), body)
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/dojo"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
