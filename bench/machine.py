"""The machine a bench runs on: CPU used per process and thread between two moments, read from /proc (psutil is
not in the project's venv), and the facts each run records about the machine and the checkout."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bench import ROOT
from bench.figures import Json

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_cpu(stat: str) -> float:
    """User + system CPU seconds from the text of a /proc stat file."""
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process (all its threads) so far, in seconds."""
    try:
        return _stat_cpu(Path(f"/proc/{pid}/stat").read_text())
    except (OSError, IndexError):
        return None


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU seconds so far of each thread of a process."""
    found: dict[int, float] = {}
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError, IndexError):
                found[int(task.name)] = _stat_cpu((task / "stat").read_text())
    return found


def all_process_cpu() -> dict[int, tuple[str, float]]:
    """Every process's (command name, CPU seconds so far)."""
    found: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                text = (entry / "stat").read_text()
                found[int(entry.name)] = (text[text.index("(") + 1 : text.rindex(")")], _stat_cpu(text))
    return found


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, summed over cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


class CpuWatch:
    """CPU used by named processes between start() and stop(), in seconds and in cores (1.0 = one core busy),
    what the rest of the machine did (its busiest other processes by name), and, with `threads_of`, the
    busiest thread of that process (an event loop: one thread cannot use more than one core)."""

    def __init__(self, pids: dict[str, int], *, threads_of: str | None = None) -> None:
        self._pids = pids
        self._threads_of = threads_of
        self._start: dict[str, float] = {}
        self._threads: dict[int, float] = {}
        self._everyone: dict[int, tuple[str, float]] = {}
        self._t0 = 0.0
        self._machine0 = (0.0, 0.0)

    def start(self) -> None:
        self._everyone = all_process_cpu()
        if self._threads_of in self._pids:
            self._threads = thread_cpu_seconds(self._pids[self._threads_of])
        self._t0 = time.monotonic()
        self._machine0 = machine_cpu_seconds()
        self._start = {name: cpu for name, pid in self._pids.items() if (cpu := process_cpu_seconds(pid)) is not None}

    def stop(self) -> Json:
        wall = max(1e-9, time.monotonic() - self._t0)
        busy1, total1 = machine_cpu_seconds()
        busy = busy1 - self._machine0[0]
        seconds = {}
        for name, pid in self._pids.items():
            end = process_cpu_seconds(pid)
            if end is not None and name in self._start:
                seconds[name] = end - self._start[name]
        machine_busy = busy / wall
        cores = {name: round(used / wall, 3) for name, used in seconds.items()}
        split: Json = {
            "window_s": round(wall, 2),
            "cores": os.cpu_count(),
            "machine_busy_cores": round(machine_busy, 3),
            "machine_idle_cores": round((total1 - self._machine0[1] - busy) / wall, 3),
            "cpu_seconds_by_process": {name: round(used, 3) for name, used in seconds.items()},
            "busy_cores_by_process": cores,
            "busy_cores_other_processes": round(max(0.0, machine_busy - sum(cores.values())), 3),
        }
        if self._threads_of in self._pids:
            after = thread_cpu_seconds(self._pids[self._threads_of])
            used = sorted(((after[t] - self._threads.get(t, 0.0)) / wall for t in after), reverse=True)
            split[f"{self._threads_of}_busiest_thread_cores"] = round(used[0], 3) if used else None
            split[f"{self._threads_of}_threads"] = len(after)
        ours = set(self._pids.values())
        others = Counter(
            {  # a process started meanwhile counts with all its CPU
                f"{name}[{pid}]": (cpu - self._everyone.get(pid, (name, 0.0))[1]) / wall
                for pid, (name, cpu) in all_process_cpu().items()
                if pid not in ours
            }
        )
        split["top_other_processes"] = {k: round(v, 3) for k, v in others.most_common(4) if v >= 0.01}
        return split


def machine_facts() -> Json:
    """When, on what machine and at which commit a run was taken."""

    def git(*args: str) -> str | None:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").is_file() else []
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), platform.processor())
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain")),
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
