"""Why the rules refuse a command, in words an agent understands, with the HTTP meaning attached."""

from __future__ import annotations


class Rejected(Exception):
    """A command the rules refuse. `status` is how the HTTP layer answers it."""

    status = 409

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotFound(Rejected):
    status = 404


class Invalid(Rejected):
    status = 422
