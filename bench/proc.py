"""Run one child process and keep what the bench reports about it."""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import REPO


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str
    wall_ns: int  # from just before the spawn to the child's exit
    maxrss_kb: int  # the child's peak resident set, from wait4


def run_child(
    argv: list[str], timeout: float, cwd: Path = REPO, env: dict[str, str] | None = None
) -> Finished:
    """Like subprocess.run, but reaps the child with os.wait4 to get its own ru_maxrss.

    stderr goes to a temporary file, so a chatty child cannot fill a pipe and stall while
    stdout is read to its end. A child still running after `timeout` s is killed.
    """
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter_ns()
        child = subprocess.Popen(
            argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, env=env
        )
        killer = threading.Timer(timeout, child.kill)
        killer.start()
        try:
            assert child.stdout is not None
            out = child.stdout.read()
            _, status, usage = os.wait4(child.pid, 0)
            end = time.perf_counter_ns()
        finally:
            killer.cancel()
            if child.stdout is not None:
                child.stdout.close()
        child.returncode = os.waitstatus_to_exitcode(status)  # already reaped: tell Popen
        err.seek(0)
        return Finished(
            returncode=child.returncode,
            stdout=out.decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
            wall_ns=end - start,
            maxrss_kb=usage.ru_maxrss,
        )
