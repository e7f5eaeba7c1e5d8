"""Debian's chromium, driven by Playwright through ``executable_path``: no browser is ever downloaded.

``make system-deps`` installs chromium when it is missing (Debian, as root). Without it the portal tests
skip, except under ``CI=true``, where they fail: a test whose component cannot start does not pass.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

# What the machine's closed network needs: no background fetches to Google's hosts at every start.
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests run as root, where chromium's sandbox will not start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if found is None:
        message = "chromium is not installed: `make system-deps` (as root on Debian) installs it"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@contextmanager
def launched() -> Iterator[object]:
    """A headless chromium for one test process (its pages get a fresh context per test)."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
