"""randomchat: pairing and WebRTC signaling for a self-hosted random video chat."""

__version__ = "0.1.0"
