"""People tools: users, identities, roles, merges, and cross-channel identity linking."""

from __future__ import annotations

import secrets as random
import time

from pydantic import Field

from openhermit.protocol.users import Role
from openhermit.runtime.tools.base import ANY, OWNER, Tool, ToolContext, ToolFailed, ToolInput, ToolOutcome
from openhermit.store.repos import meta, users

LINK_TTL_SECONDS = 600
LINK_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 symbols: 8 of them ≈ 40 bits


class UserList(Tool):
    name = "user_list"
    description = "List the members of this agent with their roles and identities."
    default_grants = OWNER

    class Input(ToolInput):
        pass

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        async with ctx.db.transaction() as tx:
            found = await users.members(tx, ctx.agent_id)
        lines = [
            f"- {m.user_id} ({m.role}) {m.display_name or ''}: "
            + ", ".join(f"{i.channel}:{i.channel_user_id}" for i in m.identities)
            for m in found
        ]
        return ToolOutcome(text="\n".join(lines) or "No members.", details={"count": len(found)})


class UserIdentityLink(Tool):
    name = "user_identity_link"
    description = "Attach a channel identity (channel, channel_user_id) to a user."
    default_grants = OWNER

    class Input(ToolInput):
        user_id: str = Field(min_length=1)
        channel: str = Field(min_length=1)
        channel_user_id: str = Field(min_length=1)

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        async with ctx.db.transaction() as tx:
            if await users.get_user(tx, args.user_id) is None:
                raise ToolFailed(f"User {args.user_id} not found.")
            await users.link_identity(tx, args.user_id, args.channel, args.channel_user_id)
        return ToolOutcome(text=f"Linked {args.channel}:{args.channel_user_id} to {args.user_id}.")


class UserIdentityUnlink(Tool):
    name = "user_identity_unlink"
    description = "Detach a channel identity from whoever holds it."
    default_grants = OWNER

    class Input(ToolInput):
        channel: str = Field(min_length=1)
        channel_user_id: str = Field(min_length=1)

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        async with ctx.db.transaction() as tx:
            if not await users.unlink_identity(tx, args.channel, args.channel_user_id):
                raise ToolFailed("No such identity.")
        return ToolOutcome(text=f"Unlinked {args.channel}:{args.channel_user_id}.")


class UserRoleSet(Tool):
    name = "user_role_set"
    description = "Set a member's role on this agent (user or guest; owners are promoted by an admin)."
    default_grants = OWNER

    class Input(ToolInput):
        user_id: str = Field(min_length=1)
        role: Role

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        if args.role == "owner":
            raise ToolFailed("The owner role is granted by an admin (promote-to-owner).")
        async with ctx.db.transaction() as tx:
            if await users.get_user(tx, args.user_id) is None:
                raise ToolFailed(f"User {args.user_id} not found.")
            await users.set_role(tx, args.user_id, ctx.agent_id, args.role)
        return ToolOutcome(text=f"{args.user_id} is now {args.role}.")


class UserMerge(Tool):
    name = "user_merge"
    description = (
        "Merge one user into another: identities, memberships and history move; the first is deleted."
    )
    default_grants = OWNER

    class Input(ToolInput):
        from_user_id: str = Field(min_length=1)
        into_user_id: str = Field(min_length=1)

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        if args.from_user_id == args.into_user_id:
            raise ToolFailed("A user cannot be merged into itself.")
        async with ctx.db.transaction() as tx:
            for user_id in (args.from_user_id, args.into_user_id):
                if await users.get_user(tx, user_id) is None:
                    raise ToolFailed(f"User {user_id} not found.")
            await users.merge(tx, args.from_user_id, args.into_user_id)
        return ToolOutcome(text=f"Merged {args.from_user_id} into {args.into_user_id}.")


class IdentityLinkRequest(Tool):
    name = "identity_link_request"
    description = "Get a one-time code (10 minutes) to link this chat identity with another channel."
    default_grants = ANY

    class Input(ToolInput):
        pass

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        if ctx.user_id is None or ctx.channel is None:
            raise ToolFailed("Identity linking needs a known user on a channel.")
        code = "".join(random.choice(LINK_ALPHABET) for _ in range(8))
        async with ctx.db.transaction() as tx:
            await meta.put_meta(
                tx,
                f"identity_link:{code}",
                {"userId": ctx.user_id, "channel": ctx.channel, "expiresAt": time.time() + LINK_TTL_SECONDS},
            )
        return ToolOutcome(text=f"Your code is {code}. Within 10 minutes, send it from your other channel.")


class IdentityLinkConfirm(Tool):
    name = "identity_link_confirm"
    description = "Link this channel identity to the user who requested the code."
    default_grants = ANY

    class Input(ToolInput):
        token: str = Field(min_length=8, max_length=8)

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        if ctx.channel is None or ctx.channel_user_id is None:
            raise ToolFailed("Identity linking needs a channel identity.")
        key = f"identity_link:{args.token.upper()}"
        async with ctx.db.transaction() as tx:
            found = await meta.take_meta(tx, key)
            if found is None or float(found.get("expiresAt", 0)) < time.time():
                raise ToolFailed("That code is unknown or expired.")
            if found.get("channel") == ctx.channel:
                raise ToolFailed("Confirm the code from a different channel than the one that requested it.")
            await users.link_identity(tx, str(found["userId"]), ctx.channel, ctx.channel_user_id)
        return ToolOutcome(text="Linked: you are now the same person on both channels.")


PEOPLE_TOOLS: list[Tool] = [
    UserList(),
    UserIdentityLink(),
    UserIdentityUnlink(),
    UserRoleSet(),
    UserMerge(),
    IdentityLinkRequest(),
    IdentityLinkConfirm(),
]
