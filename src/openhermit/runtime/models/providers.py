"""Known providers, their endpoints and key variables, and building a client for an agent."""

from __future__ import annotations

import asyncio
import importlib
import logging
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pydantic import SecretStr

from openhermit.protocol.agent_config import ModelSettings
from openhermit.runtime.models.base import Endpoint, ModelClient

OPENAI_COMPLETIONS = "openai-completions"
ANTHROPIC_MESSAGES = "anthropic-messages"
# Where each API's client lives, as (module, class). Each module imports its vendor SDK, and is
# imported when first needed: a gateway that talks to one kind of endpoint does not carry the
# other SDK (the OpenAI one is about 26 MB of memory and half a second of CPU, Anthropic's more).
_CLIENTS: dict[str, tuple[str, str]] = {
    OPENAI_COMPLETIONS: ("openhermit.runtime.models.openai_client", "OpenAIChatClient"),
    ANTHROPIC_MESSAGES: ("openhermit.runtime.models.anthropic_client", "AnthropicClient"),
}
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KnownModel:
    id: str
    reasoning: bool = False


@dataclass(frozen=True)
class Provider:
    name: str
    api: str
    base_url: str
    key_names: tuple[str, ...]
    models: tuple[KnownModel, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)


PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider(
            "openrouter",
            OPENAI_COMPLETIONS,
            "https://openrouter.ai/api/v1",
            ("OPENROUTER_API_KEY",),
            (
                KnownModel("google/gemini-3-flash-preview", True),
                KnownModel("anthropic/claude-sonnet-4.5", True),
                KnownModel("openai/gpt-5-mini", True),
                KnownModel("deepseek/deepseek-chat"),
            ),
            {"HTTP-Referer": "https://openhermit.ai", "X-OpenRouter-Title": "OpenHermit"},
        ),
        Provider(
            "openai",
            OPENAI_COMPLETIONS,
            "https://api.openai.com/v1",
            ("OPENAI_API_KEY",),
            (KnownModel("gpt-5", True), KnownModel("gpt-5-mini", True), KnownModel("gpt-4.1")),
        ),
        Provider(
            "anthropic",
            ANTHROPIC_MESSAGES,
            "https://api.anthropic.com",
            ("ANTHROPIC_API_KEY",),
            (KnownModel("claude-sonnet-4-5", True), KnownModel("claude-haiku-4-5", True)),
        ),
        Provider(
            "google",
            OPENAI_COMPLETIONS,
            "https://generativelanguage.googleapis.com/v1beta/openai",
            ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
            (KnownModel("gemini-2.5-pro", True), KnownModel("gemini-2.5-flash", True)),
        ),
        Provider("groq", OPENAI_COMPLETIONS, "https://api.groq.com/openai/v1", ("GROQ_API_KEY",)),
        Provider("mistral", OPENAI_COMPLETIONS, "https://api.mistral.ai/v1", ("MISTRAL_API_KEY",)),
        Provider("xai", OPENAI_COMPLETIONS, "https://api.x.ai/v1", ("XAI_API_KEY",)),
        Provider("deepseek", OPENAI_COMPLETIONS, "https://api.deepseek.com/v1", ("DEEPSEEK_API_KEY",)),
        Provider("zai", OPENAI_COMPLETIONS, "https://api.z.ai/api/paas/v4", ("ZAI_API_KEY",)),
    )
}


class MissingApiKey(Exception):
    """No key for the agent's provider; the message names the variable to set."""


def key_names(provider: str) -> tuple[str, ...]:
    known = PROVIDERS.get(provider)
    return known.key_names if known else (f"{provider.upper().replace('-', '_')}_API_KEY",)


def default_thinking(settings: ModelSettings) -> str:
    if settings.thinking is not None:
        return settings.thinking
    known = PROVIDERS.get(settings.provider)
    reasoning = any(m.id == settings.model and m.reasoning for m in (known.models if known else ()))
    return "medium" if reasoning else "off"


def api_for(provider: str, api: str | None = None) -> str:
    """The wire API a model speaks: `api` when set, else its provider's (unknown providers are
    OpenAI-compatible)."""
    known = PROVIDERS.get(provider)
    return api or (known.api if known else OPENAI_COMPLETIONS)


