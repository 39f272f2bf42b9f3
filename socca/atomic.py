"""Files written whole or not at all."""

from __future__ import annotations

import os


def write_atomically(path, write):
    """Write ``path`` through ``write(fh)`` on a temporary file, then rename it over ``path``.

    The temporary file sits beside ``path`` and is flushed to disk before the
    rename, which is atomic: a crash or a kill leaves either the old file or
    the new one, never half of one. On failure the temporary file is removed
    and the error raised again.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    write : callable
        ``write(fh)`` writes the content to the open binary file ``fh``.
    """
    tmp = f"{os.fspath(path)}.tmp"
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    os.replace(tmp, path)
