"""The gateway client: async (`AsyncGatewayClient`) and blocking (`GatewayClient`).

    async with AsyncGatewayClient("http://127.0.0.1:4000", token=admin_token) as gw:
        await gw.create_agent("main")
        await gw.open_session("main", "api:hello")
        reply = await gw.send("main", "api:hello", "Hello!", wait=True)

Message posts always carry a `messageId` (generated when not given), so a retry after a
network error never runs a turn twice.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from openhermit.sdk.errors import GatewayError, GatewayUnreachable, error_for
from openhermit.sdk.sse import Frame, frames

T = TypeVar("T")
RETRIES = 2


def _q(segment: str) -> str:
    return quote(segment, safe="")


class AsyncGatewayClient:
    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        channel_user_id: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if channel_user_id:
            headers["x-channel-user-id"] = channel_user_id
        self._http = httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=timeout)

    async def __aenter__(self) -> AsyncGatewayClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # Transport -----------------------------------------------------------------------------
    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        read_timeout: float | None = None,
        retry: bool = False,
    ) -> Any:
        """Send a request; the JSON answer, or a typed `GatewayError`. `retry` only for idempotent calls."""
        attempts = RETRIES + 1 if retry else 1
        for attempt in range(attempts):
            try:
                kwargs: dict[str, Any] = {"json": json, "params": params}
                if read_timeout is not None:
                    kwargs["timeout"] = read_timeout
                response = await self._http.request(method, path, **kwargs)
                break
            except httpx.TransportError as exc:
                if attempt + 1 >= attempts:
                    raise GatewayUnreachable(self.base_url, type(exc).__name__) from None
                await asyncio.sleep(0.2 * (attempt + 1))
        return self._decode(response)

    @staticmethod
    def _decode(response: httpx.Response) -> Any:
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        if response.status_code >= 400:
            raise error_for(response.status_code, body)
        return body

    # Gateway -------------------------------------------------------------------------------
    async def health(self) -> Any:
        return await self.request("GET", "/health", retry=True)

    async def stats(self) -> Any:
        return await self.request("GET", "/api/admin/stats", retry=True)

    async def logs(self, lines: int = 200) -> Any:
        return await self.request("GET", "/api/admin/logs", params={"lines": lines}, retry=True)

    async def providers(self) -> Any:
        return await self.request("GET", "/api/providers", retry=True)

    # Agents --------------------------------------------------------------------------------
    async def list_agents(self) -> Any:
        return await self.request("GET", "/api/agents", retry=True)

    async def create_agent(self, agent_id: str, *, name: str | None = None, **extra: Any) -> Any:
        body = {"agentId": agent_id, **({"name": name} if name else {}), **extra}
        return await self.request("POST", "/api/agents", json=body)

    async def manage_agent(self, agent_id: str, action: str) -> Any:
        return await self.request("POST", f"/api/agents/{_q(agent_id)}/manage/{_q(action)}")

    async def agent_health(self, agent_id: str) -> Any:
        """Whether the agent is loaded in the gateway process that answers (no credentials needed)."""
        return await self.request("GET", f"/api/agents/{_q(agent_id)}/health", retry=True)

    async def agent_info(self, agent_id: str) -> Any:
        return await self.request("GET", f"/api/agents/{_q(agent_id)}/info", retry=True)

    async def get_config(self, agent_id: str) -> Any:
        return await self.request("GET", f"/api/agents/{_q(agent_id)}/config", retry=True)

    async def put_config(self, agent_id: str, config: dict[str, Any]) -> Any:
        return await self.request("PUT", f"/api/agents/{_q(agent_id)}/config", json=config, retry=True)

    async def list_secrets(self, agent_id: str) -> Any:
        return await self.request("GET", f"/api/agents/{_q(agent_id)}/secrets", retry=True)

    async def set_secret(
        self, agent_id: str, name: str, value: str | None, *, pass_through: bool | None = None
    ) -> Any:
        body: dict[str, Any] = {}
        if value is not None:
            body["value"] = value
        if pass_through is not None:
            body["passThrough"] = pass_through
        return await self.request(
            "PUT", f"/api/agents/{_q(agent_id)}/secrets/{_q(name)}", json=body, retry=True
        )

    async def remove_secret(self, agent_id: str, name: str) -> Any:
        return await self.request("DELETE", f"/api/agents/{_q(agent_id)}/secrets/{_q(name)}")

    async def list_instructions(self, agent_id: str) -> Any:
        return await self.request("GET", f"/api/agents/{_q(agent_id)}/instructions", retry=True)

    async def get_instruction(self, agent_id: str, key: str) -> Any:
        return await self.request("GET", f"/api/agents/{_q(agent_id)}/instructions/{_q(key)}", retry=True)

    async def set_instruction(self, agent_id: str, key: str, content: str) -> Any:
        path = f"/api/agents/{_q(agent_id)}/instructions/{_q(key)}"
        return await self.request("PUT", path, json={"content": content}, retry=True)

    async def remove_instruction(self, agent_id: str, key: str) -> Any:
        return await self.request("DELETE", f"/api/agents/{_q(agent_id)}/instructions/{_q(key)}")

    async def fanout_instruction(self, mode: str, key: str, content: str | None = None) -> Any:
        body = {"mode": mode, "key": key, **({"content": content} if content is not None else {})}
        return await self.request("POST", "/api/admin/instructions/fanout", json=body)

    # Skills --------------------------------------------------------------------------------
    async def list_skills(self) -> Any:
        return await self.request("GET", "/api/admin/skills", retry=True)

    async def scan_skills(self) -> Any:
        return await self.request("GET", "/api/admin/skills/scan", retry=True)

    async def skill_assignments(self) -> Any:
        return await self.request("GET", "/api/admin/skills/assignments", retry=True)

    async def get_skill(self, skill_id: str) -> Any:
        return await self.request("GET", f"/api/admin/skills/{_q(skill_id)}", retry=True)

    async def register_skill(self, skill_id: str, path: str, **fields: Any) -> Any:
        body = {"id": skill_id, "path": path, **{k: v for k, v in fields.items() if v is not None}}
        return await self.request("POST", "/api/admin/skills", json=body, retry=True)

    async def sync_skills(self, skill_id: str | None = None) -> Any:
        body = {"id": skill_id} if skill_id else {}
        return await self.request("POST", "/api/admin/skills/sync", json=body, retry=True)

    async def set_skill_enabled(self, skill_id: str, enabled: bool, agent_id: str = "*") -> Any:
        """Enable or disable a skill for one agent, or for every agent (`*`)."""
        on = f"/api/admin/skills/{_q(skill_id)}/enable"
        path = on if enabled else f"/api/admin/skills/{_q(skill_id)}/disable"
        return await self.request("POST", path, json={"agentId": agent_id}, retry=True)

    async def delete_skill(self, skill_id: str) -> Any:
        return await self.request("DELETE", f"/api/admin/skills/{_q(skill_id)}")

    async def agent_skills(self, agent_id: str) -> Any:
        return await self.request("GET", f"/api/agents/{_q(agent_id)}/skills", retry=True)

    async def set_agent_skill_enabled(self, agent_id: str, skill_id: str, enabled: bool) -> Any:
        """The owner's switch: enable or disable a skill for their agent."""
        on = f"/api/agents/{_q(agent_id)}/skills/{_q(skill_id)}/enable"
        path = on if enabled else f"/api/agents/{_q(agent_id)}/skills/{_q(skill_id)}/disable"
        return await self.request("POST", path, retry=True)

    # MCP servers ---------------------------------------------------------------------------
    async def list_mcp_servers(self) -> Any:
        return await self.request("GET", "/api/admin/mcp-servers", retry=True)

    async def mcp_assignments(self) -> Any:
        return await self.request("GET", "/api/admin/mcp-servers/assignments", retry=True)

    async def get_mcp_server(self, server_id: str) -> Any:
        return await self.request("GET", f"/api/admin/mcp-servers/{_q(server_id)}", retry=True)

    async def put_mcp_server(self, definition: dict[str, Any]) -> Any:
        """Create or replace a registry entry: `{id, name, url, headers}` (HTTP) or
        `{id, name, command, args, env}` (stdio)."""
        return await self.request("POST", "/api/admin/mcp-servers", json=definition, retry=True)

    async def set_mcp_server_enabled(self, server_id: str, enabled: bool, agent_id: str = "*") -> Any:
        on = f"/api/admin/mcp-servers/{_q(server_id)}/enable"
        path = on if enabled else f"/api/admin/mcp-servers/{_q(server_id)}/disable"
        return await self.request("POST", path, json={"agentId": agent_id}, retry=True)

    async def delete_mcp_server(self, server_id: str) -> Any:
        return await self.request("DELETE", f"/api/admin/mcp-servers/{_q(server_id)}")

    async def agent_mcp_servers(self, agent_id: str) -> Any:
        """The agent's enabled servers with connection status (header values never included)."""
        return await self.request("GET", f"/api/agents/{_q(agent_id)}/mcp-servers", retry=True)

    async def set_agent_mcp_server_enabled(self, agent_id: str, server_id: str, enabled: bool) -> Any:
        on = f"/api/agents/{_q(agent_id)}/mcp-servers/{_q(server_id)}/enable"
        path = on if enabled else f"/api/agents/{_q(agent_id)}/mcp-servers/{_q(server_id)}/disable"
        return await self.request("POST", path, retry=True)

    # Sessions ------------------------------------------------------------------------------
    async def open_session(
        self, agent_id: str, session_id: str, *, kind: str = "api", interactive: bool = True, **extra: Any
    ) -> Any:
        spec = {"sessionId": session_id, "source": {"kind": kind, "interactive": interactive}, **extra}
        return await self.request("POST", f"/api/agents/{_q(agent_id)}/sessions", json=spec, retry=True)

    async def list_sessions(self, agent_id: str, **filters: Any) -> Any:
        return await self.request(
            "GET", f"/api/agents/{_q(agent_id)}/sessions", params=filters or None, retry=True
        )

    async def history(self, agent_id: str, session_id: str) -> Any:
        return await self.request(
            "GET", f"/api/agents/{_q(agent_id)}/sessions/{_q(session_id)}/messages", retry=True
        )

    async def send(
        self,
        agent_id: str,
        session_id: str,
        text: str,
        *,
        wait: bool = False,
        timeout_ms: int = 300_000,
        message_id: str | None = None,
        **extra: Any,
    ) -> Any:
        """Post a message (fire-and-forget, or `wait` for the answer). Safe to retry."""
        body = {"text": text, "messageId": message_id or f"sdk-{uuid.uuid4().hex}", **extra}
        params = {"wait": "true", "timeout": str(timeout_ms)} if wait else None
        path = f"/api/agents/{_q(agent_id)}/sessions/{_q(session_id)}/messages"
        return await self.request(
            "POST",
            path,
            json=body,
            params=params,
            retry=True,
            read_timeout=timeout_ms / 1000 + 10 if wait else None,
        )

    async def stream(
        self, agent_id: str, session_id: str, text: str, *, message_id: str | None = None, **extra: Any
    ) -> AsyncIterator[Frame]:
        """Post a message and yield its SSE frames until `agent_end`."""
        body = {"text": text, "messageId": message_id or f"sdk-{uuid.uuid4().hex}", **extra}
        path = f"/api/agents/{_q(agent_id)}/sessions/{_q(session_id)}/messages"
        async with self._http.stream(
            "POST", path, json=body, params={"stream": "true"}, timeout=None
        ) as response:
            if response.status_code >= 400:
                await response.aread()
                raise self._error(response)
            if not response.headers.get("content-type", "").startswith("text/event-stream"):
                await response.aread()
                yield Frame("result", response.json())
                return
            async for frame in frames(response.aiter_lines()):
                yield frame
                if frame.event == "agent_end":
                    return

    async def events(
        self, agent_id: str, session_id: str, *, after: int | None = None
    ) -> AsyncIterator[Frame]:
        """Follow a session's events forever, reconnecting with `Last-Event-ID` when cut off."""
        last = after
        path = f"/api/agents/{_q(agent_id)}/sessions/{_q(session_id)}/events"
        while True:
            headers = {"Last-Event-ID": str(last)} if last is not None else {}
            try:
                async with self._http.stream("GET", path, headers=headers, timeout=None) as response:
                    if response.status_code >= 400:
                        await response.aread()
                        raise self._error(response)
                    async for frame in frames(response.aiter_lines()):
                        if frame.id is not None and frame.event not in ("text_delta", "thinking_delta"):
                            last = int(frame.id)
                        yield frame
            except httpx.TransportError:
                await asyncio.sleep(0.5)

    def _error(self, response: httpx.Response) -> GatewayError:
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        return error_for(response.status_code, body)

    # Security, policies, approvals, members ---------------------------------------------------
    async def get_security(self, agent_id: str) -> Any:
        return await self.request("GET", f"/api/agents/{_q(agent_id)}/security", retry=True)

    async def put_security(self, agent_id: str, security: dict[str, Any]) -> Any:
        return await self.request("PUT", f"/api/agents/{_q(agent_id)}/security", json=security, retry=True)

    async def list_policies(self, agent_id: str, resource_type: str | None = None) -> Any:
        params = {"resourceType": resource_type} if resource_type else None
        return await self.request("GET", f"/api/agents/{_q(agent_id)}/policies", params=params, retry=True)

    async def set_policy(self, agent_id: str, rule: dict[str, Any]) -> Any:
        return await self.request("POST", f"/api/agents/{_q(agent_id)}/policies", json=rule, retry=True)

    async def delete_policy(
        self, agent_id: str, resource_type: str, resource_key: str, effect: str | None = None
    ) -> Any:
        path = f"/api/agents/{_q(agent_id)}/policies/{_q(resource_type)}/{_q(resource_key)}"
        return await self.request("DELETE", path, params={"effect": effect} if effect else None)

    # Schedules ----------------------------------------------------------------------------
    async def list_schedules(self, agent_id: str | None = None, status: str | None = None) -> Any:
        """An agent's schedules; with no agent, every schedule (admin)."""
        params = {"status": status} if status else None
        path = f"/api/agents/{_q(agent_id)}/schedules" if agent_id else "/api/admin/schedules"
        return await self.request("GET", path, params=params, retry=True)

    async def create_schedule(self, agent_id: str, schedule: dict[str, Any]) -> Any:
        """`{type: cron|once, prompt, cronExpression?, timezone?, runAt?, id?, sessionMode?,
        delivery?, policy?, createdBy?}`."""
        return await self.request("POST", f"/api/agents/{_q(agent_id)}/schedules", json=schedule)

    async def update_schedule(self, agent_id: str, schedule_id: str, changes: dict[str, Any]) -> Any:
        path = f"/api/agents/{_q(agent_id)}/schedules/{_q(schedule_id)}"
        return await self.request("PUT", path, json=changes, retry=True)

    async def delete_schedule(self, agent_id: str, schedule_id: str) -> Any:
        return await self.request("DELETE", f"/api/agents/{_q(agent_id)}/schedules/{_q(schedule_id)}")

    async def trigger_schedule(self, agent_id: str, schedule_id: str) -> Any:
        path = f"/api/agents/{_q(agent_id)}/schedules/{_q(schedule_id)}/trigger"
        return await self.request("POST", path)

    async def schedule_runs(self, agent_id: str, schedule_id: str, limit: int = 20) -> Any:
        path = f"/api/agents/{_q(agent_id)}/schedules/{_q(schedule_id)}/runs"
        return await self.request("GET", path, params={"limit": limit}, retry=True)

    async def list_sandboxes(self, agent_id: str) -> Any:
        return await self.request("GET", f"/api/agents/{_q(agent_id)}/sandboxes", retry=True)

    async def get_sandbox(self, agent_id: str, alias: str) -> Any:
        return await self.request("GET", f"/api/agents/{_q(agent_id)}/sandboxes/{_q(alias)}", retry=True)

    async def create_sandbox(
        self,
        agent_id: str,
        *,
        alias: str | None = None,
        preset: str | None = None,
        type: str | None = None,
        config: dict[str, Any] | None = None,
    ) -> Any:
        """`preset`, or `type` (+ `config`); with neither, the gateway's default preset."""
        body = {"alias": alias, "preset": preset, "type": type, "config": config}
        body = {k: v for k, v in body.items() if v is not None}
        return await self.request("POST", f"/api/agents/{_q(agent_id)}/sandboxes", json=body)

    async def delete_sandbox(self, agent_id: str, alias: str) -> Any:
        return await self.request("DELETE", f"/api/agents/{_q(agent_id)}/sandboxes/{_q(alias)}")

    async def sandbox_presets(self) -> Any:
        return await self.request("GET", "/api/sandbox-presets", retry=True)

    async def set_sandbox_presets(self, presets: dict[str, Any]) -> Any:
        return await self.request("PUT", "/api/sandbox-presets", json=presets, retry=True)

    async def admin_sandboxes(self) -> Any:
        return await self.request("GET", "/api/admin/sandboxes", retry=True)

    async def list_approvals(self, agent_id: str, status: str | None = None) -> Any:
        params = {"status": status} if status else None
        return await self.request("GET", f"/api/agents/{_q(agent_id)}/approvals", params=params, retry=True)

    async def review_approval(
        self,
        agent_id: str,
        request: str,
        decision: str,
        *,
        resolution: str = "once",
        reason: str | None = None,
    ) -> Any:
        """Review by request id, or by short number (`12` or `#12`)."""
        body = {"decision": decision, "resolution": resolution, **({"reason": reason} if reason else {})}
        short = request.lstrip("#")
        path = (
            f"/api/agents/{_q(agent_id)}/approvals/by-short/{short}/review"
            if short.isdigit()
            else f"/api/agents/{_q(agent_id)}/approvals/{_q(request)}/review"
        )
        return await self.request("POST", path, json=body)

    async def list_members(self, agent_id: str) -> Any:
        return await self.request("GET", f"/api/agents/{_q(agent_id)}/members", retry=True)

    async def add_member(self, agent_id: str, **member: Any) -> Any:
        return await self.request("POST", f"/api/agents/{_q(agent_id)}/members", json=member)

    async def ownership(self, agent_id: str) -> Any:
        return await self.request("GET", f"/api/agents/{_q(agent_id)}/ownership", retry=True)

    async def register_user(self, channel: str, channel_user_id: str, display_name: str | None = None) -> Any:
        body = {
            "channel": channel,
            "channelUserId": channel_user_id,
            **({"displayName": display_name} if display_name else {}),
        }
        return await self.request("POST", "/api/users", json=body, retry=True)

    async def issue_token(self, channel: str, channel_user_id: str, **options: Any) -> Any:
        body = {"channel": channel, "channelUserId": channel_user_id, **options}
        return await self.request("POST", "/api/admin/auth/issue-token", json=body)

    async def get_approval(self, agent_id: str, request_id: str) -> Any:
        return await self.request("GET", f"/api/agents/{_q(agent_id)}/approvals/{_q(request_id)}", retry=True)

    async def remove_member(self, agent_id: str, user_id: str) -> Any:
        return await self.request("DELETE", f"/api/agents/{_q(agent_id)}/members/{_q(user_id)}")

    async def promote_to_owner(self, agent_id: str, user_id: str) -> Any:
        return await self.request("POST", f"/api/agents/{_q(agent_id)}/users/{_q(user_id)}/promote-to-owner")

    # Channels ------------------------------------------------------------------------------
    async def list_channels(self, agent_id: str) -> Any:
        return await self.request("GET", f"/api/agents/{_q(agent_id)}/channels", retry=True)

    async def create_channel(self, agent_id: str, namespace: str, *, label: str | None = None) -> Any:
        """An external channel; the answer holds its token, shown only this once."""
        body = {"namespace": namespace, **({"label": label} if label else {})}
        return await self.request("POST", f"/api/agents/{_q(agent_id)}/channels", json=body)

    async def revoke_channel(self, agent_id: str, channel_id: str) -> Any:
        return await self.request("DELETE", f"/api/agents/{_q(agent_id)}/channels/{_q(channel_id)}")

    # People and tokens ---------------------------------------------------------------------
    async def device_login(self, device_key: str, display_name: str | None = None) -> Any:
        body = {
            "grant_type": "device-key",
            "device_key": device_key,
            **({"display_name": display_name} if display_name else {}),
        }
        return await self.request("POST", "/api/auth/token", json=body)

    async def exchange(self, token: str) -> Any:
        return await self.request("POST", "/api/auth/exchange", json={"token": token})

    async def my_agents(self) -> Any:
        return await self.request("GET", "/api/users/me/agents", retry=True)

    async def list_users(self) -> Any:
        return await self.request("GET", "/api/admin/users", retry=True)

    async def user_identities(self, user_id: str) -> Any:
        return await self.request("GET", f"/api/admin/users/{_q(user_id)}/identities", retry=True)

    async def link_identity(self, user_id: str, channel: str, channel_user_id: str) -> Any:
        body = {"channel": channel, "channelUserId": channel_user_id}
        return await self.request("POST", f"/api/admin/users/{_q(user_id)}/identities", json=body, retry=True)

    async def user_agents(self, user_id: str) -> Any:
        return await self.request("GET", f"/api/admin/users/{_q(user_id)}/agents", retry=True)

    # Fleet ---------------------------------------------------------------------------------
    async def fleet(self) -> Any:
        return await self.request("GET", "/api/admin/agents/fleet", retry=True)

    async def agent_usage(self, agent_id: str) -> Any:
        return await self.request("GET", f"/api/admin/agents/{_q(agent_id)}/usage", retry=True)

    # Session control -----------------------------------------------------------------------
    async def append(
        self, agent_id: str, session_id: str, text: str, *, message_id: str | None = None, **extra: Any
    ) -> Any:
        """Store a message without running the model (`?append=true`)."""
        body = {"text": text, "messageId": message_id or f"sdk-{uuid.uuid4().hex}", **extra}
        path = f"/api/agents/{_q(agent_id)}/sessions/{_q(session_id)}/messages"
        return await self.request("POST", path, json=body, params={"append": "true"}, retry=True)

    async def checkpoint(self, agent_id: str, session_id: str, reason: str = "manual") -> Any:
        path = f"/api/agents/{_q(agent_id)}/sessions/{_q(session_id)}/checkpoint"
        return await self.request("POST", path, json={"reason": reason})

    async def delete_session(self, agent_id: str, session_id: str) -> Any:
        return await self.request("DELETE", f"/api/agents/{_q(agent_id)}/sessions/{_q(session_id)}")

    async def approve(self, agent_id: str, session_id: str, tool_call_id: str, approved: bool) -> Any:
        path = f"/api/agents/{_q(agent_id)}/sessions/{_q(session_id)}/approve"
        return await self.request("POST", path, json={"toolCallId": tool_call_id, "approved": approved})

    async def interrupt(self, agent_id: str, session_id: str) -> Any:
        return await self.request("POST", f"/api/agents/{_q(agent_id)}/sessions/{_q(session_id)}/interrupt")

    # Attachments ---------------------------------------------------------------------------
    async def _send_raw(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise GatewayUnreachable(self.base_url, type(exc).__name__) from None
        if response.status_code >= 400:
            self._decode(response)  # raises the typed error
        return response

    async def upload_attachment(
        self,
        agent_id: str,
        session_id: str,
        data: bytes,
        filename: str,
        *,
        mime_type: str = "application/octet-stream",
    ) -> Any:
        """Upload a file (multipart field `file`); the `{attachment}` answer."""
        path = f"/api/agents/{_q(agent_id)}/sessions/{_q(session_id)}/attachments"
        response = await self._send_raw("POST", path, files={"file": (filename, data, mime_type)})
        return response.json()

    async def list_attachments(self, agent_id: str, session_id: str, *, scope: str | None = None) -> Any:
        path = f"/api/agents/{_q(agent_id)}/sessions/{_q(session_id)}/attachments"
        return await self.request("GET", path, params={"scope": scope} if scope else None, retry=True)

    async def get_attachment(self, agent_id: str, session_id: str, attachment_id: str) -> Any:
        path = f"/api/agents/{_q(agent_id)}/sessions/{_q(session_id)}/attachments/{_q(attachment_id)}"
        return await self.request("GET", path, retry=True)

    async def attachment_bytes(self, agent_id: str, session_id: str, attachment_id: str) -> bytes:
        """The stored bytes of an attachment."""
        path = f"/api/agents/{_q(agent_id)}/sessions/{_q(session_id)}/attachments/{_q(attachment_id)}/bytes"
        return (await self._send_raw("GET", path)).content


class GatewayClient:
    """The same methods, blocking: each call runs on a private event loop thread.

    Streaming methods (`stream`, `events`) return ordinary iterators.
    """

    def __init__(self, base_url: str, token: str | None = None, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="openhermit-sdk", daemon=True)
        self._thread.start()
        self._async = self._run(self._make(base_url, token, options))

    async def _make(self, base_url: str, token: str | None, options: dict[str, Any]) -> AsyncGatewayClient:
        return AsyncGatewayClient(base_url, token, **options)

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        target = getattr(self._async, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            result = target(*args, **kwargs)
            if hasattr(result, "__anext__"):
                return self._iterate(result)
            return self._run(result)

        return call

    def _iterate(self, iterator: AsyncIterator[T]) -> Iterator[T]:
        while True:
            try:
                yield self._run(iterator.__anext__())
            except StopAsyncIteration:
                return

    def close(self) -> None:
        self._run(self._async.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
