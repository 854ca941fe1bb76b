"""The folders every agent workspace has (spec §1.3), made when the agent first runs.

Creating an agent does not touch the disk: a fleet of agents that are created and never used
leaves no folders behind, and creation does not wait for the file system (each new folder is
a journaled metadata write, hundreds of microseconds on some disks). The first hydration of the
agent in a gateway process makes whatever is missing.
"""

from __future__ import annotations

from pathlib import Path

WORKSPACE_SCAFFOLD = (
    ".openhermit/skills/system",
    ".openhermit/tool_results",
)
"""The deepest folders: making them makes `.openhermit` and `.openhermit/skills` too."""


def scaffold_workspace(workspace: Path) -> None:
    """Make the workspace's folders that are missing (blocking: run it in a thread)."""
    for folder in WORKSPACE_SCAFFOLD:
        (workspace / folder).mkdir(parents=True, exist_ok=True)
