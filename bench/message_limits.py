"""What OC_LIMIT_MESSAGES_PER_VISITOR / _PER_IP add to each customer message (issue 23):
services.limits.message_allowed timed on its own, off, counted in the worker (no REDIS_URL), and
counted in Redis (REDIS_URL: one EVALSHA round trip per message, awaited on the event loop).

    python -m bench.message_limits [--redis redis://127.0.0.1:6379/13] [--calls 20000]

Prints microseconds per message (p50, p95, p99) for each way. The Redis database given is
flushed first and after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid


async def timed(calls: int, visitors: int) -> list[float]:
    from online_contact.services import limits

    keys = [uuid.uuid4().hex for _ in range(visitors)]
    samples = []
    for i in range(calls):
        started = time.perf_counter()
        await limits.message_allowed(keys[i % visitors], f"203.0.113.{i % 200}")
        samples.append((time.perf_counter() - started) * 1e6)
    return samples


def row(name: str, samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=100)
    return f"| {name} | {q[49]:.1f} | {q[94]:.1f} | {q[98]:.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--visitors", type=int, default=500)
    args = parser.parse_args()
    import redis

    # Limits nobody reaches here: every call is counted (the common case of a message).
    os.environ["OC_LIMIT_MESSAGES_PER_VISITOR"] = "1000000/10"
    os.environ["OC_LIMIT_MESSAGES_PER_IP"] = "1000000/10"
    print(f"{args.calls} calls, {args.visitors} visitors from 200 addresses; microseconds per message\n")
    print("| counted | p50 µs | p95 µs | p99 µs |\n|---|--:|--:|--:|")
    os.environ.pop("REDIS_URL", None)
    os.environ["OC_LIMIT_MESSAGES_PER_VISITOR"] = os.environ["OC_LIMIT_MESSAGES_PER_IP"] = "0"
    print(row("off (0)", asyncio.run(timed(args.calls, args.visitors))), flush=True)
    os.environ["OC_LIMIT_MESSAGES_PER_VISITOR"] = os.environ["OC_LIMIT_MESSAGES_PER_IP"] = "1000000/10"
    print(row("in the worker (no REDIS_URL)", asyncio.run(timed(args.calls, args.visitors))), flush=True)
    client = redis.Redis.from_url(args.redis)
    client.flushdb()
    try:
        os.environ["REDIS_URL"] = args.redis
        print(row("in Redis (REDIS_URL, local Redis)", asyncio.run(timed(args.calls, args.visitors))), flush=True)
    finally:
        client.flushdb()


if __name__ == "__main__":
    main()
