"""Cluster routing without Redis: which node an event goes to by its socket id's prefix,
what goes to the transport and what is written here, and what arrives from another node
meeting the same call-scope rule as a local event. The Redis stream under it (``Inbox``)
is tested on a real redis-server in tests/cluster/test_inbox.py."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from randomchat.delivery import CallScope, LocalDelivery
from randomchat.metrics import Metrics
from randomchat.routing import DISCONNECT, Arrivals, ClusterDelivery, Router, node_of

pytestmark = pytest.mark.pure

NS = "/random-chat"


class Sockets:
    """The socket layer of node ``n1``, holding ``n1.a``, ``n1.b`` and ``n2.moved`` (a
    socket whose id names another node): what it wrote, closed and dropped, in order."""

    def __init__(self) -> None:
        self.sockets = {"n1.a": None, "n1.b": None, "n2.moved": None}
        self.done: list[tuple[str, str]] = []

    async def emit(self, event: str, data: Any = None, to: str = "", **_: Any) -> bool:
        if to not in self.sockets:
            return False
        self.done.append((to, event))
        return True

    async def disconnect(self, sid: str, namespace: str | None = None) -> None:
        self.done.append((sid, "disconnect"))

    async def drop(self, sid: str, namespace: str | None = None) -> None:
        self.done.append((sid, "drop"))


class Stream:
    """A transport that keeps what it was given (the inbox's ``send``)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str, Any, str | None]] = []

    def send(self, node: str, sid: str, event: str, data: Any, source: str | None) -> bool:
        self.sent.append((node, sid, event, data, source))
        return True


def node_one() -> tuple[ClusterDelivery, Sockets, Stream, Metrics]:
    sockets, stream, metrics = Sockets(), Stream(), Metrics()
    local = LocalDelivery(sockets, NS, metrics, CallScope())  # type: ignore[arg-type]
    return ClusterDelivery(local, Router("n1", local.holds), stream), sockets, stream, metrics


def test_a_socket_id_names_its_node() -> None:
    assert node_of("n2.x7") == "n2"
    assert node_of("host-3000.abc.def") == "host-3000"  # the first dot ends the name
    assert node_of("nodot") is None
    router = Router("n1", holds={"n2.moved"}.__contains__)
    assert router.route("n1.a") is None  # this node's
    assert router.route("n1.gone") is None  # this node's, closed: written (and counted) here
    assert router.route("nodot") is None  # no node named: here
    assert router.route("n2.moved") is None  # held here whatever its prefix says
    assert router.route("n2.b") == "n2"
    assert router.route("n3.c") == "n3"


async def test_an_event_for_another_node_goes_to_its_stream_unchanged() -> None:
    delivery, sockets, stream, metrics = node_one()
    assert await delivery.emit("n2.b", "signal-offer", {"sdp": "x"}, "n1.a")
    assert await delivery.emit("n2.b", "match-found", {"role": "receiver"})
    await delivery.disconnect("n3.c")
    assert stream.sent == [
        ("n2", "n2.b", "signal-offer", {"sdp": "x"}, "n1.a"),
        ("n2", "n2.b", "match-found", {"role": "receiver"}, None),
        ("n3", "n3.c", DISCONNECT, None, None),
    ]
    assert sockets.done == []  # nothing of it was written here
    # The call-scope rule is the receiving node's: a partner's event passes here unchecked.
    assert metrics.undelivered.labels("signal-offer")._value.get() == 0  # type: ignore[attr-defined]


async def test_an_event_for_this_node_is_written_here_under_the_call_scope() -> None:
    delivery, sockets, stream, metrics = node_one()
    assert await delivery.emit("n1.a", "match-found", {}, "n2.b")
    assert await delivery.emit("n1.a", "signal-offer", {}, "n2.b")
    assert not await delivery.emit("n1.a", "signal-offer", {}, "n2.other")  # not its call
    assert not await delivery.emit("n1.gone", "match-found", {}, "n2.b")  # closed: counted
    assert await delivery.emit("n2.moved", "connection-quality", {})
    await delivery.disconnect("n1.b")
    await delivery.drop("n1.a")  # a drain: this node's own sockets
    assert stream.sent == []
    assert sockets.done == [
        ("n1.a", "match-found"),
        ("n1.a", "signal-offer"),
        ("n2.moved", "connection-quality"),
        ("n1.b", "disconnect"),
        ("n1.a", "drop"),
    ]
    assert metrics.undelivered.labels("signal-offer")._value.get() == 1  # type: ignore[attr-defined]
    assert metrics.undelivered.labels("match-found")._value.get() == 1  # type: ignore[attr-defined]
    assert delivery.local.scope.partner("n1.a") == "n2.b"
    delivery.forget("n1.a")
    assert delivery.local.scope.partner("n1.a") is None


async def test_what_arrives_is_completed_then_written_inside_its_call(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An event read from this node's stream goes through ``arriving`` (the lobby's
    completion) and then the same call-scope rule as a local one: a partner's event
    from a call that ended while it travelled does not reach the next call."""
    sockets, metrics, scope = Sockets(), Metrics(), CallScope()
    local = LocalDelivery(sockets, NS, metrics, scope)  # type: ignore[arg-type]
    completed: list[tuple[str, str]] = []

    async def arriving(sid: str, event: str, data: Any) -> Any:
        completed.append((sid, event))
        if event == "chat-message":
            raise RuntimeError("a bug in completing this one")
        return {**data, "iceServers": []} if event == "match-found" else data

    arrive = Arrivals(local, arriving)
    await arrive("n1.a", "match-found", {"role": "receiver"}, "n2.b")
    await arrive("n1.a", "partner-left", {"reason": "next"}, "n2.b")
    await arrive("n1.a", "match-found", {"role": "caller"}, "n3.c")
    await arrive("n1.a", "signal-ice-candidate", {}, "n2.b")  # late, from the call before
    caplog.set_level(logging.ERROR, logger="randomchat.routing")
    await arrive("n1.a", "chat-message", {"text": "hi"}, "n3.c")  # logged, not raised
    await arrive("n1.b", DISCONNECT, None, None)
    assert sockets.done == [
        ("n1.a", "match-found"),
        ("n1.a", "partner-left"),
        ("n1.a", "match-found"),
        ("n1.b", "disconnect"),
    ]
    assert ("n1.b", DISCONNECT) not in completed  # a close has nothing to complete
    assert scope.partner("n1.a") == "n3.c"
    assert metrics.undelivered.labels("signal-ice-candidate")._value.get() == 1  # type: ignore[attr-defined]
    assert "cross-node delivery failed" in caplog.text


def test_the_call_scope_tells_its_subscribers_of_each_call_that_opens_or_closes() -> None:
    scope = CallScope()
    heard: list[str] = []
    scope.subscribe(heard.append)
    scope.written("a", "match-found", "b")
    scope.written("a", "signal-offer", "b")  # no change of call
    scope.written("a", "partner-left", "b")
    scope.written("c", "match-found", None)  # opens no call: it names no partner
    scope.opens("d", "e")
    scope.forget("d")  # the lobby ended it itself: nobody is told
    assert heard == ["a", "a", "d"]
    assert len(scope) == 0
