"""Run one child process: capped output, and the whole process group killed at the timeout."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Mapping, Sequence

from openhermit.sandbox.base import OUTPUT_CAP_BYTES, ExecResult

_CHUNK = 64 * 1024


async def _drain(stream: asyncio.StreamReader, keep: bytearray, cap: int) -> bool:
    """Read to EOF, keeping at most `cap` bytes; True when something was dropped."""
    dropped = False
    while chunk := await stream.read(_CHUNK):
        room = cap - len(keep)
        if room > 0:
            keep += chunk[:room]
        if len(chunk) > max(room, 0):
            dropped = True
    return dropped


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


async def run_capped(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | None = None,
    timeout_seconds: float,
    cap: int = OUTPUT_CAP_BYTES,
) -> ExecResult:
    """Start `argv` in its own process group with exactly `env`; stdin is empty."""
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(env),
        cwd=cwd,
        start_new_session=True,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    out, err = bytearray(), bytearray()
    readers = asyncio.gather(_drain(proc.stdout, out, cap), _drain(proc.stderr, err, cap))
    timed_out = False
    try:
        async with asyncio.timeout(timeout_seconds):
            await proc.wait()
    except TimeoutError:
        timed_out = True
    finally:
        # The group goes even when the leader exited normally: no stray children survive a call.
        _kill_group(proc.pid)
        if proc.returncode is None:
            await proc.wait()
    try:
        async with asyncio.timeout(5):
            truncated = any(await readers)
    except TimeoutError:  # a grandchild escaped the group and holds the pipe open
        readers.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await readers
        truncated = True
    code = proc.returncode if proc.returncode is not None else -9
    if timed_out:
        err += f"\n[killed after {timeout_seconds:g} s timeout]".encode()
        code = 124
    return ExecResult(
        stdout=out.decode("utf-8", "replace"),
        stderr=err.decode("utf-8", "replace"),
        exit_code=code,
        duration_ms=int((time.monotonic() - started) * 1000),
        timed_out=timed_out,
        truncated=truncated,
    )
