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
    # Only this limit's keys: other tests of the session count other limits in the same database.
    keys = [k.decode() for k in client.keys("oc-limit:login-ip:*")]
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


@pytest.mark.parametrize("counters", ["redis", "database"])
def test_wrong_passwords_slow_their_address_not_the_real_user_on_postgresql(pg_url, redis_url, monkeypatch, counters):
    """The login throttles on a larger team's engines, counted in Redis or (no REDIS_URL) in
    PostgreSQL: five wrong passwords for agent2 from one address slow that address down for
    agent2, the right password from another logs in at once."""
    from sqlmodel import Session

    from online_contact.services import auth
    from online_contact.services.db import engine
    from online_contact.services.errors import ServiceError

    if counters == "redis":
        monkeypatch.setenv("REDIS_URL", redis_url)
    else:
        monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr(limits, "_redis_down_until", 0.0)
    attacker, user = f"203.0.113.{110 if counters == 'redis' else 120}", f"198.51.100.{110 if counters == 'redis' else 120}"
    with Session(engine(pg_url)) as session:
        codes = []
        for password in ["guess"] * 6 + ["agent1234"]:
            with pytest.raises(ServiceError) as err:
                auth.authenticate(session, "agent2@example.com", password, ip=attacker)
            codes.append(err.value.code)
        assert codes == ["login.invalid"] * 5 + ["login.slow_down"] * 2
        assert auth.authenticate(session, "agent2@example.com", "agent1234", ip=user).email == "agent2@example.com"
        with pytest.raises(ServiceError) as err:
            auth.authenticate(session, "agent2@example.com", "agent1234", ip=attacker)
        assert err.value.code == "login.slow_down"
    if counters == "redis":  # counted there, not in the database
        assert redis.Redis.from_url(redis_url).keys("oc-limit:login-account-ip:*")
