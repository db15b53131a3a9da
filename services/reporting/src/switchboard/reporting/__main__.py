"""`python -m switchboard.reporting` starts the service; `... rebuild` and `... reconcile` fold the log afresh.

`rebuild` writes a new projection version and switches readers to it; `reconcile` diffs a fresh fold with
the live projections and exits 1 when they differ. Both print a JSON report.
"""

import asyncio
import json
import sys

from switchboard.runtime.service import serve

from .app import SERVICE, create_app
from .settings import ReportingSettings


def main() -> None:
    settings = ReportingSettings()
    command = sys.argv[1] if len(sys.argv) > 1 else "serve"
    if command == "serve":
        serve(create_app(settings), settings, service=SERVICE)
        return
    from switchboard.runtime.logging import configure_logging

    from .maintenance import rebuild, reconcile

    configure_logging(service=f"{SERVICE}-{command}", level=settings.log_level, json=settings.log_json)

    if command == "rebuild":
        print(json.dumps(asyncio.run(rebuild(settings)), indent=2))
    elif command == "reconcile":
        report = asyncio.run(reconcile(settings))
        print(json.dumps(report, indent=2))
        sys.exit(1 if report["differences"] else 0)
    else:
        sys.exit(f"usage: python -m switchboard.reporting [serve|rebuild|reconcile]; not {command!r}")


if __name__ == "__main__":
    main()
