"""Customers and accounts: how identities are normalised so a known customer is recognised on any channel, what
a change emits, and how their events fold into their current record."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import reduce

import phonenumbers
from switchboard.events import EventPayload
from switchboard.events.customers import AccountUpserted, CustomerUpserted

from .errors import Invalid

_HANDLE = re.compile(r"^(?P<network>[a-z0-9_.-]{1,32}):@?(?P<handle>[^\s@:]{1,100})$")


def normalise_email(raw: str) -> str:
    """E-mail addresses match case-insensitively (as every helpdesk treats them), surrounding space ignored."""
    email = raw.strip().lower()
    if email.count("@") != 1 or not all(email.split("@")):
        raise Invalid(f"{raw!r} is not an e-mail address")
    return email


def normalise_phone(raw: str, *, default_region: str | None) -> str:
    """Phone numbers match in E.164 form, whatever spacing, dashes or national format they came in."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        hint = "" if default_region else " (numbers without a +country code need INTAKE_DEFAULT_PHONE_REGION)"
        raise Invalid(f"{raw!r} is not a phone number{hint}: {exc}") from None
    if not phonenumbers.is_possible_number(number):
        raise Invalid(f"{raw!r} is not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_handle(raw: str) -> str:
    """Social handles are 'network:handle', case-insensitive, with or without the '@'."""
    match = _HANDLE.match(raw.strip().lower())
    if match is None:
        raise Invalid(f"{raw!r} is not a social handle; write it as 'network:handle', e.g. 'x:@acme'")
    return f"{match['network']}:{match['handle']}"


@dataclass(frozen=True)
class Customer:
    """A customer's current record; `version` counts its changes."""

    customer_id: str
    version: int = 0
    name: str | None = None
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    social_handles: tuple[str, ...] = ()
    language: str | None = None
    time_zone: str | None = None
    account_id: str | None = None

    @property
    def exists(self) -> bool:
        return self.version > 0

    def identities(self) -> frozenset[str]:
        """The keys this customer is found by: 'email:…', 'phone:+…', 'handle:network:…'."""
        return identity_keys(self.emails, self.phones, self.social_handles)


def identity_keys(emails: Iterable[str], phones: Iterable[str], handles: Iterable[str]) -> frozenset[str]:
    return frozenset([f"email:{e}" for e in emails] + [f"phone:{p}" for p in phones] + [f"handle:{h}" for h in handles])


@dataclass(frozen=True)
class CustomerChanges:
    """What a create or update sets; None leaves a field as it is. The rules take the values as normalised: the
    use case normalises what a caller sent (`commands.customers`)."""

    name: str | None = None
    emails: tuple[str, ...] | None = None
    phones: tuple[str, ...] | None = None
    social_handles: tuple[str, ...] | None = None
    language: str | None = None
    time_zone: str | None = None
    account_id: str | None = None


def decide_customer(customer: Customer, changes: CustomerChanges, *, now: datetime) -> list[CustomerUpserted]:
    """A create or update; an update that changes nothing emits nothing."""
    after = replace(
        customer,
        name=changes.name if changes.name is not None else customer.name,
        emails=_unique(changes.emails) if changes.emails is not None else customer.emails,
        phones=_unique(changes.phones) if changes.phones is not None else customer.phones,
        social_handles=_unique(changes.social_handles)
        if changes.social_handles is not None
        else customer.social_handles,
        language=changes.language if changes.language is not None else customer.language,
        time_zone=changes.time_zone if changes.time_zone is not None else customer.time_zone,
        account_id=changes.account_id if changes.account_id is not None else customer.account_id,
    )
    if customer.exists and after == customer:
        return []
    if not after.identities():
        raise Invalid("a customer needs at least one e-mail address, phone number or social handle")
    return [
        CustomerUpserted(
            customer_id=after.customer_id,
            name=after.name,
            emails=after.emails,
            phones=after.phones,
            social_handles=after.social_handles,
            language=after.language,
            time_zone=after.time_zone,
            account_id=after.account_id,
            updated_at=now,
        )
    ]


def evolve_customer(customer: Customer, event: EventPayload) -> Customer:
    """The customer after one more of their events; each upsert carries the whole record."""
    version = customer.version + 1
    match event:
        case CustomerUpserted():
            return Customer(
                customer_id=event.customer_id,
                version=version,
                name=event.name,
                emails=event.emails,
                phones=event.phones,
                social_handles=event.social_handles,
                language=event.language,
                time_zone=event.time_zone,
                account_id=event.account_id,
            )
    return replace(customer, version=version)


def fold_customer(customer_id: str, events: Iterable[EventPayload], start: Customer | None = None) -> Customer:
    """A customer's record from their history (or from `start` plus the events after it)."""
    return reduce(evolve_customer, events, start or Customer(customer_id))


@dataclass(frozen=True)
class Account:
    """An organisation customers belong to; tier and key-account flag steer routing and SLA."""

    account_id: str
    version: int = 0
    name: str = ""
    tier: str | None = None
    key_account: bool = False
    domains: tuple[str, ...] = ()

    @property
    def exists(self) -> bool:
        return self.version > 0

    def identities(self) -> frozenset[str]:
        """The keys this account is found by: 'domain:…', so a new customer's e-mail finds their account."""
        return frozenset(f"domain:{d}" for d in self.domains)


@dataclass(frozen=True)
class AccountChanges:
    name: str | None = None
    tier: str | None = None
    key_account: bool | None = None
    domains: tuple[str, ...] | None = None


def decide_account(account: Account, changes: AccountChanges, *, now: datetime) -> list[AccountUpserted]:
    after = replace(
        account,
        name=changes.name if changes.name is not None else account.name,
        tier=changes.tier if changes.tier is not None else account.tier,
        key_account=changes.key_account if changes.key_account is not None else account.key_account,
        domains=_unique(d.lower() for d in changes.domains) if changes.domains is not None else account.domains,
    )
    if account.exists and after == account:
        return []
    if not after.name:
        raise Invalid("an account needs a name")
    return [
        AccountUpserted(
            account_id=after.account_id,
            name=after.name,
            tier=after.tier,
            key_account=after.key_account,
            domains=after.domains,
            updated_at=now,
        )
    ]


def evolve_account(account: Account, event: EventPayload) -> Account:
    """The account after one more of its events; each upsert carries the whole record."""
    version = account.version + 1
    match event:
        case AccountUpserted():
            return Account(
                account_id=event.account_id,
                version=version,
                name=event.name,
                tier=event.tier,
                key_account=event.key_account,
                domains=event.domains,
            )
    return replace(account, version=version)


def fold_account(account_id: str, events: Iterable[EventPayload], start: Account | None = None) -> Account:
    """An account's record from its history (or from `start` plus the events after it)."""
    return reduce(evolve_account, events, start or Account(account_id))


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))
