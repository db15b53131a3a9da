"""`python -m switchboard.intake` starts the intake service."""

from switchboard.runtime.service import serve

from .app import SERVICE, create_app
from .settings import IntakeSettings


def main() -> None:
    settings = IntakeSettings()
    serve(create_app(settings), settings, service=SERVICE)


if __name__ == "__main__":
    main()
