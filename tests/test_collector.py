"""The cycle collector's handling in a build (``newsletter.collector``)."""

from __future__ import annotations

import gc
import subprocess
import sys

from newsletter import collector


def test_paused_restores_the_previous_state() -> None:
    assert gc.isenabled()
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


_CYCLE = """
import sys
from newsletter import collector
class Node:
    def __del__(self):
        sys.stdout.write("collected\\n")
if sys.argv[1] == "skip":
    collector.no_collection_at_exit()
a, b = Node(), Node()
a.other, b.other = b, a
del a, b
"""


def test_no_collection_at_exit_leaves_the_last_walk_to_the_os() -> None:
    """Without it, the interpreter's last collection finds the cycle (and runs __del__);
    with it, the process ends without walking its objects again."""
    def run(mode: str) -> str:
        return subprocess.run([sys.executable, "-c", _CYCLE, mode], capture_output=True,
                              text=True, check=True).stdout

    assert "collected" in run("collect")
    assert "collected" not in run("skip")
