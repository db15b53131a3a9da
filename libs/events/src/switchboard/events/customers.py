"""Events on `support.customers`: customers and their accounts (organisations), keyed by their id."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from ._model import EventPayload
from .common import AccountId, CustomerId, LanguageTag


class CustomerUpserted(EventPayload):
    """A customer was created or changed; the event carries the full current record."""

    type: Literal["support.customer.upserted.v1"] = Field(
        default="support.customer.upserted.v1", description="Event type discriminator."
    )
    customer_id: CustomerId = Field(description="Id of the customer.")
    name: str | None = Field(default=None, max_length=256, description="Display name.")
    emails: tuple[str, ...] = Field(default=(), description="E-mail addresses, lower-cased.")
    phones: tuple[str, ...] = Field(default=(), description="Phone numbers in E.164 form, e.g. '+994501234567'.")
    social_handles: tuple[str, ...] = Field(
        default=(), description="Social handles as 'network:handle', lower-cased, without '@', e.g. 'x:acme'."
    )
    language: LanguageTag | None = Field(default=None, description="Preferred language.")
    time_zone: str | None = Field(default=None, description="IANA time zone, e.g. 'Europe/Istanbul'.")
    account_id: AccountId | None = Field(default=None, description="Account (organisation) they belong to.")
    updated_at: datetime = Field(description="When the record changed (UTC).")


class AccountUpserted(EventPayload):
    """An account (organisation) was created or changed; carries the full current record."""

    type: Literal["support.account.upserted.v1"] = Field(
        default="support.account.upserted.v1", description="Event type discriminator."
    )
    account_id: AccountId = Field(description="Id of the account.")
    name: str = Field(min_length=1, max_length=256, description="Organisation name.")
    tier: str | None = Field(default=None, max_length=64, description="Account tier or plan, e.g. 'enterprise'.")
    key_account: bool = Field(default=False, description="True for key accounts that get escalated handling.")
    domains: tuple[str, ...] = Field(default=(), description="E-mail domains that belong to the account.")
    updated_at: datetime = Field(description="When the record changed (UTC).")
