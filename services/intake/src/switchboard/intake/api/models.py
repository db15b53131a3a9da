"""The shapes intake's HTTP API accepts; every field says what it is, and bad input is refused by name.

Each body hands its use case a frozen input (`commands.inputs`, or the domain's changes for customers and
accounts) through `as_input()`: the input's fields are taken from the body's fields of the same name, so a
route reads "parse, call one use case, answer" and no field list is written out a second time.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator
from switchboard.events.common import Channel, LanguageTag, Priority, TicketStatus
from switchboard.events.interactions import CallDirection, InteractionKind

from ..commands.inputs import NewInteraction, NewTicket, TicketChanges
from ..domain.customer import AccountChanges, CustomerChanges

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

FieldValue = str | int | float | bool | None
Tag = Annotated[str, Field(min_length=1, max_length=64)]
Input = TypeVar("Input", bound="DataclassInstance")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    def to_input(self, kind: type[Input], **given: Any) -> Input:
        """This body as the frozen input `kind`: each of its fields from `given`, else from this body's field of
        the same name (a list as a tuple, as the frozen input keeps it)."""
        values = {f.name: given[f.name] if f.name in given else getattr(self, f.name) for f in dataclasses.fields(kind)}
        return kind(**{name: tuple(v) if isinstance(v, list) else v for name, v in values.items()})


class CustomerRef(Strict):
    """Who the customer is: an id, or any of e-mail, phone, handle (matched to a known customer)."""

    id: str | None = Field(default=None, max_length=64, description="A known customer's id.")
    email: EmailStr | None = Field(default=None, description="E-mail address (matched case-insensitively).")
    phone: str | None = Field(default=None, max_length=40, description="Phone number, any format (matched in E.164).")
    handle: str | None = Field(default=None, max_length=140, description="Social handle 'network:handle'.")
    name: str | None = Field(default=None, max_length=256, description="Display name, used when creating.")
    language: LanguageTag | None = Field(default=None, description="Preferred language, used when creating.")

    @model_validator(mode="after")
    def _identified(self) -> CustomerRef:
        if not (self.id or self.email or self.phone or self.handle):
            raise ValueError("give the customer's id, email, phone or handle")
        return self


class Attachment(Strict):
    filename: str = Field(max_length=255, description="File name.")
    content_type: str = Field(max_length=255, description="MIME type.")
    size_bytes: int = Field(ge=0, description="Size in bytes.")
    url: str | None = Field(default=None, max_length=2000, description="Where the gateway stored it.")


class OpenTicketIn(Strict):
    """A new ticket; the description becomes its first customer message."""

    subject: str = Field(min_length=1, max_length=998, description="Subject line.")
    description: str = Field(min_length=1, description="The customer's first message, kept byte-exact.")
    channel: Channel = Field(default=Channel.API, description="Channel it came through.")
    priority: Priority = Field(default=Priority.NORMAL, description="Initial priority.")
    category: str | None = Field(default=None, max_length=128, description="Category.")
    tags: list[Tag] = Field(default_factory=list, max_length=50, description="Tags.")
    custom_fields: dict[str, FieldValue] = Field(default_factory=dict, description="Custom fields.")
    language: LanguageTag | None = Field(default=None, description="Declared language; detected when absent.")
    customer: CustomerRef

    def as_input(self) -> NewTicket:
        return self.to_input(NewTicket)


class InteractionIn(Strict):
    """Something said or done on a ticket."""

    kind: InteractionKind = Field(description="customer_message, agent_reply, internal_note, phone_call, ...")
    body_text: str = Field(default="", description="Plain-text body, kept byte-exact.")
    body_html: str | None = Field(default=None, description="HTML body, if any.")
    channel: Channel | None = Field(default=None, description="Channel; defaults to the ticket's.")
    author_type: Literal["customer", "agent", "system"] | None = Field(
        default=None, description="Defaults to 'customer' for customer messages, else 'agent'."
    )
    author_id: str | None = Field(default=None, max_length=64, description="Customer or agent id.")
    language: LanguageTag | None = Field(default=None, description="Declared language; detected when absent.")
    public: bool | None = Field(default=None, description="Visible to the customer (notes never are).")
    call_direction: CallDirection | None = Field(default=None, description="For phone calls.")
    call_duration_seconds: int | None = Field(default=None, ge=0, le=86_400, description="For phone calls.")
    attachments: list[Attachment] = Field(default_factory=list, max_length=100, description="Attachment metadata.")

    def as_input(self) -> NewInteraction:
        return self.to_input(NewInteraction)


class TicketChangesIn(Strict):
    """Fields to change; absent fields stay as they are, a custom field set to null is removed."""

    priority: Priority | None = Field(default=None, description="low, normal, high, urgent.")
    category: str | None = Field(default=None, max_length=128, description="Category.")
    tags: list[Tag] | None = Field(default=None, max_length=50, description="The full new tag set.")
    custom_fields: dict[str, FieldValue] | None = Field(default=None, description="Custom fields to set or remove.")

    def as_input(self) -> TicketChanges:
        return self.to_input(TicketChanges)


class StatusIn(Strict):
    status: TicketStatus = Field(description="new, open, pending, on_hold, solved, closed.")
    reason: str | None = Field(default=None, max_length=500, description="Why, in a few words.")


class MergeIn(Strict):
    into: str = Field(min_length=1, max_length=64, description="Id of the ticket that survives.")


class CustomerIn(Strict):
    """A customer's record; on update, absent fields stay as they are."""

    name: str | None = Field(default=None, max_length=256, description="Display name.")
    emails: list[EmailStr] | None = Field(default=None, max_length=20, description="E-mail addresses.")
    phones: list[str] | None = Field(default=None, max_length=20, description="Phone numbers, any format.")
    social_handles: list[str] | None = Field(default=None, max_length=20, description="'network:handle' values.")
    language: LanguageTag | None = Field(default=None, description="Preferred language.")
    time_zone: str | None = Field(default=None, max_length=64, description="IANA time zone, e.g. 'Europe/Kyiv'.")
    account_id: str | None = Field(default=None, max_length=64, description="Account (organisation) id.")

    def as_input(self) -> CustomerChanges:
        return self.to_input(CustomerChanges)


class AccountIn(Strict):
    """An account (organisation); on update, absent fields stay as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=256, description="Organisation name.")
    tier: str | None = Field(default=None, max_length=64, description="Tier or plan, e.g. 'enterprise'.")
    key_account: bool | None = Field(default=None, description="Key accounts get escalated handling.")
    domains: list[str] | None = Field(default=None, max_length=50, description="E-mail domains of the account.")

    def as_input(self) -> AccountChanges:
        return self.to_input(AccountChanges)
