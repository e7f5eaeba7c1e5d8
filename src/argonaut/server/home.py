"""The node's home folder: every piece of its local state lives under it."""

from __future__ import annotations

import os

from argonaut.config import ServerSettings


def prepare_home(settings: ServerSettings) -> None:
    for folder in (settings.home, settings.artifacts_dir):
        folder.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.home, 0o700)
    if settings.built_in_worker_user:
        # The script user may have to reach its run folders under work/ (when they are not memory-backed,
        # see work_folder.py) but nothing else in the home folder.
        os.chmod(settings.home, 0o711)
