"""The delivery seam: a socket this process does not hold is counted, never dropped silently."""

from __future__ import annotations

from randomchat import sio
from randomchat.delivery import LocalDelivery
from randomchat.metrics import Metrics


async def test_an_unknown_sid_is_reported_and_counted() -> None:
    metrics = Metrics()
    delivery = LocalDelivery(sio.Server(), "/random-chat", metrics)
    assert await delivery.emit("not-here", "match-found", {"role": "receiver"}) is False
    assert await delivery.emit("not-here", "match-found", {}) is False
    assert metrics.undelivered.labels("match-found")._value.get() == 2  # type: ignore[attr-defined]
    await delivery.disconnect("not-here")  # harmless
