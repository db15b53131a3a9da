"""`python -m switchboard.routing` starts the routing service."""

from switchboard.runtime.service import serve

from .app import SERVICE, create_app
from .settings import RoutingSettings


def main() -> None:
    settings = RoutingSettings()
    serve(create_app(settings), settings, service=SERVICE)


if __name__ == "__main__":
    main()
