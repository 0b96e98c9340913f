"""Step ``api``: the published-cells route of ``kluis serve`` under a fixed request rate on
loopback (``benchmarks/load.py``, open loop), as a regiocoordinator of one gemeente.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from measure import KLUIS, PYTHON, StepFailed, run_child, spread

from steps.base import BENCHMARKS, Bench, Step, log


def run(b: Bench) -> dict[str, Any]:
    """The published-cells route under a fixed request rate on loopback."""
    released, release_id = b.ensure_released()
    gemeente = "GM0363" if b.scale == "national" else "GM0917"
    token = (
        b.kluis(
            "token",
            "create",
            "--role",
            "regiocoordinator",
            "--gemeente",
            gemeente,
            "--name",
            "bench",
            "--person",
            "bench-coordinator",
            home=released,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    path = f"/releases/{release_id}/cells?indicator=heroverweging&gemeente={gemeente}&limit=1000"
    port = _free_port()
    env = {
        **os.environ,
        "KLUIS_HOME": str(released),
        "KLUIS_RATE_LIMIT_PER_MINUTE": "1000000",
    }
    server = subprocess.Popen(
        [KLUIS, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rate, duration = (50.0, 5.0) if b.quick else (200.0, 30.0)
    try:
        _wait_for_port(port, server)
        load_env = {"KLUIS_BENCH_TOKEN": token}
        base = [PYTHON, str(BENCHMARKS / "load.py"), "--port", str(port), "--path", path]
        log("API warm-up")
        run_child([*base, "--rate", "50", "--duration", "3"], env=load_env)
        cpu0 = _proc_cpu_s(server.pid)
        runs = []
        for i in range(1 if b.quick else 3):
            log(f"API load {rate:.0f} req/s for {duration:.0f} s, run {i + 1}")
            sample = run_child(
                [*base, "--rate", str(rate), "--duration", str(duration)], env=load_env
            )
            runs.append({**json.loads(sample.stdout), "load_avg": sample.load_after})
        server_cpu = _proc_cpu_s(server.pid) - cpu0
        server_rss = _proc_hwm_mb(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    return {
        "command": "kluis serve (uvicorn, one process) + benchmarks/load.py (open loop, "
        "16 keep-alive connections, 127.0.0.1)",
        "query": "GET /releases/{id}/cells?indicator=heroverweging&gemeente="
        f"{gemeente}&limit=1000 as a regiocoordinator of {gemeente}",
        "runs": runs,
        "p50_ms": spread([r["service_ms"]["p50"] for r in runs]),
        "p99_ms": spread([r["service_ms"]["p99"] for r in runs]),
        "p99_scheduled_ms": spread([r["scheduled_ms"]["p99"] for r in runs]),
        "throughput_per_s": spread([r["throughput_per_s"] for r in runs]),
        "server_cpu_s_per_request": round(server_cpu / max(sum(r["requests"] for r in runs), 1), 5),
        "server_peak_rss_mb": server_rss,
        "goal": {"p99_ms": 25, "rate_per_s": 200},
    }


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, server: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise StepFailed(f"kluis serve exited with {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise StepFailed("kluis serve did not start listening")


def _proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def _proc_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


STEP = Step(
    name="api",
    measures="p50/p99 latency and throughput of GET /releases/{id}/cells at a fixed rate",
    baseline="the goal (p99 25 ms at 200 requests/s)",
    run=run,
)
