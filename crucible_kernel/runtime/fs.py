"""Natives behind cru.fs and the global `fs` (lua/fs.lua): synchronous file-system calls.

Paths and contents arrive as Lua strings (bytes) and are used as they are, so any file name
and any content work, not only UTF-8. Relative paths resolve against the process's working
directory, as in the reference. Each native returns `(true, value)` or `(false, message)`;
the Lua wrapper raises the message at the caller's line. Messages read as the reference's
(Rust's `io::Error` text, `No such file or directory (os error 2)`) followed by the path.
"""

from __future__ import annotations

import os
import shutil
import stat
from typing import TYPE_CHECKING, Any

from .convert import Multi

if TYPE_CHECKING:
    from .engine import Runtime

__all__ = ["install"]

# Rust's fs::copy refuses a source that is not a regular file with this text.
NOT_A_FILE = "the source path is neither a regular file nor a symlink to a regular file"
# Room kept free in the Lua heap beyond a file's size when reading it.
HEAP_SLACK = 64 * 1024


class FsError(Exception):
    """A failure whose message is ready for Lua."""


class TooBig(FsError):
    """A file that does not fit in the Lua heap's free room (it may after a garbage collection)."""


def shown(path: bytes) -> str:
    return os.fsdecode(path)


def describe(exc: OSError | ValueError, *paths: bytes) -> str:
    """An OS error as Rust prints an io::Error, then the path(s) it concerns."""
    where = " -> ".join(f"'{shown(p)}'" for p in paths)
    if isinstance(exc, shutil.SameFileError):
        return f"source and destination are the same file: {where}"
    if isinstance(exc, ValueError):  # an embedded NUL byte
        return f"file name contained an unexpected NUL byte: {where.replace(chr(0), '?')}"
    if exc.errno is not None and exc.strerror:
        return f"{exc.strerror} (os error {exc.errno}): {where}"
    return f"{exc}: {where}"


def parent_of(path: bytes) -> bytes:
    """The parent as Rust's Path::parent gives it (trailing slashes do not make a component)."""
    trimmed = path.rstrip(b"/")
    return os.path.dirname(trimmed) if trimmed else b""


def ensure_parent(path: bytes) -> None:
    """Create the missing parent directories of `path` (write, append, copy and rename do)."""
    parent = parent_of(path)
    if parent and not os.path.exists(parent):
        try:
            os.makedirs(parent, exist_ok=True)
        except (OSError, ValueError) as exc:
            raise FsError(
                f"Failed to create parent directory for '{shown(path)}': {describe(exc, parent)}"
            ) from None


def install(rt: Runtime) -> None:
    def guarded(fn: Any, paths: int = 1) -> Any:
        """Wrap a native so that it returns (true, value) or (false, message), never raises;
        its first `paths` arguments are paths, named in the message."""

        def native(*args: bytes) -> Multi:
            try:
                return Multi(True, fn(*args))
            except TooBig as exc:
                return Multi(False, os.fsencode(str(exc)), True)
            except FsError as exc:
                return Multi(False, os.fsencode(str(exc)))
            except (OSError, ValueError) as exc:
                return Multi(False, os.fsencode(describe(exc, *args[:paths])))

        return native

    def check_room(size: int, path: bytes) -> None:
        # Handing Lua a string bigger than its heap's limit from a native crashes lupa (the
        # allocation fails outside any protected call), so a file that cannot fit is refused.
        limit = rt.lua.get_max_memory()
        if not limit:
            return
        room = limit - (rt.lua.get_memory_used() or 0)
        if size + HEAP_SLACK > room:
            raise TooBig(
                f"not enough memory: '{shown(path)}' has {size} bytes and the Lua heap {max(room, 0)} "
                "free (raise the limit with --max-memory or CRUCIBLE_LUA_MAX_MEMORY)"
            )

    def read(path: bytes) -> bytes:
        with open(path, "rb") as f:
            check_room(os.fstat(f.fileno()).st_size, path)
            data = f.read()
        check_room(len(data), path)  # files whose size is not known in advance (/proc, pipes)
        return data

    def write(path: bytes, content: bytes) -> None:
        ensure_parent(path)
        with open(path, "wb") as f:
            f.write(content)

    def append(path: bytes, content: bytes) -> None:
        ensure_parent(path)
        with open(path, "ab") as f:
            f.write(content)

    def mkdir(path: bytes) -> None:
        if path:  # Rust's create_dir_all("") succeeds doing nothing
            os.makedirs(path, exist_ok=True)

    def remove(path: bytes) -> None:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:  # a file, or a link (to a directory too: the link goes, as remove_dir_all does)
            os.remove(path)

    def listing(path: bytes) -> Any:
        names = os.listdir(path)
        check_room(sum(len(n) + 64 for n in names), path)  # a string and a slot per name
        # Sorted, so that listings are the same from one run to the next (the reference gives
        # them in the directory's own order).
        return rt.lua.table_from(sorted(names))

    def copy(src: bytes, dest: bytes) -> None:
        ensure_parent(dest)
        mode = os.stat(src).st_mode  # a missing source fails here, naming the source
        if not stat.S_ISREG(mode):
            raise FsError(f"{NOT_A_FILE}: '{shown(src)}'")
        shutil.copyfile(src, dest)
        shutil.copymode(src, dest)  # fs::copy copies the permission bits too

    def rename(src: bytes, dest: bytes) -> None:
        ensure_parent(dest)
        os.rename(src, dest)

    natives = {
        "read": guarded(read),
        "write": guarded(write),
        "append": guarded(append),
        "mkdir": guarded(mkdir),
        "remove": guarded(remove),
        "list": guarded(listing),
        "copy": guarded(copy, paths=2),
        "rename": guarded(rename, paths=2),
        # Never fail: a path that cannot be inspected does not exist (Rust's Path::exists).
        "exists": os.path.exists,
        "is_file": os.path.isfile,
        "is_dir": os.path.isdir,
    }
    rt.register("fs", rt.lua_module("fs", natives), global_name="fs")
