"""The application's handlers, per namespace, and how a connect handler says no.

Lifecycle handlers live apart from the user-event table: ``connect``,
``disconnect`` and the catch-all each have their own slot per namespace, and
the codec refuses EVENT packets named after a reserved event, so no client
packet can reach a lifecycle handler. An event with no handler, including
one named ``*``, goes to the catch-all as ``(event, sid, *args)``. (The hold and
resume handlers of connection-state recovery are ``Server.on_recovery``'s.)

A connect handler refuses a connection by raising an exception that carries
``error_args`` (``{"message": ..., "data": ...}``), ``ConnectionRefusedError``
below, or by returning False.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from randomchat.sio import codec

EventHandler = Callable[..., Awaitable[Any]]


class ConnectionRefusedError(Exception):  # the name python-socketio uses
    """Raised by a connect handler: ``message`` and optional ``data`` go to the client."""

    def __init__(self, message: str = "Connection rejected by server", data: Any = None) -> None:
        super().__init__(message)
        self.error_args: dict[str, Any] = {"message": str(message)}
        if data is not None:
            self.error_args["data"] = data


class HandlerTable:
    """``on(event, handler, namespace)`` as python-socketio's, and the slots it fills."""

    def __init__(self) -> None:
        # User events only, by namespace; lifecycle handlers have their own slots.
        self.handlers: dict[str, dict[str | int, EventHandler]] = {}
        self.connect_handlers: dict[str, EventHandler] = {}
        self.disconnect_handlers: dict[str, EventHandler] = {}
        self.catch_all: dict[str, EventHandler] = {}

    def on(
        self, event: str, handler: EventHandler | None = None, namespace: str | None = None
    ) -> Any:
        """Register ``handler`` for ``event`` in ``namespace``; without it, a decorator.

        ``connect``, ``disconnect`` and ``*`` (the catch-all) are lifecycle slots;
        other reserved names cannot be handled (no client may send them).
        """
        namespace = namespace or "/"
        if event != "connect" and event != "disconnect" and event in codec.RESERVED:
            raise ValueError(f"{event!r} is a reserved event name")

        def register(func: EventHandler) -> EventHandler:
            events = self.handlers.setdefault(namespace, {})
            if event == "connect":
                self.connect_handlers[namespace] = func
            elif event == "disconnect":
                self.disconnect_handlers[namespace] = func
            elif event == "*":
                self.catch_all[namespace] = func
            else:
                events[event] = func
            return func

        if handler is not None:
            register(handler)
            return None
        return register
