"""The README's server options table against ``argonaut server --help`` and the settings it feeds.

A newcomer reads the table, not the code: an option missing from it (``--node-name`` was) or an
environment name that the settings do not read is a promise the server breaks.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from argonaut.config import ServerSettings

README = Path(__file__).resolve().parents[2] / "README.md"
ARGONAUT = Path(sys.executable).with_name("argonaut")


def _table_rows() -> list[list[str]]:
    text = README.read_text()
    section = text.split("### Server options", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def test_the_options_table_lists_every_option_of_server_help() -> None:
    done = subprocess.run([str(ARGONAUT), "server", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    in_help = set(re.findall(r"^\s+(--[a-z][a-z-]*)", done.stdout, re.MULTILINE)) - {"--help"}
    in_table = {re.findall(r"--[a-z][a-z-]*", row[0])[0] for row in _table_rows()}
    assert in_table == in_help


def test_the_options_tables_environment_names_are_read_by_the_settings() -> None:
    fields = {f"ARGONAUT_{name.upper()}" for name in ServerSettings.model_fields}
    for row in _table_rows():
        names = re.findall(r"ARGONAUT_[A-Z_]+", row[1])
        assert names, row
        assert set(names) <= fields, row
