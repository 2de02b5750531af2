"""A Socket.IO client manager with a direct path for emits to one connection.

python-socketio's ``AsyncManager.emit`` creates an asyncio task per recipient
and waits on them, even when the recipient is a single socket; nearly every
emit of a signaling server goes to exactly one socket. Here such an emit is
encoded once and handed straight to Engine.IO, in the caller's task; anything
else (rooms, broadcasts, callbacks) goes through the library's own path.
"""

from __future__ import annotations

from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet


class DirectManager(socketio.AsyncManager):  # type: ignore[misc]
    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: str | None = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: str | None = None,
        **kwargs: Any,
    ) -> None:
        target = to or room
        eio_sid = None
        if target is not None and skip_sid is None and callback is None and not kwargs:
            eio_sid = self.eio_sid_from_sid(target, namespace)
        if eio_sid is None:
            await super().emit(
                event,
                data,
                namespace,
                room=room,
                skip_sid=skip_sid,
                callback=callback,
                to=to,
                **kwargs,
            )
            return
        args = [] if data is None else list(data) if isinstance(data, tuple) else [data]
        encoded = self.server.packet_class(
            packet.EVENT, namespace=namespace, data=[event, *args]
        ).encode()
        for part in encoded if isinstance(encoded, list) else [encoded]:
            await self.server._send_eio_packet(eio_sid, eio_packet.Packet(eio_packet.MESSAGE, part))
