"""OC_LIMIT_MESSAGES_PER_VISITOR / _PER_IP with REDIS_URL set: one script per customer message
checks and counts both in Redis, so the limits hold over every worker (issue 23)."""

from __future__ import annotations

import asyncio
import threading

import pytest
import redis

from online_contact.services import limits
from tests.support import run_async

pytestmark = pytest.mark.usefixtures("steady_clock")


def test_two_workers_share_a_visitors_and_an_addresss_allowance(redis_url, monkeypatch):
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("OC_LIMIT_MESSAGES_PER_VISITOR", "10/10")
    monkeypatch.setenv("OC_LIMIT_MESSAGES_PER_IP", "15/10")
    results: dict[str, list[bool]] = {"first": [], "second": []}
    barrier = threading.Barrier(2)

    def worker(name: str, visitors: list[str]) -> None:
        """A worker: its own event loop and Redis connections, as each granian worker has."""

        async def sends():
            barrier.wait()
            for visitor in visitors:
                results[name].append(await limits.message_allowed(visitor, "203.0.113.77"))

        asyncio.run(sends())

    threads = [
        threading.Thread(target=worker, args=("first", ["visitor-a"] * 8 + ["visitor-b"] * 4)),
        threading.Thread(target=worker, args=("second", ["visitor-a"] * 8 + ["visitor-b"] * 4)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    allowed = results["first"].count(True) + results["second"].count(True)
    assert allowed == 15  # the address's limit, over both workers; visitor-a at most 10 of them
    assert sum(ok for ok in results["first"][:8] + results["second"][:8]) <= 10
    client = redis.Redis.from_url(redis_url)
    counters = {k.decode(): int(client.get(k)) for k in client.keys("oc-limit:messages-*")}
    # A refused message used nothing up; no address or key is stored in the clear.
    by_ip = [v for k, v in counters.items() if k.startswith("oc-limit:messages-ip:")]
    by_visitor = [v for k, v in counters.items() if k.startswith("oc-limit:messages-visitor:")]
    assert by_ip == [15] and sum(by_visitor) == 15 and max(by_visitor) <= 10
    assert not any("203.0.113.77" in k or "visitor-" in k for k in counters)
    assert all(0 < client.ttl(k) <= 11 for k in counters)


def test_without_an_answer_from_redis_each_worker_counts_alone(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    monkeypatch.setenv("OC_LIMIT_MESSAGES_PER_VISITOR", "2/10")
    monkeypatch.setattr(limits, "_messages_redis_down_until", 0.0)
    limits.LOCAL_MESSAGE_WINDOWS.counts.clear()

    async def sends():
        return [await limits.message_allowed("visitor-down", "198.51.100.77") for _ in range(3)]

    # run_async: after the browser tests Playwright keeps a loop running on this thread.
    assert run_async(sends()) == [True, True, False]


def test_a_message_not_stored_gives_its_count_back_in_redis(redis_url, monkeypatch):
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("OC_LIMIT_MESSAGES_PER_VISITOR", "2/10")
    monkeypatch.setenv("OC_LIMIT_MESSAGES_PER_IP", "0")
    monkeypatch.setattr(limits, "_messages_redis_down_until", 0.0)

    async def sends():
        at = limits.now()
        answers = [await limits.message_allowed("visitor-refund", "", at) for _ in range(2)]
        await limits.message_not_stored("visitor-refund", "", at)  # the second was not stored
        await limits.message_not_stored("visitor-refund", "", at)  # nor the first: never below zero
        await limits.message_not_stored("visitor-refund", "", at)
        answers += [await limits.message_allowed("visitor-refund", "", at) for _ in range(3)]
        return answers

    assert run_async(sends()) == [True, True, True, True, False]
    client = redis.Redis.from_url(redis_url)
    mine = client.keys(f"oc-limit:messages-visitor:{limits._subject('visitor-refund')}:*")  # not the other tests'
    assert [int(client.get(k)) for k in mine] == [2]

