"""The provider-neutral shape of a model call: messages in, a stream of events out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from openhermit.protocol.usage import Usage

ThinkingLevel = Literal["off", "minimal", "low", "medium", "high"]


@dataclass
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]


@dataclass
class ToolCallPart:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ImagePart:
    """An image shown to the model inside a user message."""

    mime_type: str
    data: bytes

    @property
    def base64(self) -> str:
        import base64

        return base64.b64encode(self.data).decode("ascii")


@dataclass
class ChatMessage:
    """One message of the conversation. `tool` messages carry one tool result."""

    role: Literal["user", "assistant", "tool"]
    text: str = ""
    tool_calls: list[ToolCallPart] = field(default_factory=list)
    tool_call_id: str | None = None
    tool_name: str | None = None
    is_error: bool = False
    thinking: str | None = None
    thinking_signature: str | None = None
    images: list[ImagePart] = field(default_factory=list)  # user messages only


@dataclass
class ModelRequest:
    system: str
    messages: list[ChatMessage]
    tools: list[ToolSpec] = field(default_factory=list)
    max_tokens: int = 8192
    thinking: ThinkingLevel = "off"


@dataclass
class TextDelta:
    text: str


@dataclass
class ThinkingDelta:
    text: str


@dataclass
class Finish:
    """The last event of a successful stream."""

    text: str
    tool_calls: list[ToolCallPart]
    stop_reason: str
    usage: Usage
    thinking: str | None = None
    thinking_signature: str | None = None


StreamEvent = TextDelta | ThinkingDelta | Finish


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach a model: one pooled client per distinct endpoint."""

    api: str
    provider: str
    model: str
    api_key: str
    base_url: str
    headers: tuple[tuple[str, str], ...] = ()
    timeout: float = 120.0
    max_retries: int = 2


def sdk_options(endpoint: Endpoint, http_client: Any) -> dict[str, Any]:
    """The constructor arguments both vendor SDK clients take.

    `http_client` is the SDK's own aiohttp transport (`DefaultAioHttpClient`): the same requests,
    retries and errors as its default httpx transport, for about 40 % less CPU per streamed call.
    """
    return {
        "http_client": http_client,
        "api_key": endpoint.api_key,
        "base_url": endpoint.base_url,
        "default_headers": dict(endpoint.headers),
        "timeout": endpoint.timeout,
        "max_retries": endpoint.max_retries,
    }


class VendorClient:
    """What both SDK-backed clients share: their endpoint's names and a pooled SDK client."""

    api: str

    def __init__(self, endpoint: Endpoint, client: Any) -> None:
        self.provider = endpoint.provider
        self.model = endpoint.model
        self._client = client

    async def close(self) -> None:
        await self._client.close()


class ModelError(Exception):
    """The model endpoint failed (HTTP error, timeout, malformed stream)."""


class ModelClient(Protocol):
    provider: str
    model: str
    api: str

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Yield deltas, then exactly one `Finish`; raise `ModelError` on failure."""
        ...

    async def close(self) -> None:
        """Release pooled connections."""
        ...


def describe_failure(exc: BaseException) -> str:
    """A one-line reason for a model failure, for the `error` event."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    return f"{name}: {text}" if text else name
