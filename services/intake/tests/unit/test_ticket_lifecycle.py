"""A ticket's rules as a support lead describes them: given its history, when a command arrives, then these events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from switchboard.events import EventPayload
from switchboard.events.common import Actor, Channel, Priority, TicketStatus
from switchboard.events.interactions import CallDirection, InteractionKind, InteractionRecorded
from switchboard.events.tickets import (
    TicketMerged,
    TicketOpened,
    TicketReopened,
    TicketStatusChanged,
    TicketUpdated,
)
from switchboard.intake.domain.errors import Invalid, NotFound, Rejected
from switchboard.intake.domain.ticket import (
    TRANSITIONS,
    ChangeStatus,
    MergeInto,
    OpenTicket,
    RecordInteraction,
    Ticket,
    UpdateTicket,
    check_merge_target,
    decide,
    evolve,
    fold,
)

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
LATER = NOW + timedelta(hours=2)
TICKET_ID = "t-1"


# --- given ----------------------------------------------------------------------------------------------------


def open_command(**overrides: Any) -> OpenTicket:
    fields: dict[str, Any] = {
        "ticket_id": TICKET_ID,
        "reference": "SB-1",
        "subject": "Siparişim gelmedi",
        "description": "Merhaba, siparişim hâlâ gelmedi.",
        "channel": Channel.EMAIL,
        "customer_id": "c-1",
        "customer_email": "ayse@example.com",
        "customer_name": "Ayşe",
        "interaction_id": "i-1",
        "external_id": "m-1@mail.example.com",
    }
    return OpenTicket(**(fields | overrides))


def history(*, status: TicketStatus = TicketStatus.NEW, **open_overrides: Any) -> list[EventPayload]:
    """The events of a ticket opened by a customer and, if asked, walked to `status`."""
    events = decide(Ticket(ticket_id=TICKET_ID), open_command(**open_overrides), now=NOW)
    path = {
        TicketStatus.NEW: [],
        TicketStatus.OPEN: [TicketStatus.OPEN],
        TicketStatus.PENDING: [TicketStatus.PENDING],
        TicketStatus.ON_HOLD: [TicketStatus.ON_HOLD],
        TicketStatus.SOLVED: [TicketStatus.SOLVED],
        TicketStatus.CLOSED: [TicketStatus.SOLVED, TicketStatus.CLOSED],
    }[status]
    for step in path:
        events += decide(fold(TICKET_ID, events), agent_sets(step), now=NOW)
    return events


def given_ticket(status: TicketStatus = TicketStatus.NEW, **open_overrides: Any) -> Ticket:
    ticket = fold(TICKET_ID, history(status=status, **open_overrides))
    assert ticket.status is status
    return ticket


def merged_ticket() -> Ticket:
    ticket = given_ticket(TicketStatus.OPEN)
    return fold(TICKET_ID, decide(ticket, MergeInto(target_id="t-2", actor_id="a-1"), now=NOW), start=ticket)


def agent_sets(status: TicketStatus, reason: str | None = None) -> ChangeStatus:
    return ChangeStatus(to_status=status, actor=Actor.AGENT, actor_id="a-1", reason=reason)


def customer_writes(**overrides: Any) -> RecordInteraction:
    fields: dict[str, Any] = {
        "interaction_id": "i-2",
        "kind": InteractionKind.CUSTOMER_MESSAGE,
        "channel": Channel.EMAIL,
        "author_type": "customer",
        "author_id": "c-1",
        "body_text": "Any news?",
        "external_id": "m-2@mail.example.com",
    }
    return RecordInteraction(**(fields | overrides))


def agent_writes(kind: InteractionKind = InteractionKind.AGENT_REPLY, **overrides: Any) -> RecordInteraction:
    fields: dict[str, Any] = {
        "interaction_id": "i-3",
        "kind": kind,
        "channel": Channel.EMAIL,
        "author_type": "agent",
        "author_id": "a-1",
        "body_text": "We are on it.",
    }
    return RecordInteraction(**(fields | overrides))


def update(**overrides: Any) -> UpdateTicket:
    return UpdateTicket(**({"actor": Actor.AGENT, "actor_id": "a-1"} | overrides))


def status_changes(events: Sequence[EventPayload]) -> list[tuple[TicketStatus, TicketStatus]]:
    return [(e.from_status, e.to_status) for e in events if isinstance(e, TicketStatusChanged)]


# --- opening --------------------------------------------------------------------------------------------------


def test_opening_a_ticket_records_it_and_the_customers_first_message() -> None:
    events = decide(Ticket(ticket_id=TICKET_ID), open_command(), now=NOW)

    assert [type(e) for e in events] == [TicketOpened, InteractionRecorded]
    opened, first = events
    assert isinstance(opened, TicketOpened) and isinstance(first, InteractionRecorded)
    assert opened.ticket_id == TICKET_ID
    assert opened.reference == "SB-1"
    assert opened.status is TicketStatus.NEW
    assert opened.requester.customer_id == "c-1"
    assert opened.requester.email == "ayse@example.com"
    assert opened.opened_at == NOW
    assert first.kind is InteractionKind.CUSTOMER_MESSAGE
    assert first.public is True
    assert first.author_type == "customer"
    assert first.author_id == "c-1"
    assert first.body_text == "Merhaba, siparişim hâlâ gelmedi."
    assert first.external_id == "m-1@mail.example.com"
    assert first.occurred_at == NOW


def test_opening_cleans_the_tags_to_lower_case_sorted_and_unique() -> None:
    events = decide(Ticket(ticket_id=TICKET_ID), open_command(tags=(" VIP", "refund", "vip", " ")), now=NOW)

    opened = events[0]
    assert isinstance(opened, TicketOpened)
    assert opened.tags == ("refund", "vip")


def test_an_opened_ticket_is_new_open_for_messages_and_counts_its_first_interaction() -> None:
    ticket = fold(TICKET_ID, history())

    assert ticket.exists
    assert ticket.version == 2
    assert ticket.status is TicketStatus.NEW
    assert ticket.is_open
    assert ticket.interaction_count == 1
    assert ticket.customer_id == "c-1"
    assert ticket.opened_at == NOW
    assert ticket.last_activity_at == NOW
    assert ticket.external_ids == frozenset({"m-1@mail.example.com"})


def test_a_ticket_cannot_be_opened_twice() -> None:
    with pytest.raises(Rejected, match="already exists"):
        decide(given_ticket(), open_command(), now=NOW)


@pytest.mark.parametrize(
    "command",
    [
        customer_writes(),
        update(priority=Priority.HIGH),
        agent_sets(TicketStatus.OPEN),
        MergeInto(target_id="t-2", actor_id="a-1"),
    ],
    ids=["interaction", "update", "status", "merge"],
)
def test_any_command_on_an_unknown_ticket_is_not_found(command: Any) -> None:
    with pytest.raises(NotFound, match="no ticket t-404"):
        decide(Ticket(ticket_id="t-404"), command, now=NOW)


# --- the lifecycle ---------------------------------------------------------------------------------------------

ALLOWED = sorted(
    ((source, target) for source, targets in TRANSITIONS.items() for target in targets),
    key=lambda pair: (pair[0].value, pair[1].value),
)
DISALLOWED = sorted(
    (
        (source, target)
        for source in TicketStatus
        for target in TicketStatus
        if target is not source
        and target not in TRANSITIONS[source]
        and (source, target) != (TicketStatus.SOLVED, TicketStatus.OPEN)
    ),
    key=lambda pair: (pair[0].value, pair[1].value),
)


@pytest.mark.parametrize(("source", "target"), ALLOWED, ids=[f"{s}->{t}" for s, t in ALLOWED])
def test_an_allowed_move_emits_one_status_change_from_where_it_was_to_where_it_goes(
    source: TicketStatus, target: TicketStatus
) -> None:
    ticket = given_ticket(source)

    events = decide(ticket, agent_sets(target, reason="because"), now=LATER)

    assert len(events) == 1
    change = events[0]
    assert isinstance(change, TicketStatusChanged)
    assert (change.from_status, change.to_status) == (source, target)
    assert change.changed_by is Actor.AGENT
    assert change.changed_by_id == "a-1"
    assert change.reason == "because"
    assert change.changed_at == LATER
    assert fold(TICKET_ID, events, start=ticket).status is target


@pytest.mark.parametrize(("source", "target"), DISALLOWED, ids=[f"{s}->{t}" for s, t in DISALLOWED])
def test_a_disallowed_move_is_rejected_naming_the_statuses_that_are_allowed(
    source: TicketStatus, target: TicketStatus
) -> None:
    ticket = given_ticket(source)

    with pytest.raises(Rejected) as refused:
        decide(ticket, agent_sets(target), now=LATER)

    reason = refused.value.reason
    assert f"a {source.value} ticket cannot become {target.value}" in reason
    for allowed in TRANSITIONS[source]:
        assert allowed.value in reason
    assert refused.value.status == 409


def test_nothing_moves_a_ticket_back_to_new() -> None:
    for source in TicketStatus:
        assert TicketStatus.NEW not in TRANSITIONS[source]


def test_setting_the_status_a_ticket_already_has_changes_nothing() -> None:
    for status in TicketStatus:
        assert decide(given_ticket(status), agent_sets(status), now=LATER) == []


def test_setting_open_on_a_solved_ticket_reopens_it() -> None:
    ticket = given_ticket(TicketStatus.SOLVED)

    events = decide(ticket, agent_sets(TicketStatus.OPEN, reason="customer called back"), now=LATER)

    assert [type(e) for e in events] == [TicketReopened, TicketStatusChanged]
    reopened = events[0]
    assert isinstance(reopened, TicketReopened)
    assert reopened.reopened_by is Actor.AGENT
    assert reopened.reason == "customer called back"
    assert reopened.reopened_at == LATER
    assert status_changes(events) == [(TicketStatus.SOLVED, TicketStatus.OPEN)]
    assert fold(TICKET_ID, events, start=ticket).status is TicketStatus.OPEN


def test_a_solved_ticket_moved_elsewhere_is_told_to_reopen_by_setting_open() -> None:
    with pytest.raises(Rejected, match="allowed: closed; reopen it by setting 'open'"):
        decide(given_ticket(TicketStatus.SOLVED), agent_sets(TicketStatus.PENDING), now=LATER)


@pytest.mark.parametrize("target", [s for s in TicketStatus if s is not TicketStatus.CLOSED])
def test_a_closed_ticket_is_final(target: TicketStatus) -> None:
    with pytest.raises(Rejected, match=r"allowed: none \(closed is final\)"):
        decide(given_ticket(TicketStatus.CLOSED), agent_sets(target), now=LATER)


def test_only_a_solved_ticket_can_be_closed() -> None:
    assert [source for source, targets in TRANSITIONS.items() if TicketStatus.CLOSED in targets] == [
        TicketStatus.SOLVED
    ]


# --- interactions ---------------------------------------------------------------------------------------------


def test_a_customer_writing_on_a_solved_ticket_reopens_it() -> None:
    ticket = given_ticket(TicketStatus.SOLVED)

    events = decide(ticket, customer_writes(), now=LATER)

    assert [type(e) for e in events] == [InteractionRecorded, TicketReopened, TicketStatusChanged]
    reopened = events[1]
    assert isinstance(reopened, TicketReopened)
    assert reopened.reopened_by is Actor.CUSTOMER
    assert status_changes(events) == [(TicketStatus.SOLVED, TicketStatus.OPEN)]
    after = fold(TICKET_ID, events, start=ticket)
    assert after.status is TicketStatus.OPEN
    assert after.is_open


@pytest.mark.parametrize("status", [TicketStatus.PENDING, TicketStatus.ON_HOLD])
def test_a_customer_writing_on_a_waiting_ticket_puts_it_back_to_open(status: TicketStatus) -> None:
    ticket = given_ticket(status)

    events = decide(ticket, customer_writes(), now=LATER)

    assert [type(e) for e in events] == [InteractionRecorded, TicketStatusChanged]
    assert status_changes(events) == [(status, TicketStatus.OPEN)]
    change = events[1]
    assert isinstance(change, TicketStatusChanged)
    assert change.changed_by is Actor.CUSTOMER
    assert change.changed_by_id == "c-1"
    assert fold(TICKET_ID, events, start=ticket).status is TicketStatus.OPEN


@pytest.mark.parametrize("status", [TicketStatus.NEW, TicketStatus.OPEN])
def test_a_customer_writing_on_a_new_or_open_ticket_leaves_its_status_alone(status: TicketStatus) -> None:
    events = decide(given_ticket(status), customer_writes(), now=LATER)

    assert [type(e) for e in events] == [InteractionRecorded]


def test_the_first_public_agent_reply_on_a_new_ticket_opens_it() -> None:
    ticket = given_ticket(TicketStatus.NEW)

    events = decide(ticket, agent_writes(), now=LATER)

    assert [type(e) for e in events] == [InteractionRecorded, TicketStatusChanged]
    reply = events[0]
    assert isinstance(reply, InteractionRecorded)
    assert reply.public is True
    assert status_changes(events) == [(TicketStatus.NEW, TicketStatus.OPEN)]
    change = events[1]
    assert isinstance(change, TicketStatusChanged)
    assert change.changed_by is Actor.AGENT
    assert fold(TICKET_ID, events, start=ticket).status is TicketStatus.OPEN


@pytest.mark.parametrize("status", [TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.ON_HOLD, TicketStatus.SOLVED])
def test_an_agent_reply_on_a_ticket_past_new_leaves_its_status_alone(status: TicketStatus) -> None:
    events = decide(given_ticket(status), agent_writes(), now=LATER)

    assert [type(e) for e in events] == [InteractionRecorded]


def test_an_agent_reply_the_customer_cannot_see_does_not_open_a_new_ticket() -> None:
    events = decide(given_ticket(TicketStatus.NEW), agent_writes(public=False), now=LATER)

    assert [type(e) for e in events] == [InteractionRecorded]


@pytest.mark.parametrize("public", [None, True, False])
def test_an_internal_note_is_never_public_and_does_not_open_a_new_ticket(public: bool | None) -> None:
    events = decide(
        given_ticket(TicketStatus.NEW), agent_writes(InteractionKind.INTERNAL_NOTE, public=public), now=LATER
    )

    assert len(events) == 1
    note = events[0]
    assert isinstance(note, InteractionRecorded)
    assert note.kind is InteractionKind.INTERNAL_NOTE
    assert note.public is False


@pytest.mark.parametrize("author_type", ["customer", "system"])
def test_only_an_agent_writes_an_internal_note(author_type: str) -> None:
    command = agent_writes(InteractionKind.INTERNAL_NOTE, author_type=author_type)

    with pytest.raises(Invalid, match="only agents write internal notes") as refused:
        decide(given_ticket(TicketStatus.OPEN), command, now=LATER)
    assert refused.value.status == 422


def test_an_agent_reply_needs_an_agent_author() -> None:
    with pytest.raises(Invalid, match="agent author"):
        decide(given_ticket(TicketStatus.OPEN), agent_writes(author_type="customer"), now=LATER)


def test_a_phone_call_needs_its_direction() -> None:
    call = customer_writes(kind=InteractionKind.PHONE_CALL, channel=Channel.PHONE, call_direction=None)

    with pytest.raises(Invalid, match="direction"):
        decide(given_ticket(TicketStatus.OPEN), call, now=LATER)


def test_a_phone_call_with_its_direction_is_recorded_publicly_with_its_duration() -> None:
    call = customer_writes(
        kind=InteractionKind.PHONE_CALL,
        channel=Channel.PHONE,
        call_direction=CallDirection.INBOUND,
        call_duration_seconds=180,
    )

    events = decide(given_ticket(TicketStatus.OPEN), call, now=LATER)

    recorded = events[0]
    assert isinstance(recorded, InteractionRecorded)
    assert recorded.public is True
    assert recorded.call_direction is CallDirection.INBOUND
    assert recorded.call_duration_seconds == 180


def test_a_message_the_channel_delivers_twice_is_recorded_once() -> None:
    ticket = given_ticket(TicketStatus.OPEN)
    first = decide(ticket, customer_writes(external_id="m-2@x"), now=LATER)
    ticket = fold(TICKET_ID, first, start=ticket)

    again = decide(ticket, customer_writes(interaction_id="i-9", external_id="m-2@x"), now=LATER)

    assert again == []
    assert ticket.interaction_count == 2


def test_the_first_message_redelivered_on_its_own_ticket_is_a_no_op() -> None:
    assert (
        decide(given_ticket(TicketStatus.SOLVED), customer_writes(external_id="m-1@mail.example.com"), now=LATER) == []
    )


def test_messages_without_a_channel_id_are_never_taken_for_duplicates() -> None:
    ticket = given_ticket(TicketStatus.OPEN)
    first = decide(ticket, customer_writes(external_id=None), now=LATER)
    ticket = fold(TICKET_ID, first, start=ticket)

    assert len(decide(ticket, customer_writes(interaction_id="i-9", external_id=None), now=LATER)) == 1


def test_an_interaction_moves_the_last_activity_and_the_count() -> None:
    ticket = given_ticket(TicketStatus.OPEN)

    after = fold(TICKET_ID, decide(ticket, agent_writes(), now=LATER), start=ticket)

    assert after.last_activity_at == LATER
    assert after.interaction_count == ticket.interaction_count + 1


@pytest.mark.parametrize(
    "command",
    [customer_writes(), agent_writes(), agent_writes(InteractionKind.INTERNAL_NOTE)],
    ids=["customer message", "agent reply", "internal note"],
)
def test_nothing_is_written_on_a_closed_ticket(command: RecordInteraction) -> None:
    with pytest.raises(Rejected, match="closed; open a follow-up ticket instead"):
        decide(given_ticket(TicketStatus.CLOSED), command, now=LATER)


@pytest.mark.parametrize(
    "command",
    [
        customer_writes(),
        update(priority=Priority.HIGH),
        agent_sets(TicketStatus.SOLVED),
        MergeInto(target_id="t-3", actor_id="a-1"),
    ],
    ids=["interaction", "update", "status", "merge"],
)
def test_nothing_is_written_on_a_merged_ticket_and_the_reason_says_where_to_write(command: Any) -> None:
    with pytest.raises(Rejected, match="SB-1 was merged into t-2; write there instead"):
        decide(merged_ticket(), command, now=LATER)


# --- merging --------------------------------------------------------------------------------------------------


def test_merging_a_duplicate_records_where_it_went() -> None:
    ticket = given_ticket(TicketStatus.OPEN)

    events = decide(ticket, MergeInto(target_id="t-2", actor_id="a-1"), now=LATER)

    assert len(events) == 1
    merged = events[0]
    assert isinstance(merged, TicketMerged)
    assert (merged.ticket_id, merged.into_ticket_id, merged.merged_by_id) == (TICKET_ID, "t-2", "a-1")
    after = fold(TICKET_ID, events, start=ticket)
    assert after.merged_into == "t-2"
    assert not after.is_open


def test_a_ticket_cannot_be_merged_into_itself() -> None:
    with pytest.raises(Invalid, match="itself"):
        decide(given_ticket(TicketStatus.OPEN), MergeInto(target_id=TICKET_ID, actor_id="a-1"), now=LATER)


def test_a_closed_ticket_cannot_be_merged() -> None:
    with pytest.raises(Rejected, match="closed and cannot be merged"):
        decide(given_ticket(TicketStatus.CLOSED), MergeInto(target_id="t-2", actor_id="a-1"), now=LATER)


def test_a_ticket_that_is_open_or_solved_accepts_a_merge() -> None:
    for status in (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.SOLVED):
        check_merge_target(given_ticket(status))


def test_a_merge_target_that_does_not_exist_is_not_found() -> None:
    with pytest.raises(NotFound, match="no ticket t-404 to merge into"):
        check_merge_target(Ticket(ticket_id="t-404"))


def test_a_merge_target_that_was_itself_merged_is_rejected() -> None:
    with pytest.raises(Rejected, match="was itself merged into t-2"):
        check_merge_target(merged_ticket())


def test_a_closed_merge_target_is_rejected() -> None:
    with pytest.raises(Rejected, match="closed and cannot receive a merge"):
        check_merge_target(given_ticket(TicketStatus.CLOSED))


# --- updates --------------------------------------------------------------------------------------------------


def only_update(events: Sequence[EventPayload]) -> TicketUpdated:
    assert len(events) == 1
    updated = events[0]
    assert isinstance(updated, TicketUpdated)
    return updated


def test_an_update_carries_only_what_changed() -> None:
    ticket = given_ticket(TicketStatus.OPEN, priority=Priority.NORMAL, category="billing", tags=("refund",))

    updated = only_update(
        decide(ticket, update(priority=Priority.URGENT, category="billing", tags=("refund",)), now=LATER)
    )

    assert updated.priority is Priority.URGENT
    assert updated.category is None
    assert updated.tags is None
    assert updated.custom_fields is None
    assert updated.changed_by is Actor.AGENT
    assert updated.updated_at == LATER
    assert fold(TICKET_ID, [updated], start=ticket).priority is Priority.URGENT


def test_a_new_category_is_recorded() -> None:
    ticket = given_ticket(TicketStatus.OPEN, category="billing")

    updated = only_update(decide(ticket, update(category="shipping"), now=LATER))

    assert updated.category == "shipping"
    assert fold(TICKET_ID, [updated], start=ticket).category == "shipping"


def test_tags_are_compared_and_stored_lower_case_sorted_and_unique() -> None:
    ticket = given_ticket(TicketStatus.OPEN, tags=("refund", "vip"))

    assert decide(ticket, update(tags=("VIP", " Refund ", "vip")), now=LATER) == []
    updated = only_update(decide(ticket, update(tags=("Urgent", "VIP", "refund")), now=LATER))
    assert updated.tags == ("refund", "urgent", "vip")
    assert fold(TICKET_ID, [updated], start=ticket).tags == ("refund", "urgent", "vip")


def test_an_empty_tag_list_removes_every_tag() -> None:
    ticket = given_ticket(TicketStatus.OPEN, tags=("refund",))

    updated = only_update(decide(ticket, update(tags=()), now=LATER))

    assert updated.tags == ()
    assert fold(TICKET_ID, [updated], start=ticket).tags == ()


def test_custom_fields_carry_only_the_keys_that_changed() -> None:
    ticket = given_ticket(TicketStatus.OPEN, custom_fields={"order": "A-1", "items": 2, "gift": False})

    updated = only_update(
        decide(ticket, update(custom_fields={"order": "A-1", "items": 3, "gift": False, "store": "Kyiv"}), now=LATER)
    )

    assert updated.custom_fields == {"items": 3, "store": "Kyiv"}
    after = fold(TICKET_ID, [updated], start=ticket)
    assert after.custom_fields == {"order": "A-1", "items": 3, "gift": False, "store": "Kyiv"}


def test_a_custom_field_set_to_null_is_removed() -> None:
    ticket = given_ticket(TicketStatus.OPEN, custom_fields={"order": "A-1", "items": 2})

    updated = only_update(decide(ticket, update(custom_fields={"order": None}), now=LATER))

    assert updated.custom_fields == {"order": None}
    assert fold(TICKET_ID, [updated], start=ticket).custom_fields == {"items": 2}


def test_removing_a_custom_field_the_ticket_does_not_have_changes_nothing() -> None:
    ticket = given_ticket(TicketStatus.OPEN, custom_fields={"items": 2})

    assert decide(ticket, update(custom_fields={"order": None}), now=LATER) == []


def test_changing_a_custom_field_from_a_number_to_a_yes_no_value_is_a_change() -> None:
    ticket = given_ticket(TicketStatus.OPEN, custom_fields={"escalated": 1})

    updated = only_update(decide(ticket, update(custom_fields={"escalated": True}), now=LATER))

    assert updated.custom_fields == {"escalated": True}


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"priority": Priority.HIGH},
        {"category": "billing"},
        {"tags": ("vip", "refund")},
        {"custom_fields": {"order": "A-1"}},
        {"custom_fields": {}},
        {
            "priority": Priority.HIGH,
            "category": "billing",
            "tags": ("VIP", "Refund"),
            "custom_fields": {"order": "A-1"},
        },
    ],
    ids=["nothing", "same priority", "same category", "same tags", "same field", "no fields", "all the same"],
)
def test_an_update_that_changes_nothing_emits_nothing(changes: dict[str, Any]) -> None:
    ticket = given_ticket(
        TicketStatus.OPEN,
        priority=Priority.HIGH,
        category="billing",
        tags=("refund", "vip"),
        custom_fields={"order": "A-1"},
    )

    assert decide(ticket, update(**changes), now=LATER) == []


def test_a_closed_ticket_can_no_longer_be_updated() -> None:
    with pytest.raises(Rejected, match="closed and can no longer change"):
        decide(given_ticket(TicketStatus.CLOSED), update(priority=Priority.HIGH), now=LATER)


def test_a_solved_ticket_can_still_be_updated() -> None:
    updated = only_update(decide(given_ticket(TicketStatus.SOLVED), update(priority=Priority.LOW), now=LATER))

    assert updated.priority is Priority.LOW


# --- fold -----------------------------------------------------------------------------------------------------


def test_folding_from_a_snapshot_gives_the_same_ticket_as_folding_the_whole_history() -> None:
    events = history(status=TicketStatus.CLOSED)
    snapshot = fold(TICKET_ID, events[:3])

    assert fold(TICKET_ID, events[3:], start=snapshot) == fold(TICKET_ID, events)


def test_evolve_counts_every_event_as_a_version_even_a_reopen() -> None:
    ticket = given_ticket(TicketStatus.SOLVED)
    reopened = TicketReopened(ticket_id=TICKET_ID, reopened_by=Actor.AGENT, reopened_at=LATER)

    after = evolve(ticket, reopened)

    assert after.version == ticket.version + 1
    assert after.status is TicketStatus.SOLVED


# --- property: any sequence of status changes -----------------------------------------------------------------


def reachable_from_new() -> set[TicketStatus]:
    seen, frontier = {TicketStatus.NEW}, [TicketStatus.NEW]
    while frontier:
        here = frontier.pop()
        nexts = set(TRANSITIONS[here]) | ({TicketStatus.OPEN} if here is TicketStatus.SOLVED else set())
        for there in nexts - seen:
            seen.add(there)
            frontier.append(there)
    return seen


REACHABLE = reachable_from_new()


@settings(max_examples=300, deadline=None)
@given(targets=st.lists(st.sampled_from(list(TicketStatus)), max_size=30))
def test_any_sequence_of_status_changes_stays_on_the_lifecycle(targets: list[TicketStatus]) -> None:
    events = history()
    ticket = fold(TICKET_ID, events)
    was_closed = False

    for target in targets:
        before = ticket.status
        try:
            new_events = decide(ticket, agent_sets(target), now=LATER)
        except Rejected:
            assert target not in TRANSITIONS[before]
            continue
        for source, to in status_changes(new_events):
            assert source is before
            assert to in TRANSITIONS[source] or (source, to) == (TicketStatus.SOLVED, TicketStatus.OPEN)
        events += new_events
        ticket = fold(TICKET_ID, new_events, start=ticket)

        assert ticket.status in REACHABLE
        if was_closed:
            assert ticket.status is TicketStatus.CLOSED
            assert new_events == []
        was_closed = ticket.status is TicketStatus.CLOSED

    assert ticket.version == len(events)
    assert fold(TICKET_ID, events) == ticket
