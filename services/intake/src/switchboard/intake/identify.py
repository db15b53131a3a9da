"""Turning what a request says about a customer into a known customer, and text into a language."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from switchboard.events.interactions import AttachmentRef

from .domain import customer as customers
from .domain.errors import NotFound
from .handlers import Intake, Request
from .language import detect


class CustomerHints(Protocol):
    @property
    def id(self) -> str | None: ...
    @property
    def email(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def handle(self) -> str | None: ...
    @property
    def name(self) -> str | None: ...
    @property
    def language(self) -> str | None: ...


class AttachmentLike(Protocol):
    @property
    def filename(self) -> str: ...
    @property
    def content_type(self) -> str: ...
    @property
    def size_bytes(self) -> int: ...
    @property
    def url(self) -> str | None: ...


class Identify:
    """Customer matching and language detection, configured once."""

    def __init__(self, intake: Intake, *, phone_region: str | None, languages: tuple[str, ...]) -> None:
        self._intake = intake
        self._region = phone_region
        self._languages = languages

    def identities(self, *, email: str | None = None, phone: str | None = None, handle: str | None = None) -> list[str]:
        """Normalised identity keys, most specific first (raises Invalid on a malformed one)."""
        keys = []
        if email:
            keys.append(f"email:{customers.normalise_email(email)}")
        if phone:
            keys.append(f"phone:{customers.normalise_phone(phone, default_region=self._region)}")
        if handle:
            keys.append(f"handle:{customers.normalise_handle(handle)}")
        return keys

    async def customer(self, hints: CustomerHints, request: Request) -> customers.Customer:
        """The customer these hints name: by id, else matched by identity, else created."""
        if hints.id:
            found = await self._intake.customer(hints.id)
            if not found.exists:
                raise NotFound(f"no customer {hints.id}")
            return found
        email = str(hints.email) if hints.email else None
        keys = self.identities(email=email, phone=hints.phone, handle=hints.handle)
        changes = customers.CustomerChanges(
            name=hints.name,
            emails=tuple(k.removeprefix("email:") for k in keys if k.startswith("email:")),
            phones=tuple(k.removeprefix("phone:") for k in keys if k.startswith("phone:")),
            social_handles=tuple(k.removeprefix("handle:") for k in keys if k.startswith("handle:")),
            language=hints.language,
        )
        return await self._intake.resolve_customer(keys, changes, request)

    def language(self, text: str) -> str | None:
        return detect(text, languages=self._languages)

    @staticmethod
    def attachments(items: Iterable[AttachmentLike]) -> list[AttachmentRef]:
        return [
            AttachmentRef(filename=a.filename, content_type=a.content_type, size_bytes=a.size_bytes, url=a.url)
            for a in items
        ]
