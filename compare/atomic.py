"""Atomic file output: a file is either its previous content or the new one, never a part.

:func:`write_text` writes to a temporary file in the destination's folder, flushes it to
disk, and renames it over the destination (an atomic step on POSIX and Windows).  On any
failure (a full disk, an error while writing, Ctrl-C) the temporary file is removed and the
previous file is left as it was.
"""
from __future__ import annotations

import os
import tempfile

__all__ = ["write_text", "write_with"]


def _new_file_mode() -> int:
    """The permissions ``open(path, "w")`` would give a new file (0666 less the umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _sync_folder(folder: str) -> None:
    """Flush the folder entry of a renamed file to disk (POSIX; a no-op where folders cannot
    be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_text(path, text: str, *, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically.

    The temporary file ``.<name>.<random>.tmp`` lives in the same folder (so the rename
    does not cross file systems), gets the permissions of the file it replaces (or those of
    a new file), and is removed on any failure, ``KeyboardInterrupt`` included.  A symbolic
    link is followed: its target is replaced.
    """
    path = os.path.realpath(os.fspath(path))
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = _new_file_mode()

    def write(tmp):
        with open(tmp, "w", encoding=encoding) as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())

    write_with(path, write, suffix="", mode=mode)
    _sync_folder(os.path.dirname(path))


def write_with(path, writer, *, suffix: str | None = None, mode: int | None = None) -> None:
    """``writer(tmp)`` writes a temporary file beside ``path``, which is then renamed over
    ``path``; the temporary file is removed on any failure, ``KeyboardInterrupt`` included.

    For writers that open the file themselves (``savefig``, ``np.save``).  The temporary
    name ends in ``suffix`` (by default the extension of ``path``), from which such writers
    read the format.  ``mode``: the new file's permissions (default: a new file's)."""
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    suffix = os.path.splitext(name)[1] if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=f".tmp{suffix}", dir=folder)
    os.close(fd)
    try:
        writer(tmp)
        os.chmod(tmp, _new_file_mode() if mode is None else mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
