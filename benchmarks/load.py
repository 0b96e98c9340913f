"""A bounded open-loop HTTP load generator for the API on loopback (no dependencies).

``KLUIS_BENCH_TOKEN=T python benchmarks/load.py --port P --path /releases/.../cells?...
--rate 200 --duration 30`` sends exactly ``rate * duration`` GET requests, request *i* scheduled at
``start + i / rate`` whatever happened to earlier ones (open loop: a slow server does not slow
the sender down, so queueing shows up in the latency instead of being hidden). Requests go over
a fixed pool of HTTP/1.1 keep-alive connections; when all are busy a request waits for one, and
that wait counts.

Two latencies per request: ``service`` (from writing the request to the last byte of the
answer) and ``scheduled`` (from the moment it was due; this one includes time spent waiting for
a free connection and is the honest figure under overload). Only 127.0.0.1 is allowed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from collections import Counter
from typing import Any

LOOPBACK = "127.0.0.1"


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, int, bool]:
    """(status, body bytes, server wants to close) of one HTTP/1.1 response."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip().lower()
    size = 0
    if "content-length" in headers:
        size = int(headers["content-length"])
        await reader.readexactly(size)
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            chunk = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            await reader.readexactly(chunk + 2)
            size += chunk
            if chunk == 0:
                break
    return status, size, headers.get("connection") == "close"


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, int(round(q / 100 * (len(ordered) - 1)))))
    return ordered[k]


async def run_load(
    port: int,
    path: str,
    token: str,
    rate: float,
    duration: float,
    connections: int,
    host: str = LOOPBACK,
) -> dict[str, Any]:
    if host != LOOPBACK:
        raise SystemExit("this load generator only talks to 127.0.0.1")
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        "Accept: application/json\r\nConnection: keep-alive\r\n\r\n"
    ).encode()
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection(host, port))

    n = int(round(rate * duration))
    service: list[float] = []
    scheduled: list[float] = []
    statuses: Counter[str] = Counter()
    sizes: list[int] = []
    finished: list[float] = []
    reconnects = 0
    start = time.perf_counter() + 0.2

    async def one(i: int) -> None:
        nonlocal reconnects
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        reader, writer = await pool.get()
        sent = time.perf_counter()
        try:
            writer.write(request)
            await writer.drain()
            status, size, close = await _read_response(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError) as e:
            statuses[f"error:{type(e).__name__}"] += 1
            writer.close()
            reconnects += 1
            pool.put_nowait(await asyncio.open_connection(host, port))
            return
        done = time.perf_counter()
        if close:
            writer.close()
            reconnects += 1
            pool.put_nowait(await asyncio.open_connection(host, port))
        else:
            pool.put_nowait((reader, writer))
        statuses[str(status)] += 1
        service.append(done - sent)
        scheduled.append(done - due)
        sizes.append(size)
        finished.append(done)

    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.gather(*(one(i) for i in range(n)))
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    while not pool.empty():
        _, writer = pool.get_nowait()
        writer.close()

    elapsed = (max(finished) - start) if finished else float("nan")
    ms = 1000.0
    return {
        "requests": n,
        "rate_target_per_s": rate,
        "duration_target_s": duration,
        "connections": connections,
        "statuses": dict(statuses),
        "ok": statuses.get("200", 0),
        "throughput_per_s": round(len(finished) / elapsed, 1) if finished else 0.0,
        "elapsed_s": round(elapsed, 2),
        "service_ms": {
            q: round(_percentile(service, p) * ms, 2)
            for q, p in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))
        },
        "scheduled_ms": {
            q: round(_percentile(scheduled, p) * ms, 2)
            for q, p in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))
        },
        "response_bytes_median": sorted(sizes)[len(sizes) // 2] if sizes else 0,
        "reconnects": reconnects,
        "client_cpu_s": round(cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument(
        "--token",
        default=os.environ.get("KLUIS_BENCH_TOKEN", ""),
        help="bearer token (default: $KLUIS_BENCH_TOKEN, so it stays out of the process list)",
    )
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--max-requests", type=int, default=100_000)
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("no token: pass --token or set KLUIS_BENCH_TOKEN")
    if args.rate * args.duration > args.max_requests:
        parser.error("rate x duration is above --max-requests")
    result = asyncio.run(
        run_load(args.port, args.path, args.token, args.rate, args.duration, args.connections)
    )
    json.dump(result, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
