"""One peer of a lab case, run inside a namespace: joins, takes one call, prints JSON.

``python -m tests.natlab.peer --url URL --tag TAG --mode bot|echo|adversary``. It
prints ``ready`` once it searches, then one JSON line: the call's report and the
candidates it failed to gather. The adversary ignores the server's relay-only policy:
it gathers host and server-reflexive candidates anyway, puts them in its SDP and
trickles them, as a modified client would; the server must pass none of them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import sys
from collections import Counter
from typing import Any

from randomchat.client.gather import selected_relay_url
from randomchat.client.media import Media
from randomchat.client.peer import Peer
from randomchat.client.session import IceSettings


class Adversary(Peer):
    def ice_settings(self, match_found: dict[str, Any]) -> IceSettings:
        return dataclasses.replace(IceSettings.from_payload(match_found), policy="all")


async def main(args: argparse.Namespace) -> dict[str, Any]:
    kind = Adversary if args.mode == "adversary" else Peer
    media = Media("echo") if args.mode == "echo" else Media("pattern", width=160, height=120)
    peer = kind(
        args.url, username=f"lab {args.mode}", media=media, interests=(args.tag,), strict=True
    )
    try:
        await peer.connect()
        await peer.search()
        print("ready", flush=True)
        async with asyncio.timeout(30):
            call = await peer.next_call()
        relay_url = None
        gathered: list[Any] = []
        if await call.wait_connected(args.within):
            # taken now: aioice forgets its candidates once the partner hangs up
            assert call.gathering is not None
            gathered = call.gathering.connection.local_candidates
            relay_url = selected_relay_url(call.gathering)
            await call.wait_media(video=3, audio=3, within=10)
            await asyncio.sleep(0.5)  # the partner's media too
            if args.hold:
                # a page partner measures for longer, then presses Stop
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(args.hold):
                        await call.done.wait()
        elif call.gathering is not None:
            gathered = call.gathering.connection.local_candidates
        return {
            **dataclasses.asdict(call.report()),
            "relay_url": relay_url,
            "gathered": dict(Counter(c.type for c in gathered)),
        }
    finally:
        await peer.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--mode", choices=("bot", "echo", "adversary"), default="bot")
    parser.add_argument("--within", type=float, default=20.0)
    parser.add_argument("--hold", type=float, default=0.0, help="wait this long for the end")
    # The log goes to the case's log file (stderr), read when a case misbehaves.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    result = asyncio.run(main(parser.parse_args()))
    print(json.dumps(result), flush=True)
    sys.exit(0)
