"""Task logs out of the store page by page: the bodies of ``raw``, ``details`` and ``stream``.

A log can hold millions of lines. Reading one whole held the node's only SQLite connection (and with it
every other request) for seconds and grew the process by hundreds of MB per reader. So every view here is
an async generator that reads :data:`PAGE_LINES` lines per query (keyset on the line number), renders
them, hands the bytes to the response, and lets the event loop run other requests before the next page.
A view holds one page at a time, whatever the log's size; a slow client holds back its own reader only,
through the transport's flow control.

Readers take turns (``Services.log_turns``): a page is read and rendered while holding the turn, so
however many clients read logs at once, the event loop spends at most one page's work on them between
two looks at everything else. Without turns, each concurrent reader added a page's delay to every other
request.

Each view is of one :class:`LogSnapshot`: the task row, its activity tree, and for a task executing on
this node the lines not stored yet and the number of the first line written after the snapshot, so a
view never shows a line twice or leaves one out while the log grows. ``stream`` then carries on with the
live events.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict, defaultdict
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import RowMapping

from argonaut.api import resources
from argonaut.domain.ids import Collection, format_id
from argonaut.domain.tasks import TaskState
from argonaut.orchestrator.events import Completed, Event
from argonaut.store import tasks_repo
from argonaut.store.tasks_repo import LogRow

if TYPE_CHECKING:
    from argonaut.api.services import Services

ELSEWHERE_POLL_S = 0.25  # how often a stream reads the store for a task this node does not run
# With one node per database every change reaches a follower through its watch (a claim here, a cancel,
# the end): its poll only notices a task deleted under it (a space or a run removed). Polling a queued
# task every 250 ms had cost three task reads per task while a burst waited for the cap.
LONE_NODE_POLL_S = 5.0
# Lines per query: one turn reads and renders a page, so this bounds how long log readers keep other
# requests waiting (a few ms; see bench/logs.py) and what each reader holds.
PAGE_LINES = 250
# Lines per query when only counting characters for PhysicalLogSize: SQLite does that work alone.
SIZE_PAGE_LINES = 5_000

_JSON = json.JSONEncoder(separators=(",", ":"))
_FINISHED = b'{"Type":"Task",'  # how the last line of follow() starts
# A str as a JSON string literal, as _JSON writes them (C-accelerated). ASCII-only output cannot fail to
# encode, whatever a line holds (a lone surrogate from an agent's JSON, say).
_quote = encode_basestring_ascii

Render = Callable[[Sequence[LogRow]], bytes]


@dataclass(frozen=True, slots=True)
class LogSnapshot:
    task: RowMapping
    activities: list[dict[str, Any]]
    unstored: list[LogRow]  # lines of an executing task that were not stored yet
    end: int | None  # lines numbered from here on came after the snapshot; None when the task is done
    # Lines numbered from here on were not in the store at the snapshot (they are in ``unstored`` or come
    # later), so reading from there on is a query for nothing; None: read the store.
    stored_end: int | None = None

    @property
    def task_id(self) -> int:
        return int(self.task["id"])

    def unstored_lines(self, since: int, activity: str | None = None, verbose: bool = True) -> list[LogRow]:
        return [
            row
            for row in self.unstored
            if row.seq >= since
            and (activity is None or row.activity == activity)
            and (verbose or row.category != "Verbose")
        ]


async def snapshot(
    svc: Services, task_id: int, loaded: RowMapping | None = None, watched: bool = False
) -> LogSnapshot | None:
    """The task and where its log stands now; None if there is no such task.

    ``loaded`` is the task's row as read a moment ago: when the task is running on this node its live log
    says all a follower needs (the row's state only tells it is not finished), so the row is not read
    again. Nor is it when ``watched`` (the follower's watch was registered before ``loaded`` was read) and
    the row was queued or finished: a queued task's every line comes after the watch, a finished one's are
    all stored. An executing row that no live log backs is read again: its task may have ended since, with
    lines stored after the row and published before the watch. Views that show the task itself pass none.
    """
    # The live log first: a line not unstored at this moment is stored already, so store + unstored
    # misses nothing, and lines numbered from ``end`` on are the ones written after this moment.
    live = svc.queue.live_log(task_id)
    unstored = live.unstored() if live else []
    end = live.next_seq if live else None
    activities = [dict(a) for a in live.activities] if live else None
    if loaded is not None and (live is not None or (watched and _settled(loaded))):
        task: RowMapping | None = loaded
    else:
        async with svc.store.single() as conn:
            task = await tasks_repo.get(conn, task_id)
    if task is None:
        return None
    stored_end: int | None = None
    if TaskState(task["state"]).is_completed:
        # A task's last lines are stored in the transaction that completes it: the store has them all.
        unstored, end = [], None
    elif live is None:
        end = None  # executing elsewhere or not started: what the store holds is all there is
        stored_end = int(task["log_count"])  # kept with every batch of lines stored, in its transaction
    else:
        stored_end = min((row.seq for row in unstored), default=live.next_seq)
    if activities is None:
        activities = list(task["activities"])
    return LogSnapshot(task, activities, unstored, end, stored_end)


def _settled(row: RowMapping) -> bool:
    state = TaskState(row["state"])
    return state is TaskState.QUEUED or state.is_completed


async def pages(
    svc: Services,
    snap: LogSnapshot,
    render: Render,
    since: int = 0,
    activity: str | None = None,
    verbose: bool = True,
) -> AsyncIterator[bytes]:
    """The snapshot's lines numbered ``since`` or later, oldest first, rendered a page at a time.

    Each page is read (its own short transaction: on SQLite the one connection is free between pages)
    and rendered in one turn; the event loop runs other work before the next.
    """
    next_seq = since
    while snap.stored_end is None or next_seq < snap.stored_end:
        async with svc.log_turns:
            async with svc.store.single() as conn:
                page = await tasks_repo.read_log_page(
                    conn,
                    snap.task_id,
                    next_seq,
                    PAGE_LINES,
                    before=snap.end,
                    activity=activity,
                    verbose=verbose,
                )
            chunk = render(page) if page else b""
        if page:
            next_seq = page[-1].seq + 1
            yield chunk
        if len(page) < PAGE_LINES:
            break
        await asyncio.sleep(0)  # taking a free turn does not yield, so yield here
    rest = snap.unstored_lines(next_seq, activity, verbose)
    if rest:
        yield render(rest)


# -- raw -----------------------------------------------------------------------------------------------


async def raw_text(svc: Services, snap: LogSnapshot) -> AsyncIterator[bytes]:
    """The described system's plain-text log: a header, then each line under its activity's name."""
    task = snap.task
    header = [
        f"Task ID:        {format_id(Collection.SERVER_TASKS, task['id'])}",
        f"Related IDs:    {format_id(Collection.SPACES, task['space_id']) if task['space_id'] else ''}",
        f"Task status:    {task['state']}",
        f"Task queued:    {resources.iso(task['queue_time'])}",
        f"Task started:   {resources.iso(task['start_time']) or ''}",
        f"Task completed: {resources.iso(task['completed_time']) or ''}",
        f"Task duration:  {resources.task(task)['Duration'] or ''}",
        f"Server node:    {task['server_node'] or ''}",
        "",
    ]
    yield ("\n".join(header) + "\n").encode("utf-8", "replace")
    names = {a["Id"]: a["Name"] for a in snap.activities}
    stamps = _Stamps("%H:%M:%S", "")
    current: list[str | None] = [None]  # the activity of the line before, across pages

    padded: dict[str, str] = {}  # each category as its column shows it, formatted once

    def render(rows: Sequence[LogRow]) -> bytes:
        out: list[str] = []
        append = out.append
        activity_before = current[0]
        for (_, activity, _, category, text, _), stamp in zip(rows, stamps.page(rows), strict=True):
            if activity != activity_before:
                activity_before = activity
                append(f"                    | == {names.get(activity, activity)} ==\n")
            column = padded.get(category) or padded.setdefault(category, f"  {category:<9} |   ")
            append(f"{stamp}{column}{text}\n")
        current[0] = activity_before
        return "".join(out).encode("utf-8", "replace")

    async for chunk in pages(svc, snap, render):
        yield chunk


# -- details -------------------------------------------------------------------------------------------


async def details_json(
    svc: Services, snap: LogSnapshot, verbose: bool, tail: int | None, pending_reason: str | None = None
) -> AsyncIterator[bytes]:
    """``{Task, ActivityLogs, Progress, PhysicalLogSize, OutputVariables}``, written as it is read.

    Each activity's ``LogElements`` come from the store a page at a time (through the activity index);
    with ``tail`` only its last lines are read at all. ``pending_reason`` is the route's, so the Task
    here says why it waits as every other view of it does.
    """
    task = snap.task
    yield f'{{"Task":{_JSON.encode(resources.task(task, pending_reason))},"ActivityLogs":['.encode()
    children: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    known = {a["Id"] for a in snap.activities}
    for activity in snap.activities:
        parent = activity.get("ParentId")
        children[parent if parent in known else None].append(activity)
    view = _DetailsView(svc, snap, children, verbose, tail)
    for index, root in enumerate(children[None]):
        if index:
            yield b","
        async for chunk in view.activity(root):
            yield chunk
    size = await svc.log_sizes.size(svc, snap)
    finished = TaskState(task["state"]).is_completed
    outputs = [
        {**v, "Value": "********" if v.get("IsSensitive") else v.get("Value")}
        for v in task["output_variables"]
    ]
    progress = {"ProgressPercentage": 100 if finished else 0, "EstimatedTimeRemaining": None}
    yield (
        f'],"Progress":{_JSON.encode(progress)},"PhysicalLogSize":{size},'
        f'"OutputVariables":{_JSON.encode(outputs)}}}'
    ).encode()


@dataclass
class _DetailsView:
    svc: Services
    snap: LogSnapshot
    children: dict[str | None, list[dict[str, Any]]]
    verbose: bool
    tail: int | None

    def __post_init__(self) -> None:
        self.stamps = _Stamps("%Y-%m-%dT%H:%M:%S", "+00:00")

    async def activity(self, activity: dict[str, Any]) -> AsyncIterator[bytes]:
        """One node of the tree: the activity's fields, its children, then its log elements."""
        fields = {k: v for k, v in activity.items() if k != "ParentId"}
        opening = _JSON.encode(fields)[:-1]
        yield f'{opening}{"," if fields else ""}"Children":['.encode()
        for index, child in enumerate(self.children.get(activity["Id"], ())):
            if index:
                yield b","
            async for chunk in self.activity(child):
                yield chunk
        yield b'],"LogElements":['
        since = await self._tail_start(activity["Id"])
        if since is not None:
            first = True
            async for chunk in pages(self.svc, self.snap, self._render, since, activity["Id"], self.verbose):
                yield chunk if first else b"," + chunk
                first = False
        summary = "true" if activity.get("ParentId") is None else "false"
        yield f'],"ShowAtSummaryLevel":{summary}}}'.encode()

    def _render(self, rows: Sequence[LogRow]) -> bytes:
        """Log elements written with f-strings and json's own string escaper: a dict per line and
        encoding it cost several times more, and rendering is most of what a page costs."""
        categories = _CATEGORIES
        return ",".join(
            [
                f'{{"Number":{seq},"Category":{categories.get(category) or _quote(category)},'
                f'"OccurredAt":"{stamp}","MessageText":{_quote(text)}}}'
                for (seq, _, _, category, text, _), stamp in zip(rows, self.stamps.page(rows), strict=True)
            ]
        ).encode()

    async def _tail_start(self, activity: str) -> int | None:
        """The number of the first line an activity shows with ``tail``; None when it shows none."""
        tail, snap = self.tail, self.snap
        if tail is None:
            return 0
        if tail == 0:
            return None
        recent = snap.unstored_lines(0, activity, self.verbose)  # newer than every line stored before them
        if len(recent) >= tail:
            return recent[-tail].seq
        # Count stored lines below the unstored ones only: a line just stored may still be listed unstored.
        before = recent[0].seq if recent else snap.end
        async with self.svc.store.transaction() as conn:
            start = await tasks_repo.log_tail_start(
                conn, snap.task_id, activity, tail - len(recent), before=before, verbose=self.verbose
            )
        return start if start is not None else 0


_CATEGORIES = {c: _quote(c) for c in ("Verbose", "Info", "Highlight", "Wait", "Warning", "Error", "Fatal")}


class LogSizes:
    """``PhysicalLogSize`` of each task (characters plus a newline per line, every category), counted
    once: a log only grows at its end, so each task's count is kept with the number of the next line to
    count, and a later request counts only the lines added since. Without this, a client polling
    ``details?tail=20`` would re-count a big log on every poll. The most recently used ``capacity``
    tasks are remembered."""

    def __init__(self, capacity: int = 4096) -> None:
        self._capacity = capacity
        self._counted: OrderedDict[int, tuple[int, int]] = OrderedDict()

    async def size(self, svc: Services, snap: LogSnapshot) -> int:
        task_id = snap.task_id
        next_seq, size = self._counted.get(task_id, (0, 0))
        while True:
            async with svc.log_turns, svc.store.transaction() as conn:
                count, chars, last = await tasks_repo.log_size_page(conn, task_id, next_seq, SIZE_PAGE_LINES)
            size, next_seq = size + chars, last + 1
            if count < SIZE_PAGE_LINES:
                break
            await asyncio.sleep(0)
        self._counted[task_id] = (next_seq, size)
        self._counted.move_to_end(task_id)
        while len(self._counted) > self._capacity:
            self._counted.popitem(last=False)
        return size + sum(len(row.text) + 1 for row in snap.unstored_lines(next_seq))


# -- stream --------------------------------------------------------------------------------------------


async def follow(
    svc: Services, task: RowMapping, since: int, watching: asyncio.Queue[Event] | None = None
) -> AsyncGenerator[bytes, None]:
    """NDJSON: the log from line ``since``, live lines as they are written, then the finished task.

    ``task`` is the row the route read to check the caller may see it; ``watching`` the task's watch when
    the route registered it before that read (see ``snapshot``), which then saves reading it again."""
    task_id = int(task["id"])
    # Watch first, so nothing between the snapshot and the queue is lost.
    queue = watching if watching is not None else svc.events.watch(task_id)
    try:
        snap = await snapshot(svc, task_id, task, watched=watching is not None)
        if snap is None:
            return
        lines = _StreamLines(since)
        async for chunk in pages(svc, snap, lines.render, since):
            yield chunk
        final: Any = snap.task if TaskState(snap.task["state"]).is_completed else None
        poll_s = LONE_NODE_POLL_S if svc.queue.sees_every_change else ELSEWHERE_POLL_S
        while final is None:
            try:
                async with asyncio.timeout(poll_s):  # no task per wait, as wait_for makes
                    batch = [await queue.get()]
            except TimeoutError:
                if svc.queue.live_log(task_id) is not None:
                    continue  # running here: its lines come through the queue
                # Queued, or running on another node: what that node stores (every 200 ms) is read here.
                async for chunk, done in _stored_since(svc, task_id, lines):
                    if chunk:
                        yield chunk
                    final = done
                continue
            while not queue.empty():
                batch.append(queue.get_nowait())
            rows = []
            for item in batch:
                if isinstance(item, Completed):
                    final = item.row
                elif item.seq >= lines.next_seq:
                    rows.append(item)
            if rows:
                yield lines.render(rows)
        yield _JSON.encode({"Type": "Task", "Task": resources.task(final)}).encode() + b"\n"
    finally:
        svc.events.unwatch(task_id, queue)


def is_last(chunk: bytes) -> bool:
    """Whether ``chunk`` of :func:`follow` is its last, the finished task: it can end the response in the
    same write."""
    return chunk.startswith(_FINISHED)


async def _stored_since(
    svc: Services, task_id: int, lines: _StreamLines
) -> AsyncIterator[tuple[bytes, RowMapping | None]]:
    """Lines the store holds from ``lines.next_seq`` on, then the task row if it has finished. The state is
    read first: a finished task's last lines were stored with its completion, so none is missed. The row's
    ``log_count`` (kept in the transaction of every batch of lines) says whether there is any line to read:
    a queued task, polled until it starts, costs one read per poll."""
    async with svc.store.single() as conn:
        task = await tasks_repo.get(conn, task_id)
    done = task if task is not None and TaskState(task["state"]).is_completed else None
    while task is None or int(task["log_count"]) > lines.next_seq:
        async with svc.log_turns:
            async with svc.store.single() as conn:
                page = await tasks_repo.read_log_page(conn, task_id, lines.next_seq, PAGE_LINES)
        if page:
            yield lines.render(page), None
        if len(page) < PAGE_LINES:
            break
    yield b"", done


class _StreamLines:
    """``{"Type":"Log",Number,Category,OccurredAt,MessageText,ActivityId}`` per line, newline-delimited;
    remembers the number of the next line to send, so no line goes out twice."""

    def __init__(self, since: int) -> None:
        self.next_seq = since
        self._stamps = _Stamps("%Y-%m-%dT%H:%M:%S", "+00:00")
        self._endings: dict[str, str] = {}  # activity id -> how its lines end: its id, quoted, and "}\n"

    def render(self, rows: Sequence[LogRow]) -> bytes:
        categories, endings, stamps = _CATEGORIES, self._endings, self._stamps.page(rows)
        out: list[str] = []
        append = out.append
        for (seq, activity_id, _, category, text, _), stamp in zip(rows, stamps, strict=True):
            ending = endings.get(activity_id)
            if ending is None:
                ending = endings[activity_id] = f',"ActivityId":{_quote(activity_id)}}}\n'
            append(
                f'{{"Type":"Log","Number":{seq},'
                f'"Category":{categories.get(category) or _quote(category)},'
                f'"OccurredAt":"{stamp}","MessageText":{_quote(text)}{ending}'
            )
        if rows:
            self.next_seq = rows[-1].seq + 1
        return "".join(out).encode()


_MILLIS = [f".{n:03d}" for n in range(1000)]


class _Stamps:
    """UTC timestamps to the millisecond as ``datetime`` writes them (its rounding to the microsecond
    included), with the part above the second rendered once per second: a log's lines come in bursts,
    and a ``datetime`` per line was the largest cost of rendering a page. A page's stamps are made in
    one call (``page``): a call per line was a fifth of rendering a big log."""

    def __init__(self, second_format: str, suffix: str) -> None:
        self._second_format = second_format
        self._suffix = suffix
        self._second = -1
        self._prefix = ""

    def page(self, rows: Sequence[tuple[Any, ...]]) -> list[str]:
        """The stamp of each row's ``occurred`` (its third field), in order."""
        last, prefix, suffix, millis = self._second, self._prefix, self._suffix, _MILLIS
        stamps: list[str] = []
        append = stamps.append
        for row in rows:
            occurred = row[2]
            second = int(occurred)
            micros = round((occurred - second) * 1_000_000)  # the subtraction is exact, as modf's would be
            if micros >= 1_000_000:
                second, micros = second + 1, micros - 1_000_000
            if second != last:
                last = second
                prefix = time.strftime(self._second_format, time.gmtime(second))
            append(f"{prefix}{millis[micros // 1000]}{suffix}")
        self._second, self._prefix = last, prefix
        return stamps
