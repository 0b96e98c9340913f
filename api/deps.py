"""Shared state of the API process and the ``Annotated`` dependency aliases routes use.

The process holds only protected output: releases from the release store, tokens and aggregate
requests. A release never changes once stored, so a small LRU keeps a few recent ones in memory,
each as a ``ReleaseIndex`` (``api.release_index``), which makes a scoped, filtered cell query a
few list look-ups instead of a scan and which the factsheets read too.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from disclosure.store import ReleaseStore
from kansenkluis.config import Settings

from .auth import (
    AUDITOR,
    OPERATOR,
    OUTPUTCHECKER,
    REGIOCOORDINATOR,
    ROLES,
    Caller,
    TokenStore,
    require,
)
from .errors import log
from .release_index import ReleaseIndex

#: how many releases the process keeps indexed in memory
RELEASE_CACHE_SIZE = 3
#: seconds between looks for newly stored releases to load before anyone asks for them
WARM_INTERVAL = 15.0


class RateLimiter:
    """A sliding-window limit per key (token id): at most ``limit`` hits in any ``window``."""

    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> int | None:
        """Count a hit and return None, or refuse it and return the seconds to wait."""
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(1, math.ceil(hits[0] + self.window - now))
            hits.append(now)
            return None


class ReleaseCache:
    """Releases by id, loaded from the store on first use; one store connection per thread."""

    def __init__(self, db_path: Path, size: int = RELEASE_CACHE_SIZE) -> None:
        self.db_path = db_path
        self.size = size
        self._views: OrderedDict[str, ReleaseIndex] = OrderedDict()
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._local = threading.local()

    def store(self) -> ReleaseStore:
        store = getattr(self._local, "store", None)
        if store is None:
            store = ReleaseStore(self.db_path)
            self._local.store = store
        return store

    async def view_async(self, release_id: str) -> ReleaseIndex:
        """The cached view at once; a release not yet loaded is loaded in a worker thread."""
        with self._lock:
            view = self._views.get(release_id)
            if view is not None:
                self._views.move_to_end(release_id)
                return view
        return await run_in_threadpool(self.view, release_id)

    def loaded(self) -> list[str]:
        """Ids of the releases held in memory, least recently used first."""
        with self._lock:
            return list(self._views)

    def warm(self) -> list[str]:
        """Load the newest releases (as many as the cache holds) that are not loaded yet.

        Run when the API starts and then every ``WARM_INTERVAL`` seconds, so that the first
        query on a release never pays for loading and indexing it (seconds on a national one).
        """
        newest = [r["id"] for r in self.store().list()][-self.size :]
        with self._lock:
            missing = [rid for rid in newest if rid not in self._views]
        for release_id in missing:
            self.view(release_id)
        return missing

    def start_warming(self, interval: float | None = None) -> Callable[[], None]:
        """Warm now, then in a background thread every ``interval`` s (default
        ``WARM_INTERVAL``); returns the function that stops it."""
        every = WARM_INTERVAL if interval is None else interval
        stop = threading.Event()

        def warm_once() -> None:
            try:
                self.warm()
            except Exception:  # noqa: BLE001 - a busy or changing store: try again later
                log.warning("could not load the newest releases; trying again later")

        warm_once()

        def loop() -> None:
            while not stop.wait(every):
                warm_once()

        thread = threading.Thread(target=loop, name="release-warmer", daemon=True)
        thread.start()

        def stop_warming() -> None:
            stop.set()
            thread.join(timeout=5)

        return stop_warming

    def view(self, release_id: str) -> ReleaseIndex:
        with self._lock:
            view = self._views.get(release_id)
            if view is not None:
                self._views.move_to_end(release_id)
                return view
        # One loader at a time: a cold national release takes a while, and two threads
        # loading the same one would only double the memory for nothing.
        with self._load_lock:
            with self._lock:
                view = self._views.get(release_id)
            if view is None:
                view = ReleaseIndex(self.store().get(release_id))
            with self._lock:
                self._views[release_id] = view
                self._views.move_to_end(release_id)
                while len(self._views) > self.size:
                    self._views.popitem(last=False)
        return view


@dataclass
class AppContext:
    """Everything the routes share; lives on ``app.state.ctx``."""

    settings: Settings
    db_path: Path = field(init=False)
    tokens: TokenStore = field(init=False)
    limiter: RateLimiter = field(init=False)
    releases: ReleaseCache = field(init=False)

    def __post_init__(self) -> None:
        # Only the release store: the API never opens keys_dir, sealed_dir or signing_dir.
        self.db_path = self.settings.release_db
        self.tokens = TokenStore(self.db_path)
        self.limiter = RateLimiter(self.settings.rate_limit_per_minute)
        self.releases = ReleaseCache(self.db_path)


async def get_ctx(request: Request) -> AppContext:
    # async: a trivial dependency should not cost a hop to the thread pool
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(get_ctx)]

# Who may call what, named once; routes take one of these as their ``caller`` parameter.
AnyRole = Annotated[Caller, Depends(require(*ROLES))]
Coordinator = Annotated[Caller, Depends(require(REGIOCOORDINATOR))]
Checker = Annotated[Caller, Depends(require(OUTPUTCHECKER))]
Auditor = Annotated[Caller, Depends(require(AUDITOR))]
Operator = Annotated[Caller, Depends(require(OPERATOR))]
