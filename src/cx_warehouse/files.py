"""Files that hold personal data are readable by the user who runs the project and no one else.

Report archives (customer names in the at-risk CSV, complaint text in alerts), landing files
(every customer's e-mail and phone), the ground truth, the logs and the Airflow home all live
under ``CX_HOME``. A default umask of 022 makes each of them world-readable, so on a shared
machine every other account could read the customers' data. Two layers keep them private:

* every writer of such files goes through :func:`private_dir` and :func:`write_private`
  (directories 0700, files 0600), so the modes do not depend on who started the process;
* ``cxw`` and the Airflow it launches run under :data:`PRIVATE_UMASK`, so what a library
  writes on its own (dbt's target, Airflow's metadata and generated password) is private too.

A directory of mode 0700 also hides everything below it, whatever the modes there.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
PRIVATE_UMASK = 0o077
"""The umask under which new files are 0600 and new directories 0700."""


def private_dir(path: Path, *, root: Path | None = None) -> Path:
    """Create ``path`` and any missing parents with mode 0700; return it.

    ``Path.mkdir(parents=True)`` gives the parents the umask's mode, not ``mode``, so each
    missing level is created here. An existing ``path`` is tightened to 0700. With ``root``
    (an ancestor of ``path``), every existing directory from ``root`` down to ``path`` is
    tightened as well: a tree the project owns, such as the report archive.
    """
    path = Path(path)
    missing: list[Path] = []
    level = path
    while not level.is_dir():
        missing.append(level)
        if level.parent == level:
            break
        level = level.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:  # another process made it first
            if not directory.is_dir():
                raise
        directory.chmod(PRIVATE_DIR_MODE)  # mkdir's mode is masked by the umask
    tighten = [path]
    if root is not None:
        root = Path(root)
        tighten += [p for p in path.parents if p == root or root in p.parents]
    for directory in tighten:
        make_private(directory)
    return path


def make_private(path: Path) -> None:
    """Tighten an existing file to 0600 or directory to 0700 (nothing if it does not exist).

    Only the owner's bits are kept: a file the owner may run stays runnable for the owner.
    """
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        return  # chmod would follow the link to a file that may not be ours
    wanted = PRIVATE_DIR_MODE if stat.S_ISDIR(mode) else stat.S_IMODE(mode) & 0o700 | PRIVATE_FILE_MODE
    if stat.S_IMODE(mode) != wanted:
        path.chmod(wanted)


def write_private(path: Path, data: bytes | str, *, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` atomically with mode 0600, creating its folder with 0700.

    The bytes go to a temporary file beside ``path`` (created 0600 from the start, so the
    content is never readable by others, not even for a moment) that then replaces ``path``:
    a reader sees the old file or the whole new one, never half of it. The temporary name
    starts with a dot and ends in ``.tmp``, which no landing-zone pattern matches.
    """
    path = Path(path)
    if not path.parent.is_dir():
        private_dir(path.parent)
    content = data.encode(encoding) if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.chmod(tmp, PRIVATE_FILE_MODE)  # mkstemp's 0600 already; explicit in case that changes
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def open_private_log(path: Path) -> int:
    """A file descriptor appending to ``path``, created 0600 (its folder 0700) if it is new."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE_MODE)
    os.fchmod(fd, PRIVATE_FILE_MODE)  # an existing log written under an older, looser release
    return fd


@contextmanager
def private_umask() -> Iterator[None]:
    """Run the block under :data:`PRIVATE_UMASK`, then restore the previous umask."""
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)
