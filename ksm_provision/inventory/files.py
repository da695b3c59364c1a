"""Reading inventory and vault files without following links or blocking on special files.

An inventory directory is shared by many people, and every file in it is untrusted input. ksm
therefore reads only *regular files* and refuses, before reading a single byte:

- every symbolic link, also one that points to a file inside the inventory directory: a link could
  make ksm read (and echo, e.g. as "unknown key" messages) any file the user can read, such as
  ``/etc/shadow``, and an inventory has no need for links (copy or rename the file instead);
- dangling links and link loops;
- directories, FIFOs, sockets and devices (a FIFO blocks a reader forever, ``/dev/zero`` never ends).

The file is opened with ``O_NOFOLLOW | O_NONBLOCK`` and the *opened descriptor* is checked with
``fstat``, so a file swapped for a link or FIFO between the check and the read is still refused,
and at most ``max_bytes + 1`` bytes are read, so a file that grows while it is read cannot exhaust
memory. Refusals are :class:`~ksm_provision.errors.InventoryError` problems that name the file and
never quote its content.

The directory that holds the file (the ``--inventory`` directory, or its ``vault/`` subdirectory)
is taken as given: it may itself be a link chosen by the operator.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from ksm_provision.errors import InventoryError, Problem, relative_path

#: Larger inventory files are refused before parsing (a 100,000-host estate stays far below this).
MAX_FILE_BYTES = 32 * 1024 * 1024

_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_READ_CHUNK = 1024 * 1024
_ONLY_REGULAR = "ksm reads only regular files in the inventory directory"


def shown_path(path: Path) -> str:
    """*path* as messages show it, without following a link in its last component.

    >>> shown_path(Path("/nowhere/inventory/aa.yml"))
    '/nowhere/inventory/aa.yml'
    """
    parent = relative_path(path.parent)
    return path.name if parent == "." else str(Path(parent) / path.name)


def _refuse(shown: str, message: str, hint: str, line: int = 0) -> InventoryError:
    return InventoryError([Problem(shown, line, message, hint)])


def _link_problem(path: Path, shown: str) -> InventoryError:
    """Why the symbolic link *path* is refused; its target is inspected, never opened."""
    try:
        path.stat()
    except FileNotFoundError:
        return _refuse(shown, "is a symbolic link that points to nothing", "remove the link")
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return _refuse(shown, "is a symbolic link in a loop of links", "remove the link")
        return _refuse(shown, "is a symbolic link whose target cannot be reached", "remove the link")
    if path.resolve().parent != path.parent.resolve():
        return _refuse(
            shown,
            "is a symbolic link that points outside the inventory directory; it is not read",
            f"{_ONLY_REGULAR}: copy the file here instead of linking to it",
        )
    return _refuse(
        shown,
        "is a symbolic link; it is not read",
        f"{_ONLY_REGULAR}: rename or copy the file it points to instead of linking to it",
    )


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _special_problem(shown: str, mode: int) -> InventoryError:
    kind = _kind(mode)
    what = kind if kind.startswith("not") else f"is {kind}"
    return _refuse(
        shown,
        f"{what}, not a regular file; it is not read",
        f"{_ONLY_REGULAR}: remove it or rename it so that it does not end in .yml",
    )


def _too_big(shown: str, size: int | None, max_bytes: int) -> InventoryError:
    amount = f"{size} bytes" if size is not None else f"more than {max_bytes} bytes"
    return _refuse(
        shown,
        f"file is {amount}, more than the limit of {max_bytes}",
        "split the authority into smaller files or use client ranges instead of single entries",
        line=1,
    )


def read_inventory_file(path: Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file *path*; :class:`InventoryError` for anything else (see module doc).

    >>> read_inventory_file(Path("/dev/null"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ksm_provision.errors.InventoryError: /dev/null: is a device, not a regular file; it is not read — ...
    """
    return _read(path.parent, (), path, max_bytes)


