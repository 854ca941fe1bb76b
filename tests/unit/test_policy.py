from __future__ import annotations

from openhermit.runtime.policy import (
    Principal,
    Rule,
    evaluate,
    exec_decision,
    file_decision,
    legacy_rules,
    tool_decision,
)

OWNER = Principal("u-owner", "owner")
GUEST = Principal("u-guest", "guest")
ANY = ({"type": "any"},)


def test_evaluate_order_and_unmatched_grants() -> None:
    assert evaluate(GUEST, []) == "allow"
    allow_owner = Rule("tool", "x", "allow", ({"type": "role", "value": "owner"},))
    assert evaluate(OWNER, [allow_owner]) == "allow"
    assert evaluate(GUEST, [allow_owner]) == "deny"  # rules exist, none apply
    deny_any = Rule("tool", "x", "deny", ANY)
    approve_any = Rule("tool", "x", "require_approval", ANY)
    assert evaluate(OWNER, [allow_owner, approve_any]) == "require_approval"
    assert evaluate(OWNER, [allow_owner, approve_any, deny_any]) == "deny"
    by_user = Rule("tool", "x", "allow", ({"type": "user", "value": "u-guest"},))
    assert evaluate(GUEST, [by_user]) == "allow"
    # A rule naming the user outranks rules for everyone (persistent approvals rely on it).
    assert evaluate(GUEST, [approve_any, by_user]) == "allow"
    assert evaluate(OWNER, [approve_any, by_user]) == "require_approval"


def test_tool_default_grants_and_overrides() -> None:
    assert tool_decision(GUEST, [], "exec", ("owner",)) == "deny"
    assert tool_decision(OWNER, [], "exec", ("owner",)) == "allow"
    assert tool_decision(GUEST, [], "working_memory_update", ()) == "deny"  # system-only
    assert tool_decision(Principal(None, None, system=True), [], "working_memory_update", ()) == "allow"
    grant_guest = Rule("tool", "exec", "allow", ({"type": "role", "value": "guest"},))
    assert tool_decision(GUEST, [grant_guest], "exec", ("owner",)) == "allow"
    assert tool_decision(OWNER, [grant_guest], "exec", ("owner",)) == "deny"  # rows replace the defaults


def test_prefix_rules_only_fill_effects_exact_rows_leave_open() -> None:
    prefix_deny = Rule("tool", "memory_*", "deny", ANY)
    assert tool_decision(OWNER, [prefix_deny], "memory_add", ("owner",)) == "deny"
    exact_allow = Rule("tool", "memory_add", "allow", ANY)
    assert tool_decision(OWNER, [prefix_deny, exact_allow], "memory_add", ("owner",)) == "deny"
    exact_deny = Rule("tool", "memory_add", "deny", ({"type": "role", "value": "guest"},))
    assert tool_decision(OWNER, [prefix_deny, exact_deny, exact_allow], "memory_add", ()) == "allow"


def test_mcp_server_rules_cover_its_tools() -> None:
    rule = Rule("mcp", "github", "deny", ({"type": "role", "value": "guest"},))
    assert tool_decision(GUEST, [rule], "mcp__github__create_issue", ("owner", "user", "guest")) == "deny"
    assert tool_decision(GUEST, [rule], "mcp__jira__create_issue", ("owner", "user", "guest")) == "allow"


def test_file_scopes_longest_prefix_per_effect() -> None:
    rules = [
        Rule("file", "/w", "allow", ANY, {"sandbox": "*", "mode": "*", "path": "/w"}),
        Rule(
            "file",
            "/w/secret",
            "deny",
            ({"type": "role", "value": "guest"},),
            {"sandbox": "*", "mode": "read", "path": "/w/secret"},
        ),
    ]
    assert file_decision(GUEST, rules, sandbox="default", mode="read", path="/w/notes.txt") == "allow"
    assert file_decision(GUEST, rules, sandbox="default", mode="read", path="/w/secret/key") == "deny"
    assert file_decision(OWNER, rules, sandbox="default", mode="read", path="/w/secret/key") == "allow"
    assert file_decision(GUEST, rules, sandbox="default", mode="write", path="/w/secret/key") == "allow"
    assert file_decision(GUEST, rules, sandbox="default", mode="read", path="/etc/passwd") == "allow"


def test_exec_rules_default_to_deny_when_present() -> None:
    assert exec_decision(GUEST, [], sandbox="default", command="ls", cwd=None) == "allow"
    rules = [Rule("exec", "git  status", "allow", ANY, {"sandbox": "*", "command": "git status"})]
    assert exec_decision(GUEST, rules, sandbox="default", command="git   status", cwd=None) == "allow"
    assert exec_decision(GUEST, rules, sandbox="default", command="rm -rf /", cwd=None) == "deny"
    star = [Rule("exec", "*", "require_approval", ANY, {"sandbox": "*", "command": "*"})]
    assert exec_decision(GUEST, star, sandbox="default", command="anything", cwd="/w") == "require_approval"


def test_legacy_security_settings() -> None:
    rules = legacy_rules({"autonomy_level": "readonly", "require_approval_for": ["memory_add"]})
    assert tool_decision(OWNER, rules, "exec", ("owner",)) == "deny"
    assert tool_decision(OWNER, rules, "memory_add", ("owner",)) == "require_approval"
    supervised = legacy_rules({"autonomy_level": "supervised"})
    assert tool_decision(OWNER, supervised, "file_write", ("owner",)) == "require_approval"
    assert legacy_rules({"autonomy_level": "full"}) == []
