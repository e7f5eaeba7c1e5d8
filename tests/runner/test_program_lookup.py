"""Finding the interpreter a script runs with, once per PATH, without going stale."""

from __future__ import annotations

from pathlib import Path

from argonaut.runner.interpreters import located


def _tool(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    tool = folder / "argonaut-test-tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    return tool


def test_the_first_folder_on_the_scripts_path_that_holds_the_program_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    tool = _tool(second)
    env = {"PATH": f"{first}:{second}"}
    assert located("argonaut-test-tool", env) == str(tool)
    assert located("argonaut-test-tool", {"PATH": str(first)}) is None  # another PATH, another answer


def test_a_program_removed_since_it_was_found_is_looked_up_again(tmp_path: Path) -> None:
    old = _tool(tmp_path / "old")
    env = {"PATH": f"{tmp_path / 'old'}:{tmp_path / 'new'}"}
    assert located("argonaut-test-tool", env) == str(old)
    old.unlink()
    new = _tool(tmp_path / "new")
    assert located("argonaut-test-tool", env) == str(new)
    new.unlink()
    assert located("argonaut-test-tool", env) is None


def test_a_program_installed_after_a_miss_is_found(tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path / "bin")}
    assert located("argonaut-test-tool", env) is None
    tool = _tool(tmp_path / "bin")  # python3 installed on a worker after a script found it missing
    assert located("argonaut-test-tool", env) == str(tool)
