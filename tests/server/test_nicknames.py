"""Zalgo nicknames on a real server (issue 22, item b): refused as a guest's name, and
shown as Stranger when an operator's token carries one."""

from __future__ import annotations

import httpx
import pytest

from randomchat.config import Settings
from randomchat.guests import RulesDocument
from tests.server.harness import Peer, live_server, make_token, match

pytestmark = pytest.mark.server

ZALGO = "a" + "\u0301" * 31  # 32 characters: within the length limit


async def test_a_zalgo_nickname_is_refused_and_never_shown() -> None:
    rules = RulesDocument.load(Settings()).version
    async with live_server() as live:
        async with httpx.AsyncClient(base_url=live.url) as http:
            refused = await http.post(
                "/api/session", json={"username": ZALGO, "rulesVersion": rules}
            )
            accepted = await http.post(
                "/api/session", json={"username": "Zoe\u0308", "rulesVersion": rules}
            )
        assert refused.status_code == 400 and refused.json()["code"] == "name-refused"
        assert accepted.status_code == 201, accepted.text
        zalgo = await Peer("z").connect(live.url, token=make_token(ZALGO, sub="u-z"))
        other = await Peer("o").connect(live.url, token=make_token("Other", sub="u-o"))
        for peer in (zalgo, other):
            await peer.expect("connection-quality")
        found_by_other, found_by_zalgo = await match(zalgo, other)
        assert found_by_other["partnerName"] == "Stranger"
        assert found_by_zalgo["partnerName"] == "Other"
        for peer in (zalgo, other):
            await peer.close()
