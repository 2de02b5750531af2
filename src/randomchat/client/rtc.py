"""Translations between the wire (browser-shaped dicts, SDP text) and aiortc's objects."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from aioice.candidate import Candidate
from aiortc import RTCConfiguration, RTCIceServer, RTCSessionDescription
from aiortc.rtcconfiguration import RTCBundlePolicy, RTCIceTransportPolicy
from aiortc.rtcicetransport import RTCIceCandidate
from aiortc.sdp import candidate_from_sdp

from randomchat.client.session import IceSettings

_TYP = re.compile(r"\styp\s+(\S+)")


def candidate_from_init(init: Any) -> RTCIceCandidate | None:
    """An aiortc candidate from a browser's ``RTCIceCandidateInit``; ``None`` if unusable."""
    if not isinstance(init, dict):
        return None
    text = init.get("candidate")
    if not isinstance(text, str) or not text.strip():
        return None  # end-of-candidates (see ``is_end_of_candidates``), or junk
    text = text.strip().removeprefix("a=").removeprefix("candidate:")
    try:
        candidate = candidate_from_sdp(text)
    except Exception:  # aiortc asserts on short lines and raises on bad numbers
        return None
    mid = init.get("sdpMid")
    index = init.get("sdpMLineIndex")
    candidate.sdpMid = mid if isinstance(mid, str) else None
    candidate.sdpMLineIndex = index if isinstance(index, int) else None
    if candidate.sdpMid is None and candidate.sdpMLineIndex is None:
        candidate.sdpMLineIndex = 0  # bundled: every m-line shares one transport
    return candidate


def is_end_of_candidates(init: Any) -> bool:
    """A browser's end-of-candidates: an init whose ``candidate`` is the empty string."""
    return isinstance(init, dict) and init.get("candidate") == ""


def candidate_init(candidate: Candidate | None, mid: str | None) -> dict[str, Any]:
    """The ``RTCIceCandidateInit`` a browser would trickle for an aioice candidate
    (``None``: end-of-candidates). Index 0 and the first m-line's mid: one bundle."""
    text = "" if candidate is None else "candidate:" + candidate.to_sdp()
    return {"candidate": text, "sdpMid": mid, "sdpMLineIndex": 0}


def signaled_types(sdp: str) -> Counter[str]:
    """How many candidates of each type an SDP carries."""
    types: Counter[str] = Counter()
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            found = _TYP.search(line)
            types[found.group(1) if found else "?"] += 1
    return types


def without_end_of_candidates(sdp: str) -> str:
    """``sdp`` without ``a=end-of-candidates``: more candidates are trickled after it."""
    return "".join(
        line for line in sdp.splitlines(keepends=True) if line.strip() != "a=end-of-candidates"
    )


def rtc_configuration(ice: IceSettings) -> RTCConfiguration:
    """The ``RTCConfiguration`` for ``match-found``'s ``iceServers`` and policy.

    Max-bundle: one ICE transport for audio and video, as browsers end up with, so one
    set of candidates (and one TURN allocation per URL) per call, not one per m-line.
    """
    servers = []
    for entry in ice.servers:
        urls = entry.get("urls")
        if not isinstance(urls, str | list):
            continue
        servers.append(
            RTCIceServer(
                urls=urls,
                username=entry.get("username"),
                credential=entry.get("credential"),
            )
        )
    policy = RTCIceTransportPolicy.RELAY if ice.policy == "relay" else RTCIceTransportPolicy.ALL
    # An empty list, not None: aiortc would otherwise fall back to Google's STUN server.
    return RTCConfiguration(
        iceServers=servers, iceTransportPolicy=policy, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE
    )


def description(raw: Any, kind: str) -> RTCSessionDescription:
    if not isinstance(raw, dict) or raw.get("type") != kind or not isinstance(raw.get("sdp"), str):
        raise ValueError(f"malformed {kind}")
    return RTCSessionDescription(sdp=raw["sdp"], type=kind)
