"""The server's log formatters (``config.logs``): the ids a line carries come from the context it was
logged in, never leak into work started elsewhere, and JSON lines are one parseable object each."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from argonaut.config import logs


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]]]:
    """A logger of its own writing through a stamped handler into a buffer (the root is left alone)."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(logs.ContextStamp())
    logger = logging.getLogger("argonaut.test.logs")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield logger, buffer, handler
    logger.removeHandler(handler)


def lines(buffer: io.StringIO) -> list[str]:
    return buffer.getvalue().splitlines()


def test_json_lines_carry_the_bound_ids_and_only_the_known_ones(
    captured: tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]],
) -> None:
    logger, buffer, handler = captured
    handler.setFormatter(logs.formatter("json"))
    logger.info("outside any task")
    with logs.bound(task_id="ServerTasks-5", space_id="Spaces-1"):
        with logs.bound(worker_id="Workers-2", worker_name="w2"):
            logger.warning("inside: %s", "a worker")
        logger.info("after the script")
    outside, inside, after = (json.loads(line) for line in lines(buffer))
    assert set(outside) == {"ts", "level", "logger", "message"}
    assert outside["message"] == "outside any task" and outside["logger"] == "argonaut.test.logs"
    assert inside == {
        "ts": inside["ts"],
        "level": "WARNING",
        "logger": "argonaut.test.logs",
        "message": "inside: a worker",
        "task_id": "ServerTasks-5",
        "space_id": "Spaces-1",
        "worker_id": "Workers-2",
        "worker_name": "w2",
    }
    assert inside["ts"].endswith("+00:00") and "T" in inside["ts"]  # ISO-8601, UTC
    assert after["task_id"] == "ServerTasks-5" and "worker_id" not in after
    assert logs.current() == {}


def test_a_traceback_is_one_string_in_one_json_line(
    captured: tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]],
) -> None:
    logger, buffer, handler = captured
    handler.setFormatter(logs.formatter("json"))
    try:
        raise ValueError("broken\non two lines")
    except ValueError:
        logger.exception("task crashed")
    (line,) = lines(buffer)
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["message"] == "task crashed"
    assert (
        entry["exc_info"].startswith("Traceback") and "ValueError: broken\non two lines" in entry["exc_info"]
    )


def test_text_lines_end_with_the_task_and_worker_before_any_traceback(
    captured: tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]],
) -> None:
    logger, buffer, handler = captured
    handler.setFormatter(logs.formatter("text"))
    logger.info("plain")
    with logs.bound(task_id="ServerTasks-7", worker_id="Machines-3", worker_name="web"):
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logger.exception("failed")
    first, second, *trace = lines(buffer)
    assert first.endswith(" INFO argonaut.test.logs: plain")
    assert second.endswith(" ERROR argonaut.test.logs: failed task=ServerTasks-7 worker=Machines-3")
    assert trace[0] == "Traceback (most recent call last):" and trace[-1] == "RuntimeError: boom"


def test_ids_bound_in_one_asyncio_task_stay_in_it_and_its_children(
    captured: tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]],
) -> None:
    logger, buffer, handler = captured
    handler.setFormatter(logs.formatter("json"))

    async def task(number: int, started: asyncio.Event, other: asyncio.Event) -> None:
        logs.bind(task_id=f"ServerTasks-{number}")
        started.set()
        await other.wait()  # both tasks have bound their ids before either logs

        async def background() -> None:
            logger.info("background of %d", number)

        await asyncio.create_task(background())
        logger.info("task %d", number)

    async def main() -> None:
        one, two = asyncio.Event(), asyncio.Event()
        await asyncio.gather(task(1, one, two), task(2, two, one))
        logger.info("the loop itself")

    asyncio.run(main())
    seen = {entry["message"]: entry.get("task_id") for entry in map(json.loads, lines(buffer))}
    assert seen == {
        "background of 1": "ServerTasks-1",
        "task 1": "ServerTasks-1",
        "background of 2": "ServerTasks-2",
        "task 2": "ServerTasks-2",
        "the loop itself": None,
    }


def test_ids_given_as_extra_win_over_the_context(
    captured: tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]],
) -> None:
    logger, buffer, handler = captured
    handler.setFormatter(logs.formatter("json"))
    with logs.bound(task_id="ServerTasks-1"):
        logger.info("about another task", extra={"task_id": "ServerTasks-9"})
    assert json.loads(lines(buffer)[0])["task_id"] == "ServerTasks-9"