def _client_of(api: str) -> tuple[str, str]:
    """(module, class) of the client of `api`; unknown APIs are OpenAI-compatible."""
    return _CLIENTS.get(api, _CLIENTS[OPENAI_COMPLETIONS])


async def _import(module: str) -> None:
    """Import `module` in a worker thread: a vendor SDK takes about half a second of CPU (the
    Anthropic one more), which in the event loop would stall every other request meanwhile."""
    fresh = module not in sys.modules
    started = time.perf_counter()
    await asyncio.to_thread(importlib.import_module, module)
    if fresh:
        log.info("model client %s loaded in %.2f s", module, time.perf_counter() - started)


class ModelClients:
    """Clients (and their connection pools) shared by every turn that uses the same endpoint and key.

    Making the first client of an API imports its vendor SDK, and making a client builds its TLS
    context; both run in a worker thread, once, however many turns ask at the same time."""

    def __init__(self) -> None:
        self._clients: dict[Endpoint, ModelClient] = {}
        self._making: dict[Endpoint, asyncio.Task[ModelClient]] = {}
        self._imports: dict[str, asyncio.Task[None]] = {}

    async def load(self, apis: Iterable[str]) -> None:
        """Import the clients of `apis`, and so their vendor SDKs (each once)."""
        for module in sorted({_client_of(api)[0] for api in apis}):
            task = self._imports.get(module)
            if task is None:
                task = self._imports[module] = asyncio.create_task(_import(module))
            try:
                await asyncio.shield(task)  # a cancelled turn does not cancel the others' import
            except Exception:
                if self._imports.get(module) is task:
                    del self._imports[module]  # the next turn tries again
                raise

    async def get(
        self,
        settings: ModelSettings,
        agent_secrets: Mapping[str, str],
        environment_keys: Mapping[str, SecretStr],
    ) -> ModelClient:
        endpoint = resolve_endpoint(settings, agent_secrets, environment_keys)
        client = self._clients.get(endpoint)
        if client is None:
            making = self._making.get(endpoint)
            if making is None:
                making = self._making[endpoint] = asyncio.create_task(self._make(endpoint))
            client = await asyncio.shield(making)
        return client

    async def _make(self, endpoint: Endpoint) -> ModelClient:
        try:
            await self.load((endpoint.api,))
            client = self._clients[endpoint] = await asyncio.to_thread(_construct, endpoint)
            return client
        finally:
            del self._making[endpoint]

    async def close(self) -> None:
        pending = [*self._making.values(), *self._imports.values()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)  # none adds a client after this
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()


def resolve_endpoint(
    settings: ModelSettings, agent_secrets: Mapping[str, str], environment_keys: Mapping[str, SecretStr]
) -> Endpoint:
    """How to reach an agent's model: its own secret first, then the gateway's environment."""
    names = key_names(settings.provider)
    api_key = next((agent_secrets[n] for n in names if agent_secrets.get(n)), None)
    if api_key is None:
        api_key = next((environment_keys[n].get_secret_value() for n in names if n in environment_keys), None)
    if not api_key:
        raise MissingApiKey(
            f"No API key for provider {settings.provider}: set the agent secret {names[0]} "
            f"(hermit config secrets set {names[0]} ...) or the gateway environment variable {names[0]}."
        )
    known = PROVIDERS.get(settings.provider)
    api = api_for(settings.provider, settings.api)
    base_url = settings.base_url or (known.base_url if known else None)
    if base_url is None:
        raise MissingApiKey(f"Provider {settings.provider} is unknown: set model.base_url and model.api.")
    return Endpoint(
        api=api,
        provider=settings.provider,
        model=settings.model,
        api_key=api_key,
        base_url=base_url,
        headers=tuple(sorted((known.headers if known else {}).items())),
        timeout=settings.timeout_seconds,
        max_retries=settings.max_retries,
    )


def _construct(endpoint: Endpoint) -> ModelClient:
    module, name = _client_of(endpoint.api)
    client: ModelClient = getattr(importlib.import_module(module), name)(endpoint)
    return client
