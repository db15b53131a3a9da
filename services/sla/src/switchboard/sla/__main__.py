"""`python -m switchboard.sla` starts the SLA service."""

from switchboard.runtime.service import serve

from .app import SERVICE, create_app
from .settings import SlaSettings


def main() -> None:
    settings = SlaSettings()
    serve(create_app(settings), settings, service=SERVICE)


if __name__ == "__main__":
    main()
