"""Every message that crosses a server↔agent link, as strict, versioned types.

A link carries length-prefixed JSON frames (see ``framing.py``). After TLS, the connecting side sends
``hello.v1`` naming the protocol versions it speaks; the other side answers ``welcome.v1`` with the
version both will use, or ``refused.v1`` with a reason. Then the server calls methods on the agent with
``request.v1`` frames and the agent answers each with a ``response.v1`` carrying the same ``id``; many
requests may be in flight at once on one link (the described system allows one per connection, and its
users hit timeouts at 40+ concurrent tasks). Roles in the RPC do not depend on who opened the TCP
connection: a polling agent connects out but still serves the server's requests.

Parsing is strict (``extra="forbid"``): this contract is ours alone, and an unknown field means a
version mismatch that must fail with a named reason, not be silently dropped.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

PROTOCOL_VERSIONS = (1,)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Hello(_Strict):
    type: Literal["hello.v1"] = "hello.v1"
    versions: tuple[int, ...]
    role: Literal["server", "agent"]
    subscription: str | None = None  # a polling agent names the subscription it serves
    # "announce": a listening agent that just started tells the server so, then hangs up (it serves
    # calls on the connections the server opens to it, as ever).
    purpose: Literal["poll", "announce"] = "poll"
    agent_version: str | None = None


class Welcome(_Strict):
    type: Literal["welcome.v1"] = "welcome.v1"
    version: int


class Refused(_Strict):
    type: Literal["refused.v1"] = "refused.v1"
    reason: str


class Request(_Strict):
    type: Literal["request.v1"] = "request.v1"
    id: int
    method: str
    params: dict[str, Any] = Field(default_factory=dict)


class RemoteError(_Strict):
    code: str  # machine-readable: "unknown-method", "bad-params", "unknown-ticket", "internal"
    message: str


class Response(_Strict):
    type: Literal["response.v1"] = "response.v1"
    id: int
    result: dict[str, Any] | None = None
    error: RemoteError | None = None


class Ping(_Strict):
    type: Literal["ping.v1"] = "ping.v1"


class Pong(_Strict):
    type: Literal["pong.v1"] = "pong.v1"


Frame = Annotated[Hello | Welcome | Refused | Request | Response | Ping | Pong, Field(discriminator="type")]
_FRAME: TypeAdapter[Frame] = TypeAdapter(Frame)


class ProtocolError(ValueError):
    """A frame that is not part of the contract; the link that sent it is closed."""


def parse_frame(data: bytes) -> Frame:
    try:
        return _FRAME.validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ProtocolError(f"bad frame: {first.get('loc')}: {first.get('msg')}") from None


def encode_frame(frame: _Strict) -> bytes:
    return frame.model_dump_json(exclude_none=True).encode()


def negotiate(offered: tuple[int, ...]) -> int | None:
    """The newest version both sides speak, or None."""
    common = set(offered) & set(PROTOCOL_VERSIONS)
    return max(common) if common else None
