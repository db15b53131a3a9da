"""Profiling a service with py-spy: finding it (or installing it into a scratch venv, never the project),
sampling a process while a phase runs, and the share of samples by area of the code."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.figures import Json, log

SCRATCH_VENV = Path(tempfile.gettempdir()) / "switchboard-bench-py-spy"

#: (file as py-spy names it from its import root, e.g. 'pymongo/pool.py'; function without class or closure)
Matcher = Callable[[str, str], bool]


def find_py_spy(install: bool, venvs: Sequence[Path] = (SCRATCH_VENV,)) -> str | None:
    """py-spy from `PY_SPY`, `PATH` or one of the scratch `venvs`; else, if `install`, pip-installed into the
    last of them. None when it cannot be had."""
    candidates = [os.environ.get("PY_SPY"), shutil.which("py-spy"), *(str(v / "bin" / "py-spy") for v in venvs)]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    if not install:
        return None
    venv = venvs[-1]
    log(f"installing py-spy into a scratch venv {venv} (not the project) ...")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120, capture_output=True)
        subprocess.run([*pip, "py-spy"], check=True, timeout=300, capture_output=True)
    except (OSError, subprocess.SubprocessError) as exc:
        log(f"  py-spy unavailable ({exc}); skipping the profile")
        return None
    binary = venv / "bin" / "py-spy"
    return str(binary) if binary.is_file() else None


@dataclass(frozen=True)
class Areas:
    """How a service's samples are told apart: by the area of their innermost frame (first match wins, else
    `other`), and by the calls they are anywhere below (`inclusive`)."""

    innermost: list[tuple[str, Matcher]]
    inclusive: list[tuple[str, Matcher]]
    other: str


FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def parse_frame(frame: str) -> tuple[str, str]:
    """'Class.method (pkg/file.py:12)' -> ('pkg/file.py', 'method')."""
    match = FRAME.match(frame.strip())
    if not match:
        return "", frame
    return match["file"], match["func"].rsplit(".", 1)[-1]


def summarise_profile(raw: str, areas: Areas, *, seconds: float, hz: int) -> Json:
    """Collapsed stacks (py-spy --format raw) -> share of samples by innermost area and by enclosing call."""
    innermost: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [parse_frame(f) for f in stack.split(";")]
        total += count
        leaf_file, leaf_func = frames[-1]
        leaves[f"{leaf_func} ({leaf_file})"] += count
        for area, matches in areas.innermost:
            if matches(leaf_file, leaf_func):
                innermost[area] += count
                break
        else:
            innermost[areas.other] += count
        for area, matches in areas.inclusive:
            if any(matches(f, fn) for f, fn in frames):
                inclusive[area] += count

    def share(counter: Counter[str]) -> dict[str, float]:
        return {k: round(100 * v / total, 1) for k, v in counter.most_common()} if total else {}

    return {
        "samples": total,
        "busy_share_of_one_thread": round(total / (seconds * hz), 3) if seconds else None,
        "self_percent_by_area": share(innermost),
        "inclusive_percent": {a: round(100 * inclusive[a] / total, 1) for a, _ in areas.inclusive} if total else {},
        "top_leaf_functions_percent": dict(list(share(leaves).items())[:15]),
    }


def profile_lines(profile: Json | None, title: str) -> list[str]:
    """A summarised profile as a run prints it: `title` (formatted with the profile's fields), the share of samples
    by innermost area, then below each call; nothing when there are no samples."""
    if not profile or not profile.get("samples"):
        return []
    lines = ["", title.format_map(profile)]
    lines += [f"  {v:5.1f}%  {k}" for k, v in profile["self_percent_by_area"].items()]
    lines.append("time spent below:")
    lines += [f"  {v:5.1f}%  {k}" for k, v in profile["inclusive_percent"].items()]
    return lines


class PySpy:
    """`py-spy record` on one process for `seconds`, into collapsed stacks at `raw_path`."""

    def __init__(
        self, binary: str, pid: int, raw_path: Path, *, seconds: int, hz: int = 100, nonblocking: bool = False
    ) -> None:
        self._command = [binary, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", str(hz)]
        self._command += [*(["--nonblocking"] if nonblocking else []), "--format", "raw", "--output", str(raw_path)]
        self._process: asyncio.subprocess.Process | None = None
        self.raw_path, self.seconds, self.hz = raw_path, seconds, hz

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            *self._command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        await asyncio.sleep(0.5)  # py-spy attaches

    async def finish(self, areas: Areas) -> Json:
        """Wait for the recording (killed after 30 s more) and summarise it by `areas`."""
        assert self._process is not None, "start() first"
        spy = self._process
        try:
            _, err = await asyncio.wait_for(spy.communicate(), 30)
        except TimeoutError:
            spy.kill()
            _, err = await spy.communicate()
        profile: Json = {"raw_file": str(self.raw_path), "seconds": self.seconds, "hz": self.hz}
        if spy.returncode:
            profile["error"] = err.decode(errors="replace")[-500:]
        if self.raw_path.is_file():
            profile |= summarise_profile(self.raw_path.read_text(), areas, seconds=self.seconds, hz=self.hz)
        return profile


def write_speedscope(raw_path: Path, out: Path, name: str) -> None:
    """Collapsed stacks -> a speedscope 'sampled' profile, loadable at https://www.speedscope.app."""
    frames: dict[str, int] = {}
    samples: list[list[int]] = []
    weights: list[int] = []
    for line in raw_path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples.append([frames.setdefault(f, len(frames)) for f in stack.split(";")])
        weights.append(int(count))
    document = {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": {"frames": [{"name": frame} for frame in frames]},
        "profiles": [
            {
                "type": "sampled",
                "name": name,
                "unit": "none",
                "startValue": 0,
                "endValue": sum(weights),
                "samples": samples,
                "weights": weights,
            }
        ],
    }
    out.write_text(json.dumps(document))
