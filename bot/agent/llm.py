"""The model boundary: a small ``ChatModel`` protocol and its OpenAI adapter.

Everything else in alex talks to :class:`ChatModel` (tests use a scripted model). This is the only
module that imports ``openai``. Messages and tools use the Chat Completions shapes, which every
OpenAI-compatible server (Azure, Ollama, vLLM, ...) implements.

Error taxonomy: every failure to get an answer (timeout, connection, 5xx, 429 after retries, auth,
a refused request, an empty response) is :class:`ModelUnavailable`. Its text names the kind of
failure and the HTTP status, never the API key or the provider's raw message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, cast

import httpx2
import openai
from pydantic import SecretStr

from bot.agent.turn import Usage

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletion

    from bot.config import Settings

log = logging.getLogger("bot.agent.llm")

NO_KEY_PLACEHOLDER = "not-needed"
"""Sent as the key to an OPENAI_BASE_URL server that needs none (Ollama, vLLM without auth)."""


class ModelUnavailable(Exception):
    """The model could not answer (timeout, connection, 5xx, auth, refused request, empty response)."""


@dataclass(frozen=True, slots=True)
class ModelToolCall:
    """One function call the model asked for; ``arguments`` is the raw JSON text, unvalidated."""

    id: str
    name: str
    arguments: str


@dataclass(slots=True)
class ModelReply:
    """One model response: text, tool calls, or both."""

    text: str | None
    tool_calls: list[ModelToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)


class ChatModel(Protocol):
    """What the agent loop needs from a model: one Chat Completions round trip."""

    async def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelReply:
        """Answer ``messages``; ``tools`` is the OpenAI ``tools`` list (empty: text only)."""
        ...

    async def aclose(self) -> None: ...


class OpenAIChatModel:
    """:class:`ChatModel` over the Chat Completions API (OpenAI or any compatible server)."""

    def __init__(
        self,
        *,
        model: str,
        api_key: SecretStr | None = None,
        base_url: str | None = None,
        timeout_s: float = 30.0,
        max_retries: int = 1,
        temperature: float | None = 0.0,
        http_client: httpx2.AsyncClient | None = None,
    ) -> None:
        self.model = model
        self._temperature = temperature
        key = api_key.get_secret_value() if api_key is not None else ""
        self._secrets = tuple(s for s in (key,) if len(s) >= 4)
        # Explicit timeout and retries: the openai defaults (600 s, 2 retries) are far too long for a chat reply.
        self._client = openai.AsyncOpenAI(
            api_key=key or NO_KEY_PLACEHOLDER,
            base_url=base_url or None,
            timeout=httpx2.Timeout(timeout_s, connect=min(5.0, timeout_s)),
            max_retries=max_retries,
            http_client=http_client,
        )

    def __repr__(self) -> str:
        return f"OpenAIChatModel(model={self.model!r}, base_url={str(self._client.base_url)!r})"

    async def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelReply:
        options: dict[str, Any] = {"model": self.model, "messages": messages}
        if self._temperature is not None:
            options["temperature"] = self._temperature
        if tools:
            options["tools"] = tools
            options["parallel_tool_calls"] = True
        try:
            completion: ChatCompletion = await self._client.chat.completions.create(**options)
        except openai.APIError as exc:
            raise ModelUnavailable(self._describe(exc)) from None
        return self._reply(completion)

    async def aclose(self) -> None:
        await self._client.close()

    def _reply(self, completion: ChatCompletion) -> ModelReply:
        if not completion.choices:
            raise ModelUnavailable("The model returned no answer.")
        message = completion.choices[0].message
        calls = [ModelToolCall(call.id, call.function.name, call.function.arguments or "")
                 for call in message.tool_calls or () if call.type == "function"]
        usage = Usage()
        if completion.usage is not None:
            usage = Usage(completion.usage.prompt_tokens, completion.usage.completion_tokens)
        return ModelReply(message.content or message.refusal, calls, usage)

    def _describe(self, exc: openai.APIError) -> str:
        if isinstance(exc, openai.APITimeoutError):
            return "The model did not answer in time."
        if isinstance(exc, openai.APIConnectionError):
            return "The model server could not be reached."
        status = cast("int | None", getattr(exc, "status_code", None))
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return f"The model server rejected the credentials (HTTP {status}): check OPENAI_API_KEY."
        if isinstance(exc, openai.RateLimitError):
            return "The model server is rate limiting or out of quota (HTTP 429)."
        if isinstance(exc, openai.BadRequestError | openai.NotFoundError | openai.UnprocessableEntityError):
            # Worth showing (an unknown model, an oversized request), with any secret scrubbed.
            return f"The model server refused the request (HTTP {status}): {self._scrub(exc.message)}"
        if status is not None:
            return f"The model server failed (HTTP {status})."
        return f"The model server failed ({type(exc).__name__})."

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return " ".join(part if not part.startswith(("sk-", "'sk-", '"sk-')) else "[redacted]"
                        for part in text.split(" "))[:300]


def make_chat_model(settings: Settings, *, http_client: httpx2.AsyncClient | None = None) -> ChatModel | None:
    """The configured model, or None when neither OPENAI_API_KEY nor OPENAI_BASE_URL is set (command mode)."""
    key = settings.openai_api_key
    if key is not None and not key.get_secret_value().strip():
        key = None
    base_url = (settings.openai_base_url or "").strip() or None
    if key is None and base_url is None:
        return None
    return OpenAIChatModel(model=settings.llm_model, api_key=key, base_url=base_url,
                           timeout_s=settings.llm_timeout_seconds, max_retries=settings.llm_max_retries,
                           http_client=http_client)
