"""One writer per folder: a file lock that names its holder, and temporary files named by their writer.

A writer of a run folder, a dataset folder or a workspace holds a :class:`FolderLock` on a lock file
(an OS lock through the ``filelock`` library: ``flock`` on Unix).  The kernel drops the lock when its
process dies, so the lock of a killed writer is taken over by the next writer with no clean-up step;
a writer that finishes removes the lock file (and its sidecar), so nothing stays behind.
Beside the lock file a sidecar, ``<lock file>.holder``, records the holder's process id, host and
start time, so a second writer is told who holds the folder, in one line::

    run folder runs/x is in use by process 1234 since 10:02:11

Temporary files and folders carry their writer's process id (:func:`temp_prefix`):
``.<name>.<pid>-<random>.tmp`` (and ``.old`` for a folder being swapped out).  A writer that holds
the lock removes the orphans among them (:func:`remove_orphans`): those of dead processes and its
own leftovers; those of other live processes are left alone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from core.errors import InUseError, WorkbenchError

HOLDER_SUFFIX = ".holder"
# .<base>.<pid>-<random>.tmp / .old : what temp_prefix names (mkstemp/mkdtemp add the random part)
_TEMP_RE = re.compile(r"^\.(?P<base>.+)\.(?P<pid>\d+)-[A-Za-z0-9_]+\.(?:tmp|old)$")


def pid_alive(pid: int) -> bool:
    """True while process ``pid`` exists on this host (a process of another user counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class Holder:
    """Who holds a lock: process id, host and start time (seconds since the epoch)."""

    pid: int
    host: str
    started: float

    def describe(self) -> str:
        """``process 1234 since 10:02:11`` (with the date when not today, the host when not this one)."""
        started = time.localtime(self.started)
        fmt = "%H:%M:%S" if time.strftime("%Y-%m-%d", started) == time.strftime("%Y-%m-%d") else "%Y-%m-%d %H:%M:%S"
        where = "" if self.host == socket.gethostname() else f" on {self.host}"
        return f"process {self.pid}{where} since {time.strftime(fmt, started)}"


def read_holder(lock_file: Path) -> Holder | None:
    """The holder a lock's sidecar records, or None when it records none (or garbage)."""
    try:
        obj = json.loads(Path(f"{lock_file}{HOLDER_SUFFIX}").read_text(encoding="utf-8"))
        return Holder(int(obj["pid"]), str(obj["host"]), float(obj["started"]))
    except (OSError, ValueError, TypeError, KeyError):
        return None


class FolderLock:
    """The one-writer lock of a folder: ``with FolderLock(path / ".lock", "run folder runs/x"): ...``.

    ``acquire`` waits up to ``wait`` seconds, then raises :class:`InUseError` naming the holder.
    The same object may be acquired again by the thread that holds it (each acquire needs a
    release); any other thread or process is refused while it is held.
    """

    def __init__(self, lock_file: str | os.PathLike[str], what: str, *, wait: float = 0.0) -> None:
        self.lock_file = Path(lock_file)
        self.what = what
        self.wait = wait
        self._mutex = threading.Lock()
        self._file_lock: FileLock | None = None
        self._owner: int | None = None
        self._depth = 0

    @property
    def held(self) -> bool:
        """True while this object holds the lock (in any thread)."""
        return self._depth > 0

    def acquire(self) -> FolderLock:
        me = threading.get_ident()
        with self._mutex:
            if self._depth and self._owner == me:
                self._depth += 1
                return self
        # a new FileLock per acquisition: its own descriptor, so another thread's attempt conflicts
        file_lock = FileLock(self.lock_file, timeout=self.wait, thread_local=False)
        try:
            file_lock.acquire()
        except Timeout:
            raise InUseError(self.in_use_message()) from None
        except OSError as e:
            raise WorkbenchError(f"cannot lock {self.what}: {e.strerror or e} ({self.lock_file})") from None
        try:
            write_holder(self.lock_file)
        except BaseException:
            file_lock.release()
            raise
        with self._mutex:
            self._file_lock, self._owner, self._depth = file_lock, me, 1
        return self

    def release(self) -> None:
        with self._mutex:
            if not self._depth:
                return
            self._depth -= 1
            if self._depth:
                return
            file_lock, self._file_lock, self._owner = self._file_lock, None, None
        holder = read_holder(self.lock_file)
        if holder is not None and holder.pid == os.getpid():
            Path(f"{self.lock_file}{HOLDER_SUFFIX}").unlink(missing_ok=True)
        # Unlinked while still held, so no debris stays behind: a waiter that opened this inode
        # finds it unlinked once it gets the lock and tries again on a new file (filelock checks).
        self.lock_file.unlink(missing_ok=True)
        if file_lock is not None:
            file_lock.release()

    def in_use_message(self) -> str:
        holder = read_holder(self.lock_file)
        # a sidecar of a dead process is stale: the holder has locked but not yet written its own
        if holder is None or (holder.host == socket.gethostname() and not pid_alive(holder.pid)):
            return f"{self.what} is in use by another process"
        return f"{self.what} is in use by {holder.describe()}"

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def write_holder(lock_file: Path) -> None:
    """Record this process as the holder of ``lock_file`` (an atomic replace of the sidecar)."""
    sidecar = Path(f"{lock_file}{HOLDER_SUFFIX}")
    tmp = sidecar.with_name(f"{temp_prefix(sidecar.name)}0.tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}),
                   encoding="utf-8")
    os.replace(tmp, sidecar)


def temp_prefix(name: str) -> str:
    """``.<name>.<pid>-``: the start of a temporary file's or folder's name (mkstemp/mkdtemp add the rest,
    with suffix ``.tmp`` or ``.old``), so :func:`remove_orphans` can tell whose it is."""
    return f".{name}.{os.getpid()}-"


def orphan_owner(entry_name: str, base: str | None = None) -> int | None:
    """The writer's process id if ``entry_name`` is a temporary name (of ``base``, when given), else None."""
    m = _TEMP_RE.match(entry_name)
    if m is None or (base is not None and m.group("base") != base):
        return None
    return int(m.group("pid"))


def remove_orphans(folder: Path, base: str | None = None) -> list[Path]:
    """Delete the temporary files and folders in ``folder`` (of ``base``, when given) that belong to dead
    processes or to this one; call it while holding the lock of what they were written for."""
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        pid = orphan_owner(entry.name, base)
        if pid is None or (pid != os.getpid() and pid_alive(pid)):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed
