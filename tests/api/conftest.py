"""A real uvicorn server (subprocess, loopback, free port) over a KLUIS_HOME without keys."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from apitest_support import Server, Tokens, make_home, start_server


@pytest.fixture(scope="session")
def api_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Tokens]:
    home = tmp_path_factory.mktemp("kluis-home")
    return home, make_home(home)


@pytest.fixture(scope="session")
def server(
    api_home: tuple[object, Tokens], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    home, _ = api_home
    log_path = tmp_path_factory.mktemp("api-log") / "server.log"
    srv = start_server(home, log_path)  # type: ignore[arg-type]
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def tokens(api_home: tuple[object, Tokens]) -> Tokens:
    return api_home[1]


@pytest.fixture(scope="session")
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


@pytest.fixture(scope="session")
def as_(tokens: Tokens):
    """``as_("heerlen")`` -> the Authorization header of that token."""

    def headers(name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[name]}"}

    return headers
