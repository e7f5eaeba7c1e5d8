"""The text of JSON columns (task arguments, activity trees, output variables, endpoints).

Written with orjson: a task writes its activity tree three times and its arguments once, and
``json.dumps`` of them was 5% of the node's time under a burst of ad-hoc scripts (py-spy, issue 13);
orjson takes a fifteenth of that for the same document. It refuses what ``json.dumps`` writes (an
integer past 64 bits, a key that is not a string): those are written by ``json.dumps`` as before.
Read with ``json.loads``, which reads both writers' text exactly (orjson would read an integer past
64 bits as a float).
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)
