"""The policy engine: who may use a tool, an MCP server, a file path or a command.

Rows (`agent_policies`) carry an effect (`allow`, `deny`, `require_approval`) and grants
(`{type: any}`, `{type: role, value}`, `{type: user, value}`). For one resource:

- no matching rows → the default (a tool's default grants act as one `allow` row);
- rows whose grants do not include the principal are ignored;
- any `deny` → deny; else any `require_approval` → require approval; else any `allow` → allow;
- rows exist but none apply to the principal → deny;
- beyond the original: rows that grant this user by id outrank the rest, so a persistent
  approval (an `allow` for that user) lets them through a `require_approval` for everyone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Decision = Literal["allow", "deny", "require_approval"]
EFFECTS: tuple[Decision, ...] = ("deny", "require_approval", "allow")
MUTATING_TOOLS = ("exec", "file_write", "file_edit", "file_delete")


@dataclass(frozen=True)
class Principal:
    user_id: str | None
    role: str | None  # owner | user | guest | None (unknown); admin counts as owner
    system: bool = False  # introspection and other internal runs


@dataclass(frozen=True)
class Rule:
    resource_type: str
    resource_key: str
    effect: Decision
    grants: tuple[dict[str, Any], ...]
    scope: dict[str, Any] = field(default_factory=dict)


def grant_applies(grant: dict[str, Any], who: Principal) -> bool:
    kind = grant.get("type")
    if kind == "any":
        return True
    if kind == "role":
        return who.role is not None and grant.get("value") == who.role
    if kind == "user":
        return who.user_id is not None and grant.get("value") == who.user_id
    return False


def evaluate(who: Principal, matches: Sequence[Rule], default: Decision = "allow") -> Decision:
    if not matches:
        return default
    # Rules naming this user (persistent approvals write those) outrank role and `any` rules.
    personal = [
        r for r in matches if any(g.get("type") == "user" and grant_applies(g, who) for g in r.grants)
    ]
    chosen = personal or [r for r in matches if any(grant_applies(g, who) for g in r.grants)]
    applicable = {rule.effect for rule in chosen}
    for effect in EFFECTS:
        if effect in applicable:
            return effect
    return "deny"


def role_grants(roles: Iterable[str]) -> tuple[dict[str, Any], ...]:
    return tuple({"type": "role", "value": role} for role in roles)


def legacy_rules(security: dict[str, Any]) -> list[Rule]:
    """`autonomy_level` and `require_approval_for` of old security objects, as rows."""
    rules = [
        Rule("tool", name, "require_approval", ({"type": "any"},))
        for name in security.get("require_approval_for") or []
        if isinstance(name, str)
    ]
    level = security.get("autonomy_level")
    if level == "readonly":
        rules += [Rule("tool", name, "deny", ({"type": "any"},)) for name in MUTATING_TOOLS]
    elif level == "supervised":
        rules += [Rule("tool", name, "require_approval", ({"type": "any"},)) for name in MUTATING_TOOLS]
    return rules


def tool_matches(rules: Sequence[Rule], tool: str, default_grants: Sequence[str]) -> list[Rule]:
    """Rows for the tool (exact, then `prefix*` for effects the exact rows leave open);
    without any, the tool's default grants as one `allow` row."""
    exact = [r for r in rules if r.resource_type == "tool" and r.resource_key == tool]
    covered = {r.effect for r in exact}
    prefixed = [
        r
        for r in rules
        if r.resource_type == "tool"
        and r.resource_key.endswith("*")
        and tool.startswith(r.resource_key[:-1])
        and r.effect not in covered
    ]
    if tool.startswith("mcp__"):
        server = tool.split("__")[1] if tool.count("__") >= 2 else ""
        prefixed += [r for r in rules if r.resource_type == "mcp" and r.resource_key == server]
    found = exact + prefixed
    if found:
        return found
    return [Rule("tool", tool, "allow", role_grants(default_grants))] if default_grants else []


def tool_decision(
    who: Principal, rules: Sequence[Rule], tool: str, default_grants: Sequence[str]
) -> Decision:
    if who.system:
        return "allow"
    matches = tool_matches(rules, tool, default_grants)
    if not matches:
        return "deny"  # no default grants: system-only tools
    return evaluate(who, matches)


def file_decision(who: Principal, rules: Sequence[Rule], *, sandbox: str, mode: str, path: str) -> Decision:
    """File rows: scope `{sandbox: "*"|alias, mode: read|write|*, path: prefix}`; per effect the
    longest matching prefix counts."""
    best: dict[str, tuple[int, Rule]] = {}
    for rule in rules:
        if rule.resource_type != "file":
            continue
        scope = rule.scope
        if scope.get("sandbox", "*") not in ("*", sandbox) or scope.get("mode", "*") not in ("*", mode):
            continue
        prefix = str(scope.get("path", rule.resource_key))
        if not path.startswith(prefix):
            continue
        if rule.effect not in best or len(prefix) > best[rule.effect][0]:
            best[rule.effect] = (len(prefix), rule)
    return evaluate(who, [rule for _, rule in best.values()])


def normalize_command(command: str) -> str:
    return " ".join(command.split())


def exec_decision(
    who: Principal, rules: Sequence[Rule], *, sandbox: str, command: str, cwd: str | None
) -> Decision:
    """Exec rows: scope `{sandbox, command: exact (normalised) or "*", cwd?}`; when exec rows
    exist, a command none of them names is denied."""
    exec_rules = [r for r in rules if r.resource_type == "exec"]
    if not exec_rules:
        return "allow"
    wanted = normalize_command(command)
    matches = [
        r
        for r in exec_rules
        if r.scope.get("sandbox", "*") in ("*", sandbox)
        and r.scope.get("command", r.resource_key) in ("*", wanted)
        and (r.scope.get("cwd") in (None, "*") or r.scope.get("cwd") == cwd)
    ]
    return evaluate(who, matches, default="deny")
