"""Events on `support.feedback`: surveys, their answers, QA reviews and follow-ups, keyed by ticket id."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from ._model import EventPayload
from .common import AgentId, SurveyKind, TicketId


class SurveyRequested(EventPayload):
    """A survey was sent to the customer with a signed, expiring link."""

    type: Literal["support.survey.requested.v1"] = Field(
        default="support.survey.requested.v1", description="Event type discriminator."
    )
    ticket_id: TicketId = Field(description="Ticket the survey is about.")
    survey_id: str = Field(description="Id of the survey.")
    kind: SurveyKind = Field(description="CSAT, NPS or CES.")
    customer_id: str = Field(description="Customer asked.")
    agent_id: AgentId | None = Field(default=None, description="Agent who handled the ticket, if any.")
    expires_at: datetime = Field(description="When the answer link stops working (UTC).")
    requested_at: datetime = Field(description="When it was sent (UTC).")


class SurveyAnswered(EventPayload):
    """The customer answered a survey."""

    type: Literal["support.survey.answered.v1"] = Field(
        default="support.survey.answered.v1", description="Event type discriminator."
    )
    ticket_id: TicketId = Field(description="Ticket the survey was about.")
    survey_id: str = Field(description="Id of the survey.")
    kind: SurveyKind = Field(description="CSAT, NPS or CES.")
    score: int = Field(ge=0, le=10, description="Score on the kind's scale: CSAT 1-5, NPS 0-10, CES 1-7.")
    comment: str | None = Field(default=None, max_length=5000, description="Free-text comment, if any.")
    agent_id: AgentId | None = Field(default=None, description="Agent who handled the ticket, if any.")
    answered_at: datetime = Field(description="When it was answered (UTC).")


class QaReviewSubmitted(EventPayload):
    """A QA reviewer scored an agent's work on a ticket against a scorecard."""

    type: Literal["support.qa.review_submitted.v1"] = Field(
        default="support.qa.review_submitted.v1", description="Event type discriminator."
    )
    ticket_id: TicketId = Field(description="Ticket reviewed.")
    review_id: str = Field(description="Id of the review.")
    agent_id: AgentId = Field(description="Agent whose work was reviewed.")
    reviewer_id: str = Field(description="QA reviewer.")
    scorecard_id: str = Field(description="Scorecard used.")
    scores: dict[str, int] = Field(description="Score per scorecard criterion.")
    total_percent: float = Field(ge=0, le=100, description="Weighted total as a percentage.")
    submitted_at: datetime = Field(description="When the review was submitted (UTC).")


class FollowUpRequested(EventPayload):
    """An unhappy customer needs a follow-up; routing may escalate on it."""

    type: Literal["support.follow_up.requested.v1"] = Field(
        default="support.follow_up.requested.v1", description="Event type discriminator."
    )
    ticket_id: TicketId = Field(description="Ticket to follow up on.")
    survey_id: str | None = Field(default=None, description="Survey answer that caused it, if any.")
    reason: str = Field(max_length=500, description="Why a follow-up is needed.")
    requested_at: datetime = Field(description="When it was requested (UTC).")
