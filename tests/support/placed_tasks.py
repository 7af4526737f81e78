"""A plugin with one background task of each placement; every run of a task appends
its process id and the time to ``$PLX_TASK_DIR/<task>.log``."""

from __future__ import annotations

from pathlib import Path

PLACED = """
    import os
    import time
    from pathlib import Path

    from plexichat import hookimpl
    from plexichat.contributions import BackgroundTask

    OUT = Path(os.environ["PLX_TASK_DIR"])

    def _beat(name):
        with open(OUT / f"{name}.log", "a") as f:
            f.write(f"{os.getpid()} {time.time()}\\n")

    async def singleton():
        _beat("singleton")

    async def per_replica():
        _beat("per_replica")

    async def undeclared():
        _beat("undeclared")

    @hookimpl
    def register_background_tasks():
        return [BackgroundTask("singleton", singleton, interval=0.1, placement="singleton"),
                BackgroundTask("per_replica", per_replica, interval=0.1,
                               placement="per_replica"),
                BackgroundTask("undeclared", undeclared, interval=0.1)]
"""


def beats(out: Path, name: str, since: float = 0.0) -> list[tuple[int, float]]:
    """(pid, time) of each run of the task ``name`` written under ``out`` since ``since``."""
    path = out / f"{name}.log"
    if not path.exists():
        return []
    beats = []
    for line in path.read_text().splitlines():
        pid, _, at = line.partition(" ")
        if pid and at and float(at) >= since:
            beats.append((int(pid), float(at)))
    return beats
