"""Fakes for the seams: a clock moved by hand, and the delivery's part in pure lobby tests."""

from __future__ import annotations

from typing import Any


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def monotonic(self) -> float:
        return self.now

    def wall_ms(self) -> int:
        return int(self.now * 1000)

    def advance(self, seconds: float) -> None:
        self.now += seconds


def written(lobby: Any, effects: list[Any]) -> list[Any]:
    """What the delivery does as it writes ``effects`` (pure lobby tests have none): each
    socket learns its partner from the call events written to it (``delivery.CallScope``)."""
    from randomchat.lobby import Emit, HangUp

    for effect in effects:
        if isinstance(effect, Emit) and effect.source is not None:
            lobby.ctx.told.written(effect.to, effect.event, effect.source)
        elif isinstance(effect, HangUp):
            lobby.ctx.told.forget(effect.sid)
    return effects
