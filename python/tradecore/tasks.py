"""The one way tradecore starts background tasks: named, referenced until done, and logged.

asyncio keeps only weak references to tasks, so a task nobody holds can vanish mid-flight; and a
task whose exception nobody reads fails silently. :func:`start_task` fixes both.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["start_task"]

_T = TypeVar("_T")
_log = logging.getLogger("tradecore.tasks")
_orphans: set[asyncio.Task[Any]] = set()


def start_task(
    coroutine: Coroutine[Any, Any, _T],
    name: str,
    *,
    owner: set[asyncio.Task[Any]] | None = None,
    log: logging.Logger | logging.LoggerAdapter[logging.Logger] | None = None,
) -> asyncio.Task[_T]:
    """Start ``coroutine`` as a task called ``name``.

    The task is kept in ``owner`` (the set its owner cancels and awaits on close) or, without
    one, in a module-level set, until it ends; how it ended is logged on ``log`` (failures at
    ERROR with the traceback, cancellations and normal ends at DEBUG).
    """
    holder = _orphans if owner is None else owner
    logger = log or _log
    task = asyncio.get_running_loop().create_task(coroutine, name=name)
    holder.add(task)

    def ended(done: asyncio.Task[Any]) -> None:
        holder.discard(done)
        if done.cancelled():
            logger.debug("task %s cancelled", name)
        elif (exc := done.exception()) is not None:
            logger.error("task %s failed: %r", name, exc, exc_info=exc)
        else:
            logger.debug("task %s finished", name)

    task.add_done_callback(ended)
    return task
