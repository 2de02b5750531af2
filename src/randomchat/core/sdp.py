"""Relay-only signaling: what of an SDP body or an ICE candidate may reach the partner.

In a relay-only call (the privacy mode, or ``--ice-policy relay``) neither peer may
learn the other's network address through signaling. A browser's description and
candidates carry addresses in these places, each handled here:

- ``host``, ``srflx`` and ``prflx`` candidates *are* the peer's addresses: dropped,
  as trickled candidates and as ``a=candidate`` lines of an SDP body;
- a ``relay`` candidate's ``raddr``/``rport`` name the address it was allocated
  for (the peer's public or local address): set to ``0.0.0.0`` / ``0``, the values
  browsers write themselves when they hide it. The relay address itself stays: it
  is the TURN server's, and the partner needs it to reach the call;
- ``c=`` lines, ``a=rtcp:`` lines and the ``o=`` line may carry the default
  candidate's or the host's address: any address there that is not already a
  placeholder (unspecified or loopback) becomes ``IN IP4 0.0.0.0``, which is what
  browsers write when they have no address to give. ICE agents (every browser)
  ignore these fields, so nothing stops working.

Everything else is passed through byte for byte, line endings (``\\r\\n``) included:
a relay-only body differs from the original only in the lines named above.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

_TYP = re.compile(r"\styp\s+(\S+)")
# After ``typ``: the extension attributes that name the related (the peer's own) address.
_RADDR = re.compile(r"(\sraddr\s+)\S+")
_RPORT = re.compile(r"(\srport\s+)\S+")
# ``c=IN IP4 203.0.113.7`` (an address may carry a multicast ``/ttl``).
_CONNECTION = re.compile(r"c=(\S+)\s+(\S+)\s+(\S+)")
# ``a=rtcp:50001 IN IP4 203.0.113.7``; the address part is optional (RFC 3605).
_RTCP = re.compile(r"a=rtcp:(\S+)\s+(\S+)\s+(\S+)\s+(\S+)")
# ``o=<username> <sess-id> <sess-version> IN IP4 <unicast-address>``.
_ORIGIN = re.compile(r"(o=\S+\s+\S+\s+\S+)\s+(\S+)\s+(\S+)\s+(\S+)")
# One line with its own ending (``\r\n``, ``\n`` or none at the very end).
_LINES = re.compile(r"[^\n]*\n|[^\n]+")

PLACEHOLDER = "0.0.0.0"
_HIDDEN = f"IN IP4 {PLACEHOLDER}"


def candidate_type(candidate: str) -> str | None:
    """The ``typ`` of an ICE candidate line (``host``, ``srflx``, ...), or None if absent."""
    found = _TYP.search(candidate)
    return found.group(1) if found else None


def relay_only_candidate(candidate: str) -> str | None:
    """``candidate`` (``candidate:...``, or an SDP ``a=candidate:...`` line) as a relay-only
    call passes it: None unless it is a relay candidate, else with ``raddr 0.0.0.0 rport 0``.

    A relay candidate without ``raddr`` is passed unchanged: it names no address of the
    peer, and adding one would change a line for nothing.
    """
    found = _TYP.search(candidate)
    if found is None or found.group(1) != "relay":
        return None
    # Only after ``typ``: before it are the foundation, component, transport, priority and
    # the relay address and port, which stay whatever they are called.
    head, tail = candidate[: found.end()], candidate[found.end() :]
    if "raddr" not in tail and "rport" not in tail:
        return candidate
    tail = _RADDR.sub(rf"\g<1>{PLACEHOLDER}", tail)
    return head + _RPORT.sub(r"\g<1>0", tail)


def relay_only_ice(candidate: dict[str, Any]) -> dict[str, Any] | None:
    """A trickled ``RTCIceCandidateInit`` as a relay-only call passes it, or None to drop it.

    The empty end-of-candidates marker passes as it is.
    """
    line = candidate.get("candidate", "")
    if line == "":
        return candidate
    kept = relay_only_candidate(line)
    if kept is None:
        return None
    return candidate if kept == line else {**candidate, "candidate": kept}


def _placeholder(address: str) -> bool:
    """Whether an SDP address field names no real host: ``0.0.0.0``, ``::`` or loopback.

    Anything else (an address, a host name, an mDNS ``.local`` name) is treated as real.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_unspecified or ip.is_loopback


def _relay_only_line(line: str) -> str | None:
    """One SDP line (without its ending) as a relay-only call passes it; None drops it."""
    if line.startswith("a=candidate:"):
        return relay_only_candidate(line)
    if line.startswith("c="):
        found = _CONNECTION.fullmatch(line)
        if found is None or not _placeholder(found.group(3)):
            # Unparsable lines go too: a placeholder is always a valid c= line.
            return f"c={_HIDDEN}"
        return line
    if line.startswith("a=rtcp:"):
        found = _RTCP.fullmatch(line)
        if found is not None and not _placeholder(found.group(4)):
            return f"a=rtcp:{found.group(1)} {_HIDDEN}"
        return line  # ``a=rtcp:9`` names a port only
    if line.startswith("o="):
        found = _ORIGIN.fullmatch(line)
        if found is not None and not _placeholder(found.group(4)):
            return f"{found.group(1)} {_HIDDEN}"
        return line
    return line


def relay_only_sdp(sdp: str) -> str:
    """``sdp`` as a relay-only call passes it on: no address of its sender anywhere."""
    kept: list[str] = []
    for line in _LINES.findall(sdp):
        body = line.rstrip("\r\n")
        out = _relay_only_line(body)
        if out is not None:
            kept.append(out + line[len(body) :])
    return "".join(kept)
