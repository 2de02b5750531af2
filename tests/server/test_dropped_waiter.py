"""A waiting user whose transport drops leaves the queue at once, and comes back to it.

Real app on a real port, one node, raw Socket.IO clients that ask for recovery as
the page does. Alice waits; her transport drops (the server holds her socket for
the recovery window): a newcomer must not be matched with her. When she resumes
with her pid she waits again, with the options of her search, and the next
newcomer is matched with her; the page sends nothing more (it keeps showing
"waiting" after a recovered reconnection, web/src/lib/callController.ts).
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.rawclient import WsClient
from tests.server.harness import Live, live_server, make_token
from tests.server.test_recovery_owner import connect, held

pytestmark = pytest.mark.server


async def waiting(live: Live) -> int:
    return (await live.app.store.counts()).waiting


async def user(http: aiohttp.ClientSession, live: Live, name: str) -> tuple[WsClient, Any]:
    client, reply = await connect(http, live, {"token": make_token(name), "recover": True})
    await client.expect("connection-quality")
    return client, reply


async def test_a_dropped_waiter_is_not_matched_and_waits_again_when_it_resumes() -> None:
    async with live_server() as live, aiohttp.ClientSession() as http:
        alice, reply = await user(http, live, "Alice")
        sid, pid = reply["sid"], reply["pid"]
        await alice.emit("find-partner", {"interests": ["chess"]})
        await alice.expect("waiting-for-partner")
        await alice.close()  # the transport drops without a goodbye
        await held(live, pid)
        assert await waiting(live) == 0  # out of the queue at once, still held
        assert live.app.lobby.user_of(sid) == "u-Alice"

        bob, _ = await user(http, live, "Bob")
        await bob.emit("find-partner")
        got = await bob.expect("waiting-for-partner")  # not matched with a ghost
        assert got["queuePosition"] == 1
        await bob.emit("leave")
        await bob.close()

        back, again = await connect(
            http, live, {"token": make_token("Alice"), "recover": True, "pid": pid, "offset": "2"}
        )
        assert again == {"sid": sid, "pid": pid}
        assert (await back.expect("waiting-for-partner"))["queuePosition"] == 1
        assert await waiting(live) == 1

        carol, _ = await user(http, live, "Carol")
        await carol.emit("find-partner", {"interests": ["chess"]})
        found = await carol.expect("match-found")
        assert found["partnerName"] == "Alice"
        assert found["commonInterests"] == ["chess"]  # her search's options came back
        theirs = await back.expect("match-found")
        assert theirs["partnerName"] == "Carol"
        await back.close()
        await carol.close()


async def test_a_waiter_that_resumes_is_matched_with_whoever_waits_meanwhile() -> None:
    async with live_server() as live, aiohttp.ClientSession() as http:
        alice, reply = await user(http, live, "Alice")
        await alice.emit("find-partner")
        await alice.expect("waiting-for-partner")
        await alice.close()
        await held(live, reply["pid"])

        bob, _ = await user(http, live, "Bob")
        await bob.emit("find-partner")
        await bob.expect("waiting-for-partner")

        auth = {"token": make_token("Alice"), "recover": True, "pid": reply["pid"]}
        back, again = await connect(http, live, {**auth, "offset": "2"})
        assert again["sid"] == reply["sid"]
        assert (await back.expect("match-found"))["partnerName"] == "Bob"
        assert (await bob.expect("match-found"))["partnerName"] == "Alice"
        await back.emit("leave")
        await bob.expect("partner-left")
        await back.close()
        await bob.close()
