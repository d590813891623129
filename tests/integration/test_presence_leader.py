"""One worker runs the presence pass (realtime/presence.leading), on the Redis the workers share."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from online_contact.realtime.presence import LEADER_KEY, leading
from tests.support import run_async


def test_one_worker_leads_and_another_takes_over_when_it_stops(redis_url):
    async def scenario():
        r = aioredis.from_url(redis_url)
        await r.delete(LEADER_KEY)
        try:
            assert await leading(r, "worker-a", 300)
            assert not await leading(r, "worker-b", 300)
            await asyncio.sleep(0.2)
            assert await leading(r, "worker-a", 300)  # the leader renews its lease
            await asyncio.sleep(0.2)
            assert not await leading(r, "worker-b", 300)  # still held: renewed 0.2 s ago
            await asyncio.sleep(0.4)  # worker-a stopped renewing (it died)
            assert await leading(r, "worker-b", 300)
            assert not await leading(r, "worker-a", 300)
        finally:
            await r.delete(LEADER_KEY)
            await r.aclose()

    run_async(scenario())
