"""Write outputs under a temporary name, then rename, so no reader ever sees half a file."""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from .errors import D2TLError


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success it is renamed to ``path``.

    On an exception the temporary file or folder is removed and ``path`` is untouched.
    Works for files and for folders (whatever the caller creates at the yielded path). A parent
    that cannot be created or written, or a file written over a folder, is a :class:`D2TLError`
    naming the path (a folder is replaced only by a folder).
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # The temporary name ends with the real name, so writers that insist on a suffix
        # (Keras's ".weights.h5", ".keras") accept it.
        fd, tmp = tempfile.mkstemp(prefix=".", suffix=f".tmp.{path.name}", dir=path.parent)
    except OSError as exc:
        raise D2TLError(f"cannot write {path}: {exc.strerror or exc} ({exc.filename or path.parent})") from None
    os.close(fd)
    os.unlink(tmp)
    tmp = Path(tmp)
    try:
        yield tmp
        if path.is_dir() and not path.is_symlink():
            if not tmp.is_dir():
                raise D2TLError(f"cannot write {path}: it is a folder, not a file")
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)


def write_csv(path, table) -> None:
    """Write a pandas table to ``path`` atomically (no index column)."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)


def remove_stale_temporaries(folder) -> list:
    """Remove what a killed writer left in ``folder``: the temporary files and folders of
    :func:`atomic_path` (``.<random>.tmp.<name>``), never finished outputs. Call it only while
    holding the folder's lock, so no live writer's temporary is taken. Returns the names removed."""
    folder = Path(folder)
    removed = []
    for stale in sorted(folder.glob(".*.tmp.*")) if folder.is_dir() else []:
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)
        removed.append(stale.name)
    return removed
