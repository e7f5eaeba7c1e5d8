"""How fast the portal's main pages are with 10,000 tasks stored: time from navigation start until the
page's section says ``data-ready="true"`` (its main data has loaded and rendered), in headless chromium.

The tasks are made by running one real ad hoc script, then stopping the server and copying that task
(its row, activity tree and few log lines) 10,000 times straight into its SQLite store, with the store's
own table definitions, at times spread over the last 30 days: running 10,000 scripts would take minutes
and measure the runner, not the portal. The server then starts again on that store.

Each page is measured two ways, RUNS times each: a full load (``page.goto``: the shell, the session and
the page's data; timed from the navigation's start by the page's own clock) and an in-app navigation (a
click on a portal link while signed in; timed from the click). A page whose route does not exist yet
shows the shell's "Not found" and is reported as missing; one that never becomes ready, as a timeout.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, insert, select

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from _server import percentile, rss_mb, running_node, table  # noqa: E402
from argonaut.store.tables import task_log, tasks  # noqa: E402
from browser import CHROMIUM_ARGS, chromium_path  # noqa: E402

TASKS = 10_000
RUNS = 15
GOAL_MS = 200.0
TIMEOUT_MS = 5_000
SPACE = "Spaces-1"

# Waits (in the page, on DOM changes, so no polling delay is measured) for a page section that is
# ready and was not there before the navigation; answers its time on the page's clock and whether it
# is the shell's "Not found".
READY = """(since) => new Promise((resolve) => {
  const check = () => {
    const s = document.querySelector('section.page[data-ready="true"]:not([data-bench-old])');
    if (!s) return false;
    observer.disconnect();
    clearTimeout(timer);
    const h1 = s.querySelector('h1');
    resolve({ ms: performance.now() - since, missing: !!h1 && h1.textContent.trim() === 'Not found' });
    return true;
  };
  const observer = new MutationObserver(check);
  const watch = { subtree: true, childList: true, attributes: true, attributeFilter: ['data-ready'] };
  observer.observe(document, watch);
  const timer = setTimeout(() => { observer.disconnect(); resolve({ ms: null, missing: false }); }, TIMEOUT);
  check();
})""".replace("TIMEOUT", str(TIMEOUT_MS))

# An in-app navigation as a user makes it: a click on a portal link, which the shell intercepts.
CLICK = """(href) => {
  document.querySelectorAll('section.page').forEach((s) => s.setAttribute('data-bench-old', '1'));
  const since = performance.now();
  const a = document.createElement('a');
  a.href = href;
  document.body.appendChild(a);
  a.click();
  a.remove();
  return since;
}"""


def seed(url: str, key: str) -> int:
    """One real ad hoc script task, run to its end; answers its number."""
    with httpx.Client(base_url=url, headers={"X-Octopus-ApiKey": key}, timeout=60) as client:
        script = {
            "Name": "AdHocScript",
            "Arguments": {"ScriptBody": "echo one; echo two; echo three", "Syntax": "Bash"},
        }
        created = client.post(f"/api/{SPACE}/tasks", json=script)
        created.raise_for_status()
        task_id = str(created.json()["Id"])
        with client.stream("GET", f"/api/tasks/{task_id}/stream") as stream:
            for line in stream.iter_lines():
                if line.startswith('{"Type":"Task"'):  # the stream's last item: the finished task
                    break
        state = client.get(f"/api/tasks/{task_id}").json()["State"]
        assert state == "Success", state
    return int(task_id.split("-")[1])


def copy_tasks(db: Path, number: int) -> tuple[int, int]:
    """Copy task ``number`` (row and log) TASKS times; answers the first and last new numbers."""
    engine = create_engine(f"sqlite:///{db}")
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        row = dict(conn.execute(select(tasks).where(tasks.c.id == number)).mappings().one())
        lines = [
            dict(r) for r in conn.execute(select(task_log).where(task_log.c.task_id == number)).mappings()
        ]
        first = int(conn.execute(select(func.max(tasks.c.id))).scalar_one()) + 1
        took = (row["completed_time"] or row["start_time"] or row["queue_time"]) - row["queue_time"]
        batch_rows: list[dict[str, Any]] = []
        batch_lines: list[dict[str, Any]] = []
        for n in range(TASKS):
            queued = now - dt.timedelta(days=30) * (TASKS - n) / TASKS
            task_number = first + n
            batch_rows.append(
                {
                    **row,
                    "id": task_number,
                    "queue_time": queued,
                    "start_time": queued + dt.timedelta(milliseconds=40),
                    "completed_time": queued + took,
                    "last_updated_time": queued + took,
                }
            )
            shift = queued.timestamp() - row["queue_time"].replace(tzinfo=dt.UTC).timestamp()
            batch_lines += [
                {**line, "task_id": task_number, "occurred": line["occurred"] + shift} for line in lines
            ]
            if len(batch_rows) == 1000:
                conn.execute(insert(tasks), batch_rows)
                conn.execute(insert(task_log), batch_lines)
                batch_rows, batch_lines = [], []
        if batch_rows:
            conn.execute(insert(tasks), batch_rows)
            conn.execute(insert(task_log), batch_lines)
    engine.dispose()
    return first, first + TASKS - 1


def sign_in(page: Any, password: str) -> None:
    page.goto("/app")
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()


# When the shell's modules had loaded: its first request, for the signed-in user.
SHELL = """() => {
  const me = performance.getEntriesByType('resource').find((e) => e.name.endsWith('/api/users/me'));
  return me ? me.startTime : null;
}"""


def full_load(page: Any, path: str) -> tuple[float | None, bool, float | None]:
    """A full load of ``path``: ms until ready, whether it is missing, ms until the shell had loaded."""
    page.goto(path, wait_until="commit")
    found = page.evaluate(READY, 0)  # performance.now() counts from this navigation's start
    return found["ms"], found["missing"], page.evaluate(SHELL)


def in_app(page: Any, path: str) -> tuple[float | None, bool]:
    since = page.evaluate(CLICK, path)
    found = page.evaluate(READY, since)
    return found["ms"], found["missing"]


def measure(url: str, password: str, pages: dict[str, str]) -> dict[str, dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    results: dict[str, dict[str, Any]] = {
        name: {"full": [], "nav": [], "shell": [], "missing": False, "timeouts": 0} for name in pages
    }
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(base_url=url, viewport={"width": 1400, "height": 900})
        page = context.new_page()
        sign_in(page, password)
        for name, path in pages.items():  # warm up once, and leave out pages missing or never ready
            ms, results[name]["missing"], _ = full_load(page, path)
            results[name]["never"] = ms is None
        present = {n: p for n, p in pages.items() if not results[n]["missing"] and not results[n]["never"]}
        for _ in range(RUNS):
            for name, path in present.items():
                ms, _, shell = full_load(page, path)
                if ms is None:
                    results[name]["timeouts"] += 1
                else:
                    results[name]["full"].append(ms)
                if shell is not None:
                    results[name]["shell"].append(shell)
            page.goto("/app/profile", wait_until="commit")
            page.evaluate(READY, 0)
            for name, path in present.items():
                ms, _ = in_app(page, path)
                if ms is None:
                    results[name]["timeouts"] += 1
                else:
                    results[name]["nav"].append(ms)
        browser.close()
    return results


def main() -> None:
    started = time.monotonic()
    password = "bench-" + secrets.token_hex(8)
    os.environ["ARGONAUT_ADMIN_PASSWORD"] = password
    key = "API-BENCH" + secrets.token_hex(14).upper()
    home = Path(tempfile.mkdtemp(prefix="argonaut-bench-portal-"))
    try:
        with running_node("--comms-port", "0", home=home, key=key) as node:
            seeded = seed(node.url, key)
        t0 = time.monotonic()
        first, last = copy_tasks(home / "argonaut.db", seeded)
        print(
            f"stored {TASKS} finished tasks (copies of ServerTasks-{seeded}) in {time.monotonic() - t0:.1f} s"
        )
        with running_node("--comms-port", "0", home=home, key=key) as node:
            middle = (first + last) // 2
            pages = {
                "dashboard": f"/app/{SPACE}/dashboard",
                "tasks list": f"/app/{SPACE}/tasks",
                "task page": f"/app/{SPACE}/tasks/ServerTasks-{middle}",
                "workers": f"/app/{SPACE}/infrastructure/workers",
                "projects": f"/app/{SPACE}/projects",
                "people": f"/app/{SPACE}/people",
                "audit": f"/app/{SPACE}/audit",
            }
            rss_start = rss_mb(node.pid)
            results = measure(node.url, password, pages)
            rss = rss_mb(node.pid)
        rows = []
        for name, found in results.items():
            if found["missing"] or found["never"]:
                what = "missing" if found["missing"] else f"not ready in {TIMEOUT_MS / 1000:.0f} s"
                rows.append([name, what, "", "", "", "", "", ""])
                continue
            full, nav = found["full"], found["nav"]
            p50f, p95f = percentile(full, 50), percentile(full, 95)
            p50n, p95n = percentile(nav, 50), percentile(nav, 95)
            verdict = "ok" if full and nav and max(p95f, p95n) <= GOAL_MS else "SLOW"
            if found["timeouts"]:
                verdict = f"{found['timeouts']} timed out"
            shell = f"{percentile(found['shell'], 50):.0f}"
            rows.append(
                [
                    name,
                    f"{p50f:.0f}",
                    f"{p95f:.0f}",
                    shell,
                    f"{p50n:.0f}",
                    f"{p95n:.0f}",
                    f"{GOAL_MS:.0f}",
                    verdict,
                ]
            )
        header = [
            "page",
            "load p50 ms",
            "load p95 ms",
            "of it shell p50",
            "in-app p50 ms",
            "in-app p95 ms",
            "goal ms",
            "",
        ]
        table(f"Portal pages until data-ready, {TASKS} tasks stored, {RUNS} runs each", header, rows)
        print("(load: page.goto until ready; of it shell: until the shell's modules had loaded and it")
        print(" asked who is signed in; in-app: a click on a portal link until ready)")
        print(f"server RSS: {rss_start:.0f} MB at start, {rss:.0f} MB after the runs")
        print(f"the benchmark took {time.monotonic() - started:.0f} s")
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
