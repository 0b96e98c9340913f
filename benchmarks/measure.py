"""Run one benchmark step in a child process and measure it from the outside.

Every step runs in its own process so that its peak memory is its own: ``os.wait4`` returns the
child's ``rusage`` (peak RSS, user and system CPU time) for exactly that child, which is what
``/usr/bin/time -v`` reports too. Wall time is measured by the parent around the whole child,
Python start-up and imports included, so a figure is what an operator would see from a shell.
A child may also report its own inner timings (e.g. "compute only, tables already loaded") as
JSON; those come back in ``Sample.inner``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PYTHON = sys.executable
KLUIS = str(Path(PYTHON).with_name("kluis"))


class StepFailed(RuntimeError):
    """A child exited non-zero; the message holds its exit code and the tail of its stderr."""


@dataclass
class Sample:
    """One run of one step."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    load_before: float
    load_after: float
    inner: dict[str, Any] = field(default_factory=dict)
    stdout: str = ""


def run_child(
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    timeout_s: float = 3600.0,
    cwd: Path = REPO,
) -> Sample:
    """Run ``argv`` to completion and measure it. A child that writes JSON to the file named in
    ``$BENCH_INNER`` gets it back in ``Sample.inner``."""
    with tempfile.NamedTemporaryFile("w+", suffix=".json", delete=False) as fh:
        inner_path = Path(fh.name)
    full_env = {**os.environ, **(env or {}), "BENCH_INNER": str(inner_path)}
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(argv), env=full_env, cwd=cwd, stdout=out, stderr=err)
        deadline = started + timeout_s
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                timed_out = True
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    inner: dict[str, Any] = {}
    try:
        text = inner_path.read_text()
        if text.strip():
            inner = json.loads(text)
    finally:
        inner_path.unlink(missing_ok=True)
    if timed_out:
        raise StepFailed(
            f"{' '.join(argv[:4])} ... did not finish within {timeout_s:.0f} s (killed; peak RSS "
            f"{usage.ru_maxrss / 1024:.0f} MB, CPU {usage.ru_utime + usage.ru_stime:.0f} s)"
        )
    if proc.returncode != 0:
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        raise StepFailed(f"{' '.join(argv[:4])} ... exited {proc.returncode}:\n{tail}")
    return Sample(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,  # ru_maxrss is in KiB on Linux
        load_before=load_before,
        load_after=os.getloadavg()[0],
        inner=inner,
        stdout=stdout,
    )


def child_argv(name: str, *args: str) -> list[str]:
    """argv of ``benchmarks/child.py NAME ARGS`` in this interpreter."""
    return [PYTHON, str(HERE / "child.py"), name, *args]


def spread(values: Sequence[float]) -> dict[str, float | int]:
    """Median with min and max (and n), rounded for the report."""
    vals = [float(v) for v in values]
    return {
        "median": round(statistics.median(vals), 3),
        "min": round(min(vals), 3),
        "max": round(max(vals), 3),
        "n": len(vals),
    }


def summarise(samples: Sequence[Sample], inner_keys: Sequence[str] = ()) -> dict[str, Any]:
    """wall, cpu, peak RSS (and chosen inner timings) over repeated samples."""
    out: dict[str, Any] = {
        "wall_s": spread([s.wall_s for s in samples]),
        "cpu_s": spread([s.cpu_s for s in samples]),
        "peak_rss_mb": spread([s.peak_rss_mb for s in samples]),
        "load_avg_1min": spread([s.load_before for s in samples] + [s.load_after for s in samples]),
    }
    for key in inner_keys:
        values = [s.inner[key] for s in samples if key in s.inner]
        if values:
            out[key] = spread(values)
    return out


def write_inner(values: Mapping[str, Any]) -> None:
    """Called in a child: hand inner figures back to the parent (see ``run_child``)."""
    target = os.environ.get("BENCH_INNER")
    if target:
        Path(target).write_text(json.dumps(values, default=str))


def peak_rss_self_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model, Python and the versions of the libraries that do the work."""
    from importlib.metadata import PackageNotFoundError, version

    mem_kb = 0
    cpu_model = platform.processor()
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, str] = {}
    for pkg in (
        "kansenkluis",
        "duckdb",
        "pyarrow",
        "pandas",
        "numpy",
        "scipy",
        "highspy",
        "opendp",
        "fastapi",
        "uvicorn",
        "cryptography",
        "matplotlib",
    ):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = "absent"
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 2**20, 1),
        "cpu_model": cpu_model,
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
    }


def git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        return head + ("+uncommitted" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
