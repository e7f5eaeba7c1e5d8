"""Where the built-in worker makes run folders: memory-backed when it is safe, the home folder otherwise."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from argonaut.config import ServerSettings
from argonaut.server.work_folder import memory_backed_folder, release_root, work_root


def settings(home: Path, **more: object) -> ServerSettings:
    return ServerSettings(home=home, **more)  # type: ignore[arg-type]


@pytest.fixture
def shm(tmp_path: Path) -> Path:
    """A stand-in for /dev/shm: world-writable with the sticky bit, as the real one is."""
    folder = tmp_path / "shm"
    folder.mkdir()
    os.chmod(folder, 0o1777)
    return folder


def test_run_folders_go_to_a_private_memory_backed_folder(tmp_path: Path, shm: Path) -> None:
    root = work_root(settings(tmp_path / "home"), shm)
    assert root == memory_backed_folder((tmp_path / "home").resolve(), shm)
    assert root.parent == shm and root.is_dir()
    assert root.stat().st_mode & 0o777 == 0o700
    # Another node's home gets a folder of its own, so neither prunes the other's scripts.
    assert work_root(settings(tmp_path / "other"), shm) != root


def test_a_script_user_may_traverse_but_not_list(tmp_path: Path, shm: Path) -> None:
    root = work_root(settings(tmp_path / "home", built_in_worker_user="nobody"), shm)
    assert root.stat().st_mode & 0o777 == 0o711


def test_a_symlink_planted_in_its_place_is_not_followed(
    tmp_path: Path, shm: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = (tmp_path / "home").resolve()
    elsewhere = tmp_path / "attacker"
    elsewhere.mkdir()
    memory_backed_folder(home, shm).symlink_to(elsewhere)
    with caplog.at_level(logging.WARNING):
        root = work_root(settings(home), shm)
    assert root == home / "work" and root.is_dir()
    assert "not a folder only this user owns" in caplog.text
    assert not any(elsewhere.iterdir())


def test_a_folder_others_may_write_is_not_used(tmp_path: Path, shm: Path) -> None:
    home = (tmp_path / "home").resolve()
    planted = memory_backed_folder(home, shm)
    planted.mkdir()
    os.chmod(planted, 0o777)
    assert work_root(settings(home), shm) == home / "work"


def test_without_a_memory_backed_file_system_the_home_folder_is_used(tmp_path: Path) -> None:
    home = (tmp_path / "home").resolve()
    assert work_root(settings(home), tmp_path / "no-such-shm") == home / "work"


def test_a_chosen_work_folder_is_used_as_given(tmp_path: Path, shm: Path) -> None:
    chosen = tmp_path / "disk" / "runs"
    assert work_root(settings(tmp_path / "home", work_folder=chosen), shm) == chosen
    assert chosen.is_dir() and not any(shm.iterdir())


def test_a_clean_stop_removes_only_an_empty_memory_backed_folder(tmp_path: Path) -> None:
    home = (tmp_path / "home").resolve()
    root = work_root(settings(home))  # the real /dev/shm, as a node uses it
    (root / "handed-over-run").mkdir()
    release_root(root, settings(home))
    assert root.is_dir()  # a script handed over to the next start keeps its folder
    (root / "handed-over-run").rmdir()
    release_root(root, settings(home))
    assert not root.exists()


def statvfs_like(real: os.statvfs_result, flag: int = 0, free_blocks: int | None = None) -> os.statvfs_result:
    fields = list(real)
    fields[8] = real.f_flag | flag  # f_flag
    if free_blocks is not None:
        fields[4] = free_blocks  # f_bavail
    return os.statvfs_result(fields)


def test_a_noexec_memory_file_system_is_not_used(tmp_path: Path, shm: Path) -> None:
    home = (tmp_path / "home").resolve()
    noexec = lambda p: statvfs_like(os.statvfs(p), flag=os.ST_NOEXEC)  # noqa: E731
    assert work_root(settings(home), shm, noexec) == home / "work"
    assert not any(shm.iterdir())


def test_a_small_memory_file_system_is_not_used(tmp_path: Path, shm: Path) -> None:
    home = (tmp_path / "home").resolve()
    small = lambda p: statvfs_like(os.statvfs(p), free_blocks=16)  # noqa: E731  (16 blocks free)
    assert work_root(settings(home), shm, small) == home / "work"
    assert work_root(settings(home), shm) != home / "work"  # room enough and exec allowed: memory
