"""Language matching across nodes: real node processes on one real redis-server. A
Spanish speaker on one node waits while an English speaker on the other does not meet
them; a Spanish speaker arriving on the other node does, and both are told the language
they share; the English speaker meets a seed client (no language stated: unknown, not
different) at once. The options travel as the store's one encoded field (store.options_codec)."""

from __future__ import annotations

import pytest

from tests.cluster.conftest import Cluster, empty, eventually
from tests.redisserver import RedisServer
from tests.server.harness import ready

pytestmark = pytest.mark.process


async def test_a_shared_language_is_preferred_across_nodes(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    one, two = cluster(2, language_wait_seconds=600)
    ana = await ready(one.url, "ana")
    ed = await ready(two.url, "ed")
    eva = await ready(two.url, "eva")
    plain = await ready(one.url, "plain")
    await ana.emit("find-partner", {"languages": ["es"]})
    await ana.expect("waiting-for-partner")
    await ed.emit("find-partner", {"languages": ["en"]})
    await ed.expect("waiting-for-partner")
    await eva.emit("find-partner", {"languages": ["es", "en"], "languagesOnly": True})
    found_eva = await eva.expect("match-found")
    found_ana = await ana.expect("match-found")
    # eva speaks English too, but the earlier Spanish speaker ranks first (ed came later)
    assert found_eva["partnerName"] == "ana" and found_ana["partnerName"] == "eva"
    assert found_eva["commonLanguages"] == found_ana["commonLanguages"] == ["es"]
    await ed.quiet(0.5)  # still waiting: nobody who speaks English is free
    await plain.emit("find-partner")  # a seed client states no language: ed takes it at once
    found_plain = await plain.expect("match-found")
    assert found_plain["partnerName"] == "ed" and found_plain["commonLanguages"] == []
    for peer in (ana, ed, eva, plain):
        await peer.close()
    await eventually(empty(redis_server.url))
