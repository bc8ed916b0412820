"""The traceback of an unexpected error, written to a log file instead of the screen (a leaf module)."""
from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["write_crash_log"]


def write_crash_log(argv=None) -> Path | None:
    """The current exception's traceback (with the command line and version) in the system temp folder
    as xltools-错误-<time>-<random>.log; None when even that cannot be written."""
    import os
    import tempfile
    import time
    import traceback

    from xltools import __version__
    stamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        fd, name = tempfile.mkstemp(prefix=f"xltools-错误-{stamp}-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"xltools {__version__}\nargv: {argv!r}\npython: {sys.version}\n\n")
            fh.write(traceback.format_exc())
        return Path(name)
    except OSError:
        return None
