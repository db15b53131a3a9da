"""Channel webhooks: e-mail from the mail gateway, call records, chat transcripts, social messages.

Each answers 201 when it opened a ticket or added to one, 200 for a repeated delivery (same channel
message id: nothing happens twice), and 202 for a message deliberately ignored (auto-replies).
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Response, status
from pydantic import EmailStr, Field
from switchboard.events.common import LanguageTag
from switchboard.events.interactions import CallDirection
from switchboard.runtime.auth import Principal, Scope, TokenAuth

from ..commands import Channels
from ..commands.inputs import ChatTranscript, InboundEmail, PhoneCall, SocialMessage
from .models import Attachment, CustomerRef, Strict


class Mailbox(Strict):
    email: EmailStr = Field(description="Address.")
    name: str | None = Field(default=None, max_length=256, description="Display name.")


class EmailIn(Strict):
    """An inbound e-mail as parsed by the mail gateway."""

    message_id: str = Field(min_length=3, max_length=998, description="The `Message-ID` header.")
    from_: Mailbox = Field(alias="from", description="Sender.")
    to: list[EmailStr] = Field(default_factory=list, max_length=100, description="Recipients.")
    cc: list[EmailStr] = Field(default_factory=list, max_length=100, description="Copied recipients.")
    subject: str = Field(default="", max_length=998, description="Subject line.")
    in_reply_to: str | None = Field(default=None, max_length=998, description="The `In-Reply-To` header.")
    references: str | None = Field(default=None, max_length=20_000, description="The `References` header.")
    text: str = Field(default="", description="Plain-text body.")
    html: str | None = Field(default=None, description="HTML body.")
    headers: dict[str, str] = Field(default_factory=dict, description="Other headers, e.g. Auto-Submitted.")
    attachments: list[Attachment] = Field(default_factory=list, max_length=100, description="Attachment metadata.")
    language: LanguageTag | None = Field(default=None, description="Declared language, if the gateway knows it.")

    def as_input(self) -> InboundEmail:
        return self.to_input(InboundEmail, sender_email=str(self.from_.email), sender_name=self.from_.name)


class CallIn(Strict):
    """A finished call from the telephony system."""

    call_id: str = Field(min_length=1, max_length=128, description="The telephony system's call id.")
    customer: CustomerRef = Field(description="Usually just the caller's phone number.")
    direction: CallDirection = Field(description="inbound or outbound.")
    duration_seconds: int = Field(ge=0, le=86_400, description="Talk time.")
    summary: str = Field(default="", description="Notes or transcript of the call.")
    recording_url: str | None = Field(default=None, max_length=2000, description="Where the recording is.")
    language: LanguageTag | None = Field(default=None, description="Language of the call, if known.")

    def as_input(self) -> PhoneCall:
        return self.to_input(PhoneCall)


class ChatLine(Strict):
    author: Literal["customer", "agent", "bot"] = Field(description="Who wrote the line.")
    text: str = Field(description="What they wrote.")
    at: datetime | None = Field(default=None, description="When.")


class ChatIn(Strict):
    """A finished chat session's transcript."""

    chat_id: str = Field(min_length=1, max_length=128, description="The chat system's session id.")
    customer: CustomerRef = Field(description="The visitor.")
    subject: str = Field(default="", max_length=998, description="Topic, if the chat asked for one.")
    transcript: list[ChatLine] = Field(min_length=1, max_length=10_000, description="The conversation.")
    language: LanguageTag | None = Field(default=None, description="Language, if known.")

    def as_input(self) -> ChatTranscript:
        return self.to_input(ChatTranscript)


class SocialIn(Strict):
    """A message or mention on a social network."""

    message_id: str = Field(min_length=1, max_length=256, description="The network's message id.")
    network: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_.-]+$", description="e.g. 'x', 'instagram'.")
    handle: str = Field(min_length=1, max_length=100, description="The author's handle on that network.")
    name: str | None = Field(default=None, max_length=256, description="Display name.")
    text: str = Field(description="The message.")
    url: str | None = Field(default=None, max_length=2000, description="Link to the post.")
    language: LanguageTag | None = Field(default=None, description="Language, if known.")

    def as_input(self) -> SocialMessage:
        return self.to_input(SocialMessage)


def channels_router(*, channels: Channels, auth: TokenAuth) -> APIRouter:
    router = APIRouter(prefix="/v1/channels", tags=["channels"])
    Gateway = Annotated[Principal, Depends(auth.require(Scope.CHANNEL))]

    def answer(result: dict[str, Any], response: Response) -> dict[str, Any]:
        response.status_code = {"ignored": 202, "duplicate": 200}.get(result["action"], status.HTTP_201_CREATED)
        return result

    @router.post("/email", status_code=status.HTTP_201_CREATED, summary="Inbound e-mail")
    async def email(body: EmailIn, _: Gateway, response: Response) -> dict[str, Any]:
        return answer(await channels.email(body.as_input()), response)

    @router.post("/phone", status_code=status.HTTP_201_CREATED, summary="A call record")
    async def phone(body: CallIn, _: Gateway, response: Response) -> dict[str, Any]:
        return answer(await channels.phone(body.as_input()), response)

    @router.post("/chat", status_code=status.HTTP_201_CREATED, summary="A chat transcript")
    async def chat(body: ChatIn, _: Gateway, response: Response) -> dict[str, Any]:
        return answer(await channels.chat(body.as_input()), response)

    @router.post("/social", status_code=status.HTTP_201_CREATED, summary="A social-media message")
    async def social(body: SocialIn, _: Gateway, response: Response) -> dict[str, Any]:
        return answer(await channels.social(body.as_input()), response)

    return router
