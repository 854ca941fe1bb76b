"""Known providers, their endpoints and key variables, and building a client for an agent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import SecretStr

from openhermit.protocol.agent_config import ModelSettings
from openhermit.runtime.models.base import Endpoint, ModelClient

OPENAI_COMPLETIONS = "openai-completions"
ANTHROPIC_MESSAGES = "anthropic-messages"


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


class ModelClients:
    """Clients (and their connection pools) shared by every turn that uses the same endpoint and key."""

    def __init__(self) -> None:
        self._clients: dict[Endpoint, ModelClient] = {}

    def get(
        self,
        settings: ModelSettings,
        agent_secrets: Mapping[str, str],
        environment_keys: Mapping[str, SecretStr],
    ) -> ModelClient:
        endpoint = resolve_endpoint(settings, agent_secrets, environment_keys)
        client = self._clients.get(endpoint)
        if client is None:
            client = self._clients[endpoint] = _construct(endpoint)
        return client

    async def close(self) -> None:
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
    api = settings.api or (known.api if known else OPENAI_COMPLETIONS)
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
    # Each vendor SDK is imported on first use: a gateway that talks to one kind of endpoint
    # does not carry the other SDK (about 40 MB of memory and a second of start-up each).
    if endpoint.api == ANTHROPIC_MESSAGES:
        from openhermit.runtime.models.anthropic_client import AnthropicClient

        return AnthropicClient(endpoint)
    from openhermit.runtime.models.openai_client import OpenAIChatClient

    return OpenAIChatClient(endpoint)
