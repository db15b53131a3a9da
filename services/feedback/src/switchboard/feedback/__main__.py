"""`python -m switchboard.feedback` starts the feedback service."""

from switchboard.runtime.service import serve

from .app import SERVICE, create_app
from .settings import FeedbackSettings


def main() -> None:
    settings = FeedbackSettings()
    serve(create_app(settings), settings, service=SERVICE)


if __name__ == "__main__":
    main()
