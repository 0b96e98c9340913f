"""The API over one session home (a hand-built release, tokens, no keys), reached two ways.

``client`` is the in-process client (most tests); ``server`` and ``server_client`` are a real
uvicorn server on the same home, for what only a real server shows (tests/support/server.py says
which to use when).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.api_release import Tokens, make_home
from tests.support.server import Server, in_process_client, start_server


@pytest.fixture(scope="session")
def api_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Tokens]:
    home = tmp_path_factory.mktemp("kluis-home")
    return home, make_home(home)


@pytest.fixture(scope="session")
def tokens(api_home: tuple[Path, Tokens]) -> Tokens:
    return api_home[1]


@pytest.fixture(scope="session")
def db(api_home: tuple[Path, Tokens]) -> Path:
    """The session home's release store (tokens, requests, releases)."""
    return api_home[0] / "releases" / "releases.sqlite"


@pytest.fixture(scope="session")
def client(api_home: tuple[Path, Tokens]) -> Iterator[httpx.Client]:
    """The app in this process over the session home."""
    with in_process_client(api_home[0]) as c:
        yield c


@pytest.fixture(scope="session")
def server(
    api_home: tuple[Path, Tokens], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A real uvicorn server over the session home."""
    srv = start_server(api_home[0], tmp_path_factory.mktemp("api-log") / "server.log")
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def server_client(server: Server) -> Iterator[httpx.Client]:
    """An HTTP client of the real server."""
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


@pytest.fixture(scope="session")
def as_(tokens: Tokens) -> Callable[[str], dict[str, str]]:
    """``as_("heerlen")`` -> the Authorization header of that token."""

    def headers(name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[name]}"}

    return headers
