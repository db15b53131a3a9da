"""`python -m switchboard.reporting` starts the reporting service."""

from switchboard.runtime.service import serve

from .app import SERVICE, create_app
from .settings import ReportingSettings


def main() -> None:
    settings = ReportingSettings()
    serve(create_app(settings), settings, service=SERVICE)


if __name__ == "__main__":
    main()
