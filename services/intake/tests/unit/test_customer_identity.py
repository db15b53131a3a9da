"""Customers and accounts: a known customer is recognised on any channel, however they write their address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from switchboard.events.customers import AccountUpserted, CustomerUpserted
from switchboard.intake.domain.customer import (
    Account,
    AccountChanges,
    Customer,
    CustomerChanges,
    decide_account,
    decide_customer,
    evolve_account,
    evolve_customer,
    normalise_email,
    normalise_handle,
    normalise_phone,
)
from switchboard.intake.domain.errors import Invalid

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
LATER = NOW + timedelta(days=1)


# --- e-mail ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["ayse@example.com", "Ayse@Example.COM", "  AYSE@example.com\t", "\nayse@EXAMPLE.com "],
)
def test_an_email_address_matches_whatever_its_case_and_surrounding_space(raw: str) -> None:
    assert normalise_email(raw) == "ayse@example.com"


def test_an_email_address_keeps_its_plus_tag() -> None:
    assert normalise_email("Ayse+Orders@Example.com") == "ayse+orders@example.com"


@pytest.mark.parametrize("raw", ["", "   ", "ayse", "ayse@", "@example.com", "ayse@@example.com", "a@b@example.com"])
def test_something_that_is_not_an_email_address_is_invalid(raw: str) -> None:
    with pytest.raises(Invalid, match="is not an e-mail address") as refused:
        normalise_email(raw)
    assert refused.value.status == 422


# --- phone ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "+90 532 123 45 67",
        "+905321234567",
        "(0532) 123 45 67",
        "0532-123-45-67",
        "0090 532 123 45 67",
        "+90-532-1234567",
    ],
)
def test_a_turkish_mobile_number_matches_in_every_way_it_is_written(raw: str) -> None:
    assert normalise_phone(raw, default_region="TR") == "+905321234567"


@pytest.mark.parametrize(
    ("raw", "region"),
    [("+380 44 123 4567", None), ("+380441234567", "TR"), ("044 123 4567", "UA"), ("(044) 123-45-67", "UA")],
)
def test_a_ukrainian_number_matches_in_every_way_it_is_written(raw: str, region: str | None) -> None:
    assert normalise_phone(raw, default_region=region) == "+380441234567"


@pytest.mark.parametrize(
    ("raw", "region"),
    [("+994 50 123 45 67", None), ("+994501234567", "TR"), ("050 123 45 67", "AZ"), ("(050) 123-45-67", "AZ")],
)
def test_an_azerbaijani_number_matches_in_every_way_it_is_written(raw: str, region: str | None) -> None:
    assert normalise_phone(raw, default_region=region) == "+994501234567"


def test_a_number_with_its_country_code_needs_no_default_region() -> None:
    assert normalise_phone("+90 532 123 45 67", default_region=None) == "+905321234567"


def test_a_national_number_without_a_default_region_says_which_setting_is_missing() -> None:
    with pytest.raises(Invalid, match="INTAKE_DEFAULT_PHONE_REGION"):
        normalise_phone("(0532) 123 45 67", default_region=None)


@pytest.mark.parametrize("raw", ["", "call me", "+90 12"])
def test_something_that_is_not_a_phone_number_is_invalid(raw: str) -> None:
    with pytest.raises(Invalid, match="phone number") as refused:
        normalise_phone(raw, default_region="TR")
    assert "INTAKE_DEFAULT_PHONE_REGION" not in refused.value.reason


# --- social handles -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["X:@Acme", "x:acme", "  x:@ACME ", "X:Acme"])
def test_a_social_handle_matches_with_or_without_the_at_and_whatever_its_case(raw: str) -> None:
    assert normalise_handle(raw) == "x:acme"


def test_a_handle_keeps_the_dots_and_underscores_networks_allow() -> None:
    assert normalise_handle("Instagram:@Acme.Support_TR") == "instagram:acme.support_tr"


@pytest.mark.parametrize("raw", ["acme", "@acme", "x:", "x:@", "x:ac me", ":acme", "x:@acme@other"])
def test_a_handle_without_its_network_or_name_is_invalid_and_shows_how_to_write_one(raw: str) -> None:
    with pytest.raises(Invalid, match="'network:handle'"):
        normalise_handle(raw)


# --- customers ------------------------------------------------------------------------------------------------


def created(changes: CustomerChanges, customer_id: str = "c-1") -> Customer:
    [event] = decide_customer(Customer(customer_id=customer_id), changes, now=NOW)
    return evolve_customer(Customer(customer_id=customer_id), event)


def test_creating_a_customer_records_the_full_record() -> None:
    changes = CustomerChanges(
        name="Ayşe Yılmaz",
        emails=("ayse@example.com",),
        phones=("+905321234567",),
        language="tr",
        time_zone="Europe/Istanbul",
        account_id="acc-1",
    )

    events = decide_customer(Customer(customer_id="c-1"), changes, now=NOW)

    assert len(events) == 1
    event = events[0]
    assert isinstance(event, CustomerUpserted)
    assert event.customer_id == "c-1"
    assert event.name == "Ayşe Yılmaz"
    assert event.emails == ("ayse@example.com",)
    assert event.phones == ("+905321234567",)
    assert event.social_handles == ()
    assert event.language == "tr"
    assert event.time_zone == "Europe/Istanbul"
    assert event.account_id == "acc-1"
    assert event.updated_at == NOW


def test_a_created_customer_is_found_by_every_identity_it_has() -> None:
    customer = created(
        CustomerChanges(emails=("ayse@example.com",), phones=("+905321234567",), social_handles=("x:ayse",))
    )

    assert customer.exists
    assert customer.version == 1
    assert customer.identities() == frozenset({"email:ayse@example.com", "phone:+905321234567", "handle:x:ayse"})


def test_a_customer_with_the_same_address_twice_keeps_it_once_in_order() -> None:
    customer = created(CustomerChanges(emails=("b@example.com", "a@example.com", "b@example.com")))

    assert customer.emails == ("b@example.com", "a@example.com")


def test_a_customer_needs_an_email_phone_or_handle() -> None:
    with pytest.raises(Invalid, match="at least one e-mail address, phone number or social handle"):
        decide_customer(Customer(customer_id="c-1"), CustomerChanges(name="Nobody"), now=NOW)


def test_an_update_cannot_take_away_a_customers_last_identity() -> None:
    customer = created(CustomerChanges(emails=("ayse@example.com",)))

    with pytest.raises(Invalid, match="at least one"):
        decide_customer(customer, CustomerChanges(emails=()), now=LATER)


@pytest.mark.parametrize(
    "changes",
    [
        CustomerChanges(),
        CustomerChanges(name="Ayşe"),
        CustomerChanges(emails=("ayse@example.com",)),
        CustomerChanges(emails=("ayse@example.com", "ayse@example.com")),
        CustomerChanges(language="tr", account_id="acc-1"),
    ],
    ids=["nothing", "same name", "same email", "same email twice", "same language and account"],
)
def test_an_update_that_changes_nothing_emits_nothing(changes: CustomerChanges) -> None:
    customer = created(CustomerChanges(name="Ayşe", emails=("ayse@example.com",), language="tr", account_id="acc-1"))

    assert decide_customer(customer, changes, now=LATER) == []


def test_an_update_carries_the_whole_record_with_the_change_applied() -> None:
    customer = created(CustomerChanges(name="Ayşe", emails=("ayse@example.com",), language="tr"))

    [event] = decide_customer(customer, CustomerChanges(phones=("+905321234567",)), now=LATER)

    assert event.name == "Ayşe"
    assert event.emails == ("ayse@example.com",)
    assert event.phones == ("+905321234567",)
    assert event.language == "tr"
    assert event.updated_at == LATER
    after = evolve_customer(customer, event)
    assert after.version == 2
    assert "phone:+905321234567" in after.identities()


# --- accounts -------------------------------------------------------------------------------------------------


def test_creating_an_account_lower_cases_and_deduplicates_its_domains() -> None:
    changes = AccountChanges(
        name="Acme", tier="enterprise", key_account=True, domains=("Acme.com", "acme.com", "ACME.az")
    )

    events = decide_account(Account(account_id="acc-1"), changes, now=NOW)

    assert len(events) == 1
    event = events[0]
    assert isinstance(event, AccountUpserted)
    assert (event.account_id, event.name, event.tier, event.key_account) == ("acc-1", "Acme", "enterprise", True)
    assert event.domains == ("acme.com", "acme.az")
    assert event.updated_at == NOW


def test_an_account_needs_a_name() -> None:
    with pytest.raises(Invalid, match="needs a name"):
        decide_account(Account(account_id="acc-1"), AccountChanges(tier="enterprise"), now=NOW)


def test_an_account_update_that_changes_nothing_emits_nothing() -> None:
    account = Account(account_id="acc-1")
    [event] = decide_account(account, AccountChanges(name="Acme", domains=("acme.com",)), now=NOW)
    account = evolve_account(account, event)

    assert decide_account(account, AccountChanges(name="Acme", domains=("ACME.com",)), now=LATER) == []
    assert decide_account(account, AccountChanges(), now=LATER) == []


def test_making_an_account_a_key_account_is_recorded_and_keeps_the_rest() -> None:
    account = Account(account_id="acc-1")
    [event] = decide_account(account, AccountChanges(name="Acme", tier="pro"), now=NOW)
    account = evolve_account(account, event)

    [changed] = decide_account(account, AccountChanges(key_account=True), now=LATER)

    assert (changed.name, changed.tier, changed.key_account) == ("Acme", "pro", True)
    assert evolve_account(account, changed).version == 2


def test_an_account_can_stop_being_a_key_account() -> None:
    account = Account(account_id="acc-1")
    [event] = decide_account(account, AccountChanges(name="Acme", key_account=True), now=NOW)
    account = evolve_account(account, event)

    [changed] = decide_account(account, AccountChanges(key_account=False), now=LATER)

    assert changed.key_account is False
