"""A forked child of the build never outlives it.

The build forks children (figures and notebooks ahead of reading, half the pages' HTML). Killed with
SIGKILL, the build cannot end them, and a child blocked writing its results into a pipe nobody reads
would wait for ever. Each child therefore asks the kernel to kill it when its parent dies (Linux's
parent-death signal), and, where that is not available, watches its parent from a thread.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

#: prctl's option that sets the parent-death signal (linux/prctl.h).
PR_SET_PDEATHSIG = 1
#: How often the fallback watcher looks for its parent, in seconds.
WATCH_EVERY = 0.5


def die_with_parent(parent: int) -> None:
    """Called first thing in a forked child: end this process once ``parent`` (the build) is gone."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent:  # the parent died before the signal was asked for
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass
    threading.Thread(target=_watch, args=(parent,), daemon=True, name="watch-parent").start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_EVERY)
    os._exit(1)
