"""One writer per folder: the lock refuses a second writer (thread or process) naming the holder, is taken
over when its holder dies, and leaves nothing behind; orphans of dead writers are told from work in flight."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from core.errors import InUseError
from core.locks import FolderLock, orphan_owner, read_holder, remove_orphans, temp_prefix
from tests.helpers import REPO

HOLD = ("import sys, time; from pathlib import Path; from core.locks import FolderLock; "
        "lock = FolderLock(Path(sys.argv[1]), 'x').acquire(); print('held', flush=True); time.sleep(300)")


def holder_process(lock_file: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(lock_file)], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held", proc.stderr.read()
    return proc


def test_a_second_thread_is_refused_with_the_holder_named(tmp_path):
    lock = FolderLock(tmp_path / ".lock", "run folder runs/x")
    errors: list[str] = []
    with lock:
        assert lock.held and read_holder(tmp_path / ".lock").pid == os.getpid()

        def other() -> None:
            try:
                FolderLock(tmp_path / ".lock", "run folder runs/x").acquire()
            except InUseError as e:
                errors.append(str(e))

        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert len(errors) == 1
    assert re.fullmatch(rf"run folder runs/x is in use by process {os.getpid()} since \d\d:\d\d:\d\d", errors[0])
    assert not lock.held
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "the lock file and its sidecar are gone"
    with FolderLock(tmp_path / ".lock", "again"):  # free again
        pass


def test_the_same_thread_may_take_it_again(tmp_path):
    lock = FolderLock(tmp_path / ".lock", "w")
    with lock, lock:
        assert lock.held
    assert not lock.held


def test_another_process_is_refused_then_a_killed_holder_s_lock_is_taken_over(tmp_path):
    lock_file = tmp_path / ".lock"
    proc = holder_process(lock_file)
    try:
        with pytest.raises(InUseError, match=rf"dataset folder 'd' is in use by process {proc.pid} since"):
            FolderLock(lock_file, "dataset folder 'd'").acquire()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert read_holder(lock_file).pid == proc.pid  # the dead holder's sidecar is still there ...
    with FolderLock(lock_file, "dataset folder 'd'") as lock:  # ... and does not stop the next writer
        assert lock.held and read_holder(lock_file).pid == os.getpid()


def test_a_waiting_writer_gets_the_lock_when_it_is_released(tmp_path):
    first = FolderLock(tmp_path / ".lock", "w").acquire()
    got: list[bool] = []
    waiter = threading.Thread(target=lambda: got.append(FolderLock(tmp_path / ".lock", "w", wait=30).acquire().held))
    waiter.start()
    first.release()
    waiter.join(30)
    assert got == [True]


def test_orphans_of_dead_writers_and_of_this_one_are_removed_others_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    live = holder_process(tmp_path / ".live.lock")
    try:
        (tmp_path / f".ds.{dead_pid}-abc.tmp").mkdir()
        (tmp_path / f".ds.{dead_pid}-abc.tmp" / "data.csv").write_text("x")
        (tmp_path / f".ds.{dead_pid}-def.old").mkdir()
        (tmp_path / f"{temp_prefix('ds')}xyz.tmp").write_text("mine")
        (tmp_path / f".ds.{live.pid}-ghi.tmp").mkdir()  # a live writer's work in flight
        (tmp_path / f".other.{dead_pid}-jkl.tmp").write_text("another target's")
        (tmp_path / "ds").mkdir()
        removed = {p.name for p in remove_orphans(tmp_path, "ds")}
        assert removed == {f".ds.{dead_pid}-abc.tmp", f".ds.{dead_pid}-def.old", f"{temp_prefix('ds')}xyz.tmp"}
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            [".live.lock", ".live.lock.holder", f".ds.{live.pid}-ghi.tmp", f".other.{dead_pid}-jkl.tmp", "ds"])
    finally:
        live.kill()
        live.wait()


def test_temporary_names_carry_the_writer():
    assert orphan_owner(f"{temp_prefix('manifest.json')}k2j3_x.tmp") == os.getpid()
    assert orphan_owner(".manifest.json.abcdefgh.tmp") is None  # no process id: not ours to judge
    assert orphan_owner("manifest.json") is None
    assert orphan_owner(f"{temp_prefix('a')}q.tmp", base="b") is None
