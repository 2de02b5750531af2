"""The delivery seam: a socket this process does not hold is counted, never dropped silently."""

from __future__ import annotations

from typing import Any

import pytest

from randomchat import sio
from randomchat.delivery import CallScope, LocalDelivery
from randomchat.metrics import Metrics

pytestmark = pytest.mark.pure


async def test_an_unknown_sid_is_reported_and_counted() -> None:
    metrics = Metrics()
    delivery = LocalDelivery(sio.Server(), "/random-chat", metrics, CallScope())
    assert await delivery.emit("not-here", "match-found", {"role": "receiver"}) is False
    assert await delivery.emit("not-here", "match-found", {}) is False
    assert metrics.undelivered.labels("match-found")._value.get() == 2  # type: ignore[attr-defined]
    await delivery.disconnect("not-here")  # harmless


class Held:
    """The socket layer's ``emit``, for sockets ``a``, ``b`` and ``c``: what it wrote, in order."""

    def __init__(self) -> None:
        self.written: list[tuple[str, str]] = []

    async def emit(self, event: str, data: Any = None, to: str | None = None, **_: Any) -> bool:
        if to not in ("a", "b", "c"):
            return False
        self.written.append((to, event))
        return True


async def test_a_partner_reaches_a_socket_only_inside_the_call_it_was_told_of() -> None:
    """However late a partner's event comes (on a cluster, through another node's stream),
    it is written only while the socket's last call event names that partner."""
    metrics = Metrics()
    held = Held()
    changed: list[str] = []
    scope = CallScope()
    scope.subscribe(changed.append)  # as the lobby subscribes its relay
    delivery = LocalDelivery(held, "/random-chat", metrics, scope)  # type: ignore[arg-type]
    assert not await delivery.emit("a", "signal-offer", {}, "b")  # before a's match-found
    assert await delivery.emit("a", "match-found", {}, "b")
    assert await delivery.emit("a", "signal-offer", {}, "b")
    assert not await delivery.emit("a", "chat-message", {}, "c")  # c is not a's partner
    # b leaves; a is paired with c; what b sent before leaving, and b's partner-left
    # itself, arrive only now: neither may reach a's call with c.
    assert await delivery.emit("a", "partner-left", {"reason": "next"}, "b")
    assert await delivery.emit("a", "match-found", {}, "c")
    assert not await delivery.emit("a", "signal-ice-candidate", {}, "b")
    assert not await delivery.emit("a", "partner-left", {"reason": "next"}, "b")
    assert await delivery.emit("a", "signal-answer", {}, "c")
    assert await delivery.emit("a", "connection-quality", {})  # not from a partner: always
    assert held.written == [
        ("a", "match-found"),
        ("a", "signal-offer"),
        ("a", "partner-left"),
        ("a", "match-found"),
        ("a", "signal-answer"),
        ("a", "connection-quality"),
    ]
    assert metrics.undelivered.labels("signal-ice-candidate")._value.get() == 1  # type: ignore[attr-defined]
    assert changed == ["a", "a", "a"]  # the lobby's relay heard of each call event written
    # A resume that expired says "your partner did not come back" with no partner named:
    # it reaches a socket in no call, never one in a new call.
    assert not await delivery.emit("a", "partner-disconnected", {})
    assert await delivery.emit("b", "partner-disconnected", {})
    assert held.written[-1] == ("b", "partner-disconnected")
    assert delivery.told() == 1
    delivery.forget("a")  # its socket closed
    assert delivery.told() == 0
    assert not await delivery.emit("a", "signal-offer", {}, "c")
    assert not await delivery.emit("x", "match-found", {}, "c")  # not held: nothing kept
    assert delivery.told() == 0
