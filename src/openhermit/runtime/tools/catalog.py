"""The built-in tool set, and the subset introspection runs may use."""

from __future__ import annotations

from openhermit.runtime.tools.attachments import ATTACHMENT_TOOLS
from openhermit.runtime.tools.base import Tool
from openhermit.runtime.tools.capabilities import CAPABILITY_TOOLS
from openhermit.runtime.tools.exec import Exec
from openhermit.runtime.tools.files import FILE_TOOLS
from openhermit.runtime.tools.governance import GOVERNANCE_TOOLS
from openhermit.runtime.tools.instructions import InstructionUpdate
from openhermit.runtime.tools.introspection import SessionDescriptionUpdate, WorkingMemoryUpdate
from openhermit.runtime.tools.memory import MEMORY_TOOLS
from openhermit.runtime.tools.people import PEOPLE_TOOLS
from openhermit.runtime.tools.schedules import SCHEDULE_TOOLS
from openhermit.runtime.tools.sessions import SESSION_TOOLS

BUILTIN_TOOLS: dict[str, Tool] = {
    t.name: t
    for t in [
        *MEMORY_TOOLS,
        InstructionUpdate(),
        *SESSION_TOOLS,
        *PEOPLE_TOOLS,
        *GOVERNANCE_TOOLS,
        *ATTACHMENT_TOOLS,
        *SCHEDULE_TOOLS,
        Exec(),
        *FILE_TOOLS,
        *CAPABILITY_TOOLS,
    ]
}

INTROSPECTION_TOOLS: dict[str, Tool] = {
    t.name: t
    for t in [
        *(
            BUILTIN_TOOLS[n]
            for n in ("memory_get", "memory_recall", "memory_add", "memory_update", "memory_delete")
        ),
        WorkingMemoryUpdate(),
        SessionDescriptionUpdate(),
    ]
}


def turn_tools() -> dict[str, Tool]:
    """Tools offered in a normal turn: every built-in a person may be granted."""
    return {name: tool for name, tool in BUILTIN_TOOLS.items() if tool.default_grants}
