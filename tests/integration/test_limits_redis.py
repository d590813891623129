"""The throttles with REDIS_URL set: counted in Redis (one Lua script per attempt), so the limit
holds across workers and machines."""

from __future__ import annotations

import threading

import pytest
import redis

from online_contact.services import limits

# The throttles' windows are fixed (this minute, this hour): see tests/conftest.steady_clock.
pytestmark = pytest.mark.usefixtures("steady_clock")


def test_parallel_attempts_on_redis_cannot_all_slip_in(redis_url, monkeypatch):
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("OC_LIMIT_LOGIN_PER_IP", "10/600")
    allowed: list[bool] = []
    barrier = threading.Barrier(8)

    def attempt():
        barrier.wait()
        for _ in range(5):
            allowed.append(limits.hit(limits.LOGIN_PER_IP, "203.0.113.200").allowed)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed.count(True) == 10 and len(allowed) == 40
    client = redis.Redis.from_url(redis_url)
    keys = [k.decode() for k in client.keys("oc-limit:*")]
    assert len(keys) == 1 and "203.0.113.200" not in keys[0]
    assert 0 < client.ttl(keys[0]) <= 601  # the window's counter expires by itself


def test_refund_and_forget_on_redis_never_go_below_zero(redis_url, monkeypatch):
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("OC_LIMIT_LOGIN_PER_ACCOUNT", "2/60")
    account = "someone@example.com"
    limits.refund(limits.LOGIN_PER_ACCOUNT, account)  # nothing counted yet: stays at zero
    assert limits.hit(limits.LOGIN_PER_ACCOUNT, account).allowed
    assert limits.hit(limits.LOGIN_PER_ACCOUNT, account).allowed
    assert not limits.hit(limits.LOGIN_PER_ACCOUNT, account).allowed
    limits.forget(limits.LOGIN_PER_ACCOUNT, account)
    assert limits.hit(limits.LOGIN_PER_ACCOUNT, account).allowed
