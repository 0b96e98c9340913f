"""The API two ways: in this process (``in_process_client``) or as a real uvicorn server.

Use the **in-process client** for what the app decides: status codes, bodies, the authorisation
matrix, scoping, error shapes. It runs ``create_app`` (the factory uvicorn serves) with its
lifespan over a home in this process, through httpx's ``ASGITransport`` — no port, no start-up
wait, and an exception that escapes the app fails the test with its traceback.

Use the **real server** (``start_server``: uvicorn in a subprocess on a free loopback port) for
what only a real server shows: the HTTP layer and headers as sent on the wire (no ``server``
header, CORS, a streamed body without Content-Length), the process's own log and environment
(the leak test), what a started server process leaves in its home, schemathesis against a live
URL, load, and a browser.

Today: ``tests/api/test_api_authz.py``, ``test_api_scoping.py``, ``test_api_requests.py``,
``test_api_persons.py``, ``test_api_trend.py``, ``test_api_startup.py`` and the app-level tests of
``test_api_hardening.py`` (errors, 405, validation, factsheet pages, export, rate limit) run
in-process; ``test_api_schemathesis.py``, the wire-level tests of ``test_api_hardening.py`` and
``tests/leak/test_leak_api.py`` use the real server. (The lifespan test in ``test_api_startup.py``
drives ``create_app``'s lifespan directly, as uvicorn does.)
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI

from api.app import create_app
from kansenkluis.config import Settings

REPO = Path(__file__).resolve().parents[2]
#: requests per token per minute: high enough that no test but the rate-limit test meets it
NO_RATE_LIMIT = 100_000


class _PortalTransport(httpx.BaseTransport):
    """A synchronous transport that hands each request to the app on the portal's event loop."""

    def __init__(self, portal: BlockingPortal, app: FastAPI) -> None:
        self._portal = portal
        self._asgi = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()  # a body given as an iterator becomes bytes the app can stream

        async def call() -> httpx.Response:
            response = await self._asgi.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(
                response.status_code, headers=response.headers, content=content, request=request
            )

        return self._portal.call(call)


@contextmanager
def in_process_client(home: Path, rate_limit: int = NO_RATE_LIMIT) -> Iterator[httpx.Client]:
    """An HTTP client on ``create_app`` for ``home`` in this process, lifespan started.

    The app runs on an event loop in a helper thread (as uvicorn would run it), so the client is
    an ordinary synchronous ``httpx.Client`` like the one for the real server.
    """
    app = create_app(Settings(home=home, rate_limit_per_minute=rate_limit))
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(app.router.lifespan_context(app)),
        httpx.Client(
            transport=_PortalTransport(portal, app), base_url="http://127.0.0.1", timeout=30
        ) as client,
    ):
        yield client


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    home: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_server(home: Path, log_path: Path, rate_limit: int = NO_RATE_LIMIT) -> Server:
    """uvicorn in a subprocess on a free loopback port, serving ``create_app`` for ``home``."""
    last_error = ""
    for _attempt in range(3):
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("KLUIS_")} | {
            "KLUIS_HOME": str(home),
            "KLUIS_RATE_LIMIT_PER_MINUTE": str(rate_limit),
            "PYTHONUNBUFFERED": "1",
        }
        log_file = log_path.open("ab")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "api.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-server-header",
                "--log-level",
                "info",
            ],
            cwd=REPO,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        log_file.close()
        server = Server(f"http://127.0.0.1:{port}", proc, log_path, home)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(server.url + "/health", timeout=1).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        server.stop()
        last_error = server.log()[-2000:]
    raise RuntimeError(f"the API server did not start:\n{last_error}")
