"""A cancel that Python 3.11's asyncio.timeout can lose, raised again."""

from __future__ import annotations

import asyncio


def cancel_kept() -> None:
    """Call in the `except TimeoutError` of an `asyncio.timeout` block: a cancel that arrived as the timeout fired
    is raised again. Python 3.11's asyncio.timeout turns such a cancel into the TimeoutError (CPython gh-102780),
    leaving it only in the task's cancelling() count, and a task that goes on waiting would never stop."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
