"""A Python peer for randomchat: joins a deployment exactly as the page does.

- ``session``: guest tokens and ``/api/ice-servers`` over HTTP (no WebRTC import)
- ``media``: a generated test pattern and tone, file playback, and meters for what arrives
- ``peer``: ``Peer`` (one signaling connection, one call at a time) and ``Call``
  (one ``RTCPeerConnection``), on aiortc and python-socketio's ``AsyncClient``
- ``bot``: the test-pattern bot and the echo bot
- ``doctor``: checks a deployment from outside, one line per check
- ``commands``: ``randomchat bot``, ``echo-bot`` and ``doctor``

Importing this package imports nothing heavy: aiortc is loaded only by the
modules that need it, so ``randomchat serve`` never pays for it.
"""

from __future__ import annotations

# The marker a bot's username ends with; the page shows a bot badge for it.
BOT_SUFFIX = " (bot)"
