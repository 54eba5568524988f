"""Saving under faults: a process killed between writing and renaming leaves a temp file the
next save removes; nothing that is not ours is ever deleted; a save keeps the file's mode."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from graph.atomic_file import (TEMP_MARKER, parse_temp_name, pid_alive, remove_stale_temp_files,
                               temp_name, write_atomic)
from graph.document import Document
from graph.fileformat import save
from graph.loader import load_file, loads
from graph.model import Node

ROOT = Path(__file__).resolve().parents[1]
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX modes and signals")


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(done.stdout)
    assert not pid_alive(pid)
    return pid


def temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if TEMP_MARKER in p.name)


def test_temp_names_say_whose_they_are():
    name = temp_name("net.json", pid=4321)
    assert name.startswith(".net.json.nodetorch-tmp-4321-")
    assert parse_temp_name(name) == ("net.json", 4321)
    assert parse_temp_name(".net.json.nodetorch-tmp-4321-zz") is None   # not our token
    assert parse_temp_name("net.json") is None
    assert parse_temp_name(".net.json.tmp") is None
    assert temp_name("net.json") != temp_name("net.json")   # one per write


@posix_only
def test_a_save_killed_before_its_rename_leaves_the_old_file_and_the_next_save_cleans_up(tmp_path):
    path = tmp_path / "net.json"
    save(Document(name="old"), path)
    old = path.read_text(encoding="utf-8")
    # a real process, killed -9 after its temp file is written and before the rename
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(ROOT)!r})
        from graph import atomic_file
        from graph.document import Document
        from graph.fileformat import save
        atomic_file.os.replace = lambda a, b: os.kill(os.getpid(), signal.SIGKILL)
        save(Document(name="new"), {str(path)!r})
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == -9, done.stderr
    [left] = temp_files(tmp_path)
    assert parse_temp_name(left)[0] == "net.json"
    assert path.read_text(encoding="utf-8") == old
    assert loads((tmp_path / left).read_text(encoding="utf-8")).name == "new"  # fully written

    save(Document(name="newer"), path)
    assert temp_files(tmp_path) == []
    assert load_file(path).name == "newer"


def test_stale_cleanup_deletes_only_our_dead_temp_files(tmp_path):
    dead, alive = dead_pid(), os.getppid()
    ours_dead = tmp_path / temp_name("net.json", dead)
    ours_other_file = tmp_path / temp_name("other.json", dead)
    ours_alive = tmp_path / temp_name("net.json", alive)
    ours_this_process = tmp_path / temp_name("net.json")
    not_ours = [tmp_path / n for n in (".net.json.tmp", f".net.json{TEMP_MARKER}{dead}",
                                       f"net.json{TEMP_MARKER}{dead}-ab", "net.json")]
    for p in (ours_dead, ours_other_file, ours_alive, ours_this_process, *not_ours):
        p.write_text("x")
    folder_named_like_ours = tmp_path / temp_name("net.json", dead)
    folder_named_like_ours.mkdir()

    assert remove_stale_temp_files(tmp_path, "net.json") == [ours_dead]
    assert not ours_dead.exists() and ours_other_file.exists()
    assert all(p.exists() for p in (ours_alive, ours_this_process, *not_ours))
    assert folder_named_like_ours.is_dir()
    assert remove_stale_temp_files(tmp_path) == [ours_other_file]   # the whole folder
    assert all(p.exists() for p in (ours_alive, ours_this_process, *not_ours))


@posix_only
def test_a_symlink_named_like_a_temp_file_is_left_alone(tmp_path):
    precious = tmp_path / "precious.json"
    precious.write_text("keep")
    link = tmp_path / temp_name("net.json", dead_pid())
    link.symlink_to(precious)
    assert remove_stale_temp_files(tmp_path) == []
    assert link.is_symlink() and precious.read_text() == "keep"


@posix_only
@pytest.mark.parametrize("mode", [0o664, 0o600, 0o640, 0o644])
def test_saving_keeps_the_files_mode(tmp_path, mode):
    path = tmp_path / "net.json"
    save(Document(name="a"), path)
    os.chmod(path, mode)
    save(Document(name="b"), path)
    assert stat.S_IMODE(os.stat(path).st_mode) == mode
    assert load_file(path).name == "b"


@posix_only
@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_a_new_file_follows_the_umask(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        save(Document(name="a"), tmp_path / "net.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "net.json").st_mode) == expected


@posix_only
def test_saving_keeps_the_group_and_writes_through_a_symlink(tmp_path):
    real = tmp_path / "real.json"
    save(Document(name="a"), real)
    groups = os.getgroups()
    other = next((g for g in groups if g != os.stat(real).st_gid), None)
    if other is not None:
        os.chown(real, -1, other)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    save(Document(name="b"), link)
    assert link.is_symlink() and load_file(real).name == "b"
    assert os.stat(real).st_gid == (other if other is not None else os.getgid())


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    import errno

    from graph import atomic_file

    path = tmp_path / "net.json"
    save(Document(name="old"), path)

    def full(*_a):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(atomic_file.os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        save(Document(name="new"), path)
    assert temp_files(tmp_path) == [] and load_file(path).name == "old"


def test_a_lone_surrogate_in_a_name_saves_and_reads_back_the_same(tmp_path):
    doc = Document(name="bad\udc80name")
    doc.graph.insert_node(Node("id\ud800", "ReLU", {}, "", (0.0, 0.0)))
    write_atomic(tmp_path / "x.json", "ok")   # plain text still works
    save(doc, tmp_path / "net.json")
    back = load_file(tmp_path / "net.json")
    assert back.name == "bad\udc80name" and list(back.graph.nodes) == ["id\ud800"]