def read_vault_file(path: Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a vault file ``<inventory>/vault/<id>.yml``, read like an inventory file.

    The ``vault`` directory must not be a link either: it is opened without following links and the
    file is opened relative to it, so nothing outside the inventory directory is read.
    """
    if path.parent.name == "vault":
        return _read(path.parent.parent, ("vault",), path, max_bytes)
    return _read(path.parent, (), path, max_bytes)


def _read(base: Path, inner: tuple[str, ...], path: Path, max_bytes: int) -> bytes:
    """Read *path*, which is ``base/<inner...>/<name>``: *base* as given, everything below it unfollowed."""
    shown = shown_path(path)
    fds = [_open_dir(base, None)]
    try:
        for part in inner:
            base = base / part
            fds.append(_open_dir(base, fds[-1]))
        fds.append(_open_file(path, shown, fds[-1]))
        opened = os.fstat(fds[-1])
        if not stat.S_ISREG(opened.st_mode):  # swapped since the lstat: the descriptor is what counts
            raise _special_problem(shown, opened.st_mode)
        if opened.st_size > max_bytes:
            raise _too_big(shown, opened.st_size, max_bytes)
        return _read_bounded(fds[-1], shown, max_bytes)
    finally:
        for fd in fds:
            os.close(fd)


def _open_dir(path: Path, dir_fd: int | None) -> int:
    """Open the directory *path*; below *dir_fd* (when given) only if it is a real directory, no link."""
    shown = shown_path(path)
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
    if dir_fd is not None:
        try:
            mode = os.stat(path.name, dir_fd=dir_fd, follow_symlinks=False).st_mode
        except FileNotFoundError:
            raise _refuse(shown, "directory not found", "check the path or --inventory") from None
        except OSError as exc:
            raise _refuse(shown, f"cannot be examined ({os.strerror(exc.errno or 0)})", "check it") from None
        if stat.S_ISLNK(mode):
            raise _refuse(
                shown,
                "is a symbolic link; it is not followed",
                f"{_ONLY_REGULAR}: make it a real directory of the inventory",
            )
        if not stat.S_ISDIR(mode):
            raise _special_problem(shown, mode)
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        return os.open(path.name if dir_fd is not None else path, flags, dir_fd=dir_fd)
    except OSError as exc:
        raise _refuse(
            shown,
            f"directory cannot be opened ({os.strerror(exc.errno or 0)})",
            "check it and its permissions",
        ) from None


def _open_file(path: Path, shown: str, dir_fd: int) -> int:
    """Open the last component of *path* in *dir_fd*: only a regular file, never through a link."""
    try:
        before = os.stat(path.name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        raise _refuse(shown, "file not found", "check the path or --inventory") from None
    except OSError as exc:
        raise _refuse(
            shown, f"cannot be examined ({os.strerror(exc.errno or 0)})", "check the path"
        ) from None
    if stat.S_ISLNK(before.st_mode):
        raise _link_problem(path, shown)
    if not stat.S_ISREG(before.st_mode):
        raise _special_problem(shown, before.st_mode)  # never opened: opening a device can act on it
    try:
        return os.open(path.name, _OPEN_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):  # swapped for a link since the lstat
            raise _link_problem(path, shown) from None
        if exc.errno == errno.ENOENT:
            raise _refuse(shown, "file not found", "check the path or --inventory") from None
        raise _refuse(
            shown, f"cannot be read ({os.strerror(exc.errno or 0)})", "check the file's permissions"
        ) from None


def _read_bounded(fd: int, shown: str, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while total <= max_bytes:
        try:
            chunk = os.read(fd, min(_READ_CHUNK, max_bytes + 1 - total))
        except OSError as exc:
            raise _refuse(
                shown, f"cannot be read ({os.strerror(exc.errno or 0)})", "check the file and its disk"
            ) from None
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > max_bytes:  # the file grew after the fstat
        raise _too_big(shown, None, max_bytes)
    return b"".join(chunks)
