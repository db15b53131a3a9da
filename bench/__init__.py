"""The benchmarks (run.py: intake, routing.py, sla.py) and the modules they share; constants all of them use."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PARTITIONS = 12  # per topic, the benches' services and their raw baselines alike
