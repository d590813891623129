"""`make bench`: latency, memory and CPU of live chat against a bare socket.io echo floor.

Drives the real production server (`reflex run --env prod`) with headless clients
(bench/reflex_client.py) that send as the page does, over the message path /_wire: every
conversation is one customer tab and one agent tab, each side sending a message every 2 s;
latency is send → the text arriving at the other tab. Configurations: SQLite with 1 worker,
the same through the Reflex send handlers (the baseline: the path before /_wire, and the
pages' fallback), PostgreSQL + Redis with 4 and with 2 workers, and the floor (a bare
python-socketio relay served by granian, measured in the same run). Samples count after a
warm-up. Also: 200 chats started together with 10 agents. Server CPU is the app's processes only
(PostgreSQL and Redis run beside them on the same cores). The client keeps its garbage collector
off the tabs while measuring and reports its own longest stall (quiet_client_gc, watch_stalls).

    python -m bench.run                      # everything (several minutes)
    python -m bench.run --levels 1,20 --duration 10 --configs sqlite,echo
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import socketio
from sqlalchemy import func, update
from sqlmodel import select

from bench.reflex_client import AGENT, AUTH_TOKEN, CUSTOMER, VISITOR_KEY, Tab, Watching
from online_contact.models import Agent, AuthSession, Chat
from online_contact.models._base import utcnow
from online_contact.services.auth import hash_token
from online_contact.services.auth import hash_password
from online_contact.services.db import session_scope
from tests.support import ROOT, free_port, prepare_database, start_server, stop_server

SEND_EVERY = 2.0
# The configurations of the app: name in the table, backend workers, how messages travel
# ("wire": the page's message path, realtime/wire.py; "reflex": the Reflex send handlers, which
# pages fall back to and which carried every message before the wire, kept as a baseline).
CONFIGS = {
    "sqlite": ("SQLite, 1 worker", 1, "wire"),
    "sqlite-reflex": ("SQLite, 1 wkr, Reflex", 1, "reflex"),
    "postgres": ("PostgreSQL+Redis, 4 wkr", 4, "wire"),
    "postgres2": ("PostgreSQL+Redis, 2 wkr", 2, "wire"),
    "postgres2-reflex": ("PG+Redis, 2 wkr, Reflex", 2, "reflex"),
}
# Conversations run this long before samples count: the first messages of a server pay for
# one-off work (SQLAlchemy statement compilation, first deltas) that is not steady state. At 500
# conversations the server's heap has just grown by ~370 objects per tab, and the first seconds
# of messages tip Python's garbage collector into a full collection of it (~250 ms with 1,000
# tabs, measured 4.3 and 6.0 s after the first message): `--warmup 10` keeps that one-off pause
# out of the samples (bench/ab.py uses it), the default counts it when it falls after 4 s.
WARMUP = 4.0


@dataclass
class Result:
    config: str
    level: int
    latencies: list[float] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)  # when each measured message was sent
    lost: int = 0
    sent: int = 0  # warm-up included (CPU is measured over the whole run)
    mem_per_tab_kb: float = 0.0
    cpu_ms_per_msg: float = 0.0
    client_stall_ms: float = 0.0  # the bench client's own longest pause while measuring

    def pct(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        data = sorted(self.latencies)
        k = min(len(data) - 1, max(0, round(p / 100 * len(data)) - 1))
        return data[k] * 1000


def tree(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def rss(proc: psutil.Process) -> int:
    total = 0
    for p in tree(proc):
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def cpu_seconds(proc: psutil.Process) -> float:
    total = 0.0
    for p in tree(proc):
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


# ---- workspace ------------------------------------------------------------------------------
def seed_bench_agents(db_url: str, count: int) -> list[str]:
    """`count` agents (limit 1 open chat each) with login tokens; returns the tokens."""
    password_hash = hash_password("bench-password")
    tokens = []
    with session_scope(db_url) as s:
        existing = {a.email: a for a in s.exec(select(Agent).where(Agent.email.like("bench%")))}
        for i in range(count):
            email = f"bench{i}@example.com"
            agent = existing.get(email) or Agent(email=email, name=f"bench{i}", password_hash=password_hash)
            agent.max_open_chats = 1
            s.add(agent)
            s.flush()
            token = uuid.uuid4().hex
            s.add(AuthSession(agent_id=agent.id, token_hash=hash_token(token), expires_at=utcnow().replace(year=utcnow().year + 1)))
            tokens.append(token)
    return tokens


def reset(db_url: str, max_open: int = 1) -> None:
    with session_scope(db_url) as s:
        s.exec(update(Agent).values(status="offline", open_chat_count=0, max_open_chats=max_open))
        s.exec(update(Chat).where(Chat.status != "ended").values(status="ended", agent_ended_at=utcnow()))


def chat_opened(db_url: str, chat_id: int) -> bool:
    with session_scope(db_url) as s:
        return s.get(Chat, chat_id).agent_opened_at is not None


def chat_of_agent(db_url: str, token: str) -> int | None:
    with session_scope(db_url) as s:
        row = s.exec(
            select(Chat.id)
            .join(AuthSession, AuthSession.agent_id == Chat.agent_id)
            .where(AuthSession.token_hash == hash_token(token), Chat.status == "open")
        ).first()
    return row


# ---- the client's own pauses -----------------------------------------------------------------
async def watch_stalls(result: Result, measure_from: float, stop_at: float, tick: float = 0.005) -> None:
    """The longest time the bench client's event loop was late: a pause of the client delays its
    sends and the arrivals it stamps alike, and would show up as the server's latency."""
    while True:
        t = time.perf_counter()
        if t >= stop_at:
            return
        await asyncio.sleep(tick)
        late = time.perf_counter() - t - tick
        if t >= measure_from:
            result.client_stall_ms = max(result.client_stall_ms, late * 1000)


def quiet_client_gc() -> None:
    """Keep the client's garbage collector from pausing it while it measures: the tabs' objects,
    made during set-up, go to the permanent generation (gc.freeze), so collections only walk what
    the conversations make. Measured: with 1,000 tabs, full collections paused the client ~200 ms
    and younger ones 10-50 ms, several times a second, which the table counted as latency.
    What an earlier level froze is released first, so its closed tabs are collected."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


# ---- one level ------------------------------------------------------------------------------
async def converse(sender, receiver, send, result: Result, measure_from: float, stop_at: float, tag: str) -> None:
    await asyncio.sleep(random.uniform(0, SEND_EVERY))
    n = 0
    while time.perf_counter() < stop_at:
        n += 1
        marker = f"{tag}x{n}x{uuid.uuid4().hex[:6]}"
        waiter = asyncio.create_task(receiver.wait_for(marker, timeout=10))
        await asyncio.sleep(0)
        t0 = time.perf_counter()
        await send(sender, marker)
        result.sent += 1
        try:
            arrived = await waiter
            if t0 >= measure_from:
                result.latencies.append(arrived - t0)
                result.sent_at.append(t0 - measure_from)
        except asyncio.TimeoutError:
            result.lost += 1
        await asyncio.sleep(max(0.0, SEND_EVERY - (time.perf_counter() - t0)))


async def reflex_send(tab: Tab, handler: str, text: str) -> None:
    await tab.emit(handler, form_data={"text": text, "client_id": uuid.uuid4().hex})


async def wire_send(chat_id: int, tab: Tab, text: str) -> None:
    answer = await tab.send(chat_id, text)
    if not answer.get("ok"):
        raise RuntimeError(f"the wire refused a message: {answer}")


async def run_reflex_level(config: str, url: str, db_url: str, tokens: list[str], server: psutil.Process, level: int, duration: float,
                           warmup: float = WARMUP) -> Result:
    reset(db_url)
    result = Result(CONFIGS[config][0], level)
    wire = CONFIGS[config][2] == "wire"
    mem0 = rss(server)
    agents, customers, chat_ids = [], [], []
    for i in range(level):
        agent = Tab(url, "/agent", {AUTH_TOKEN: tokens[i]}, wire={"role": "agent", "credential": tokens[i]} if wire else None)
        await agent.connect()
        await agent.emit(f"{AGENT}.set_status", status="online")
        visitor = uuid.uuid4().hex
        customer = Tab(url, "/", {VISITOR_KEY: visitor}, wire={"role": "customer", "credential": visitor} if wire else None)
        await customer.connect()
        await asyncio.sleep(0.05)
        await customer.emit(f"{CUSTOMER}.give_consent", form_data={"agree": "on", "name": f"bench{i}"})
        chat_id = None
        for _ in range(200):
            chat_id = chat_of_agent(db_url, tokens[i])
            if chat_id:
                break
            await asyncio.sleep(0.05)
        if not chat_id:
            raise RuntimeError(f"conversation {i}: the chat was not assigned")
        await agent.emit(f"{AGENT}.select_chat", chat_id=chat_id)
        if wire:
            # As the page does: the agent's wire joins the chat once it is open on their screen
            # (an agent reads a chat over the wire only after opening it).
            for _ in range(200):
                if chat_opened(db_url, chat_id):
                    break
                await asyncio.sleep(0.02)
            for tab in (agent, customer):
                if not (await tab.join(chat_id)).get("ok"):
                    raise RuntimeError(f"conversation {i}: the wire refused to join chat {chat_id}")
        chat_ids.append(chat_id)
        agents.append(agent)
        customers.append(customer)
    await asyncio.sleep(1.0)
    quiet_client_gc()
    mem1 = rss(server)
    result.mem_per_tab_kb = (mem1 - mem0) / 1024 / (2 * level)
    cpu0 = cpu_seconds(server)
    measure_from = time.perf_counter() + warmup
    stop_at = measure_from + duration
    tasks = []
    for i, (a, c) in enumerate(zip(agents, customers)):
        if wire:
            send = functools.partial(wire_send, chat_ids[i])
            tasks.append(converse(c, a, send, result, measure_from, stop_at, f"c{i}"))
            tasks.append(converse(a, c, send, result, measure_from, stop_at, f"a{i}"))
        else:
            tasks.append(converse(c, a, lambda t, m: reflex_send(t, f"{CUSTOMER}.send", m), result, measure_from, stop_at, f"c{i}"))
            tasks.append(converse(a, c, lambda t, m: reflex_send(t, f"{AGENT}.send", m), result, measure_from, stop_at, f"a{i}"))
    tasks.append(watch_stalls(result, measure_from, stop_at))
    await asyncio.gather(*tasks)
    result.cpu_ms_per_msg = (cpu_seconds(server) - cpu0) * 1000 / max(1, result.sent)
    for tab in agents + customers:
        await tab.close()
    return result


# ---- the floor ------------------------------------------------------------------------------
class EchoTab(Watching):
    """A tab of the floor: plain socket.io, no Reflex."""

    def __init__(self, url: str):
        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.watchers = []
        self.sio.on("event", self._on)

    async def _on(self, data):
        self._deliver(data, time.perf_counter())


async def run_echo_level(url: str, server: psutil.Process, level: int, duration: float, warmup: float = WARMUP) -> Result:
    result = Result("echo floor", level)
    mem0 = rss(server)
    pairs = []
    for i in range(level):
        pair = []
        for _ in range(2):
            tab = EchoTab(url)
            await tab.sio.connect(url, socketio_path="/_event", transports=["websocket"])
            await tab.sio.emit("join", f"room{i}")
            pair.append(tab)
        pairs.append(pair)
    await asyncio.sleep(1.0)
    quiet_client_gc()
    result.mem_per_tab_kb = (rss(server) - mem0) / 1024 / (2 * level)
    cpu0 = cpu_seconds(server)
    measure_from = time.perf_counter() + warmup
    stop_at = measure_from + duration

    def sender(room):
        async def send(tab, marker):
            await tab.sio.emit("msg", {"room": room, "text": marker})

        return send

    tasks = []
    for i, (a, b) in enumerate(pairs):
        tasks.append(converse(a, b, sender(f"room{i}"), result, measure_from, stop_at, f"c{i}"))
        tasks.append(converse(b, a, sender(f"room{i}"), result, measure_from, stop_at, f"a{i}"))
    tasks.append(watch_stalls(result, measure_from, stop_at))
    await asyncio.gather(*tasks)
    result.cpu_ms_per_msg = (cpu_seconds(server) - cpu0) * 1000 / max(1, result.sent)
    for pair in pairs:
        for tab in pair:
            await tab.sio.disconnect()
    return result


def start_echo(port: int, log: Path) -> subprocess.Popen:
    granian = str(Path(sys.executable).with_name("granian"))
    with log.open("w") as out:
        proc = subprocess.Popen(
            [granian, "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "bench.echo_server:app"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            import urllib.request

            urllib.request.urlopen(f"http://127.0.0.1:{port}/_event/?EIO=4&transport=polling", timeout=1)
            return proc
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(log.read_text())


# ---- assignment -----------------------------------------------------------------------------
async def run_assignment(url: str, db_url: str, tokens: list[str], chats: int = 200, agents: int = 10, limit: int = 20) -> dict:
    reset(db_url, max_open=limit)
    with session_scope(db_url) as s:
        ids = [t for t in s.exec(select(AuthSession.agent_id).where(AuthSession.token_hash.in_([hash_token(t) for t in tokens[:agents]])))]
        s.exec(update(Agent).where(Agent.id.in_(ids)).values(status="online", max_open_chats=limit))
        before = s.exec(select(func.max(Chat.id))).one() or 0
    customers = [Tab(url, "/", {VISITOR_KEY: uuid.uuid4().hex}) for _ in range(chats)]
    await asyncio.gather(*(c.connect() for c in customers))
    t0 = time.perf_counter()
    await asyncio.gather(*(c.emit(f"{CUSTOMER}.give_consent", form_data={"agree": "on", "name": f"load{i}"}) for i, c in enumerate(customers)))
    elapsed = None
    while time.perf_counter() - t0 < 120:
        with session_scope(db_url) as s:
            assigned = s.exec(select(func.count()).select_from(Chat).where(Chat.id > before, Chat.agent_id.is_not(None))).one()
        if assigned >= min(chats, agents * limit):
            elapsed = time.perf_counter() - t0
            break
        await asyncio.sleep(0.05)
    with session_scope(db_url) as s:
        rows = s.exec(select(Chat).where(Chat.id > before)).all()
        counts = {a.id: (a.open_chat_count, a.max_open_chats) for a in s.exec(select(Agent).where(Agent.id.in_(ids)))}
    held = {aid: sum(1 for c in rows if c.agent_id == aid) for aid in ids}
    double = sum(max(0, counts[aid][0] - held[aid]) for aid in ids)
    over = sum(1 for aid in ids if held[aid] > limit)
    for c in customers:
        await c.close()
    return {"chats": len(rows), "assigned": sum(held.values()), "seconds": elapsed, "double": double, "over_limit": over}


# ---- main -----------------------------------------------------------------------------------
def pg_database() -> tuple[str, callable]:
    import psycopg

    schema = f"oc_bench_{uuid.uuid4().hex[:8]}"
    admin = "postgresql://postgres@127.0.0.1:5432/test"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')

    def drop():
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    return f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}", drop


async def bench_reflex(config: str, levels: list[int], duration: float, tmp: Path, assignment: bool,
                       warmup: float = WARMUP) -> tuple[list[Result], dict | None]:
    cleanup = None
    extra = {}
    if config.startswith("sqlite"):
        db_url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        import redis

        db_url, cleanup = pg_database()
        redis_db = 14
        redis.Redis(db=redis_db).flushdb()
        extra = {"REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}", "GRANIAN_WORKERS": str(CONFIGS[config][1])}
    prepare_database(db_url)
    tokens = seed_bench_agents(db_url, max(max(levels), 10))
    srv = start_server(db_url, free_port(), tmp / f"{config}.log", extra_env=extra)
    results, assign = [], None
    try:
        proc = psutil.Process(srv.proc.pid)
        for level in levels:
            r = await run_reflex_level(config, srv.url, db_url, tokens, proc, level, duration, warmup)
            print_row(r, flush=True)
            results.append(r)
        if assignment:
            assign = await run_assignment(srv.url, db_url, tokens)
            print(f"  assignment ({config}): {assign}", flush=True)
    finally:
        stop_server(srv.proc)
        if cleanup:
            cleanup()
            import redis

            redis.Redis(db=14).flushdb()
    return results, assign


def print_row(r: Result, flush=False) -> None:
    print(
        f"| {r.config:<22} | {r.level:>5} | {r.pct(50):7.1f} | {r.pct(95):7.1f} | {r.pct(99):7.1f} | {len(r.latencies):6} | {r.lost:4} | {r.mem_per_tab_kb:8.0f} | {r.cpu_ms_per_msg:6.2f} | {r.client_stall_ms:6.0f} |",
        flush=flush,
    )


HEADER = (
    "| configuration          | conv. |  p50 ms |  p95 ms |  p99 ms |   msgs | >10s | KB/tab   | CPU ms/msg | client stall ms |\n"
    "|------------------------|------:|--------:|--------:|--------:|-------:|-----:|---------:|-------:|-------:|"
)


def write_samples(path: Path, all_results: dict[str, list[Result]]) -> None:
    """Every measured message with its send time, to see whether a p95 comes from steady queueing
    or from bursts (a periodic task, a pause)."""
    import csv

    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["config", "level", "sent_at_s", "latency_ms"])
        for results in all_results.values():
            for r in results:
                for at, lat in zip(r.sent_at, r.latencies):
                    writer.writerow([r.config, r.level, f"{at:.3f}", f"{lat * 1000:.2f}"])


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--levels", default="1,20,100,200,300,500")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=WARMUP, help="seconds of conversation before samples count")
    parser.add_argument("--configs", default="echo,sqlite,sqlite-reflex,postgres,postgres2")
    parser.add_argument("--no-assignment", action="store_true")
    parser.add_argument("--samples", help="write every measured message (config, level, sent at s, latency ms) to this CSV")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    configs = args.configs.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="oc-bench-"))
    print(f"machine: {os.cpu_count()} cores; each side of a conversation sends every {SEND_EVERY:.0f} s for {args.duration:.0f} s per level\n")
    print(HEADER, flush=True)
    all_results: dict[str, list[Result]] = {}
    assignments = {}
    if "echo" in configs:
        port = free_port()
        proc = start_echo(port, tmp / "echo.log")
        try:
            ps = psutil.Process(proc.pid)
            all_results["echo"] = []
            for level in levels:
                r = await run_echo_level(f"http://127.0.0.1:{port}", ps, level, args.duration, args.warmup)
                print_row(r, flush=True)
                all_results["echo"].append(r)
        finally:
            stop_server(proc)
    for config in CONFIGS:
        if config in configs:
            name = CONFIGS[config][0]
            results, assign = await bench_reflex(config, levels, args.duration, tmp, not args.no_assignment, args.warmup)
            all_results[config] = results
            if assign:
                assignments[name] = assign
    if args.samples:
        write_samples(Path(args.samples), all_results)
    print("\nRatio of p95 to the echo floor at the same load:")
    floor = {r.level: r.pct(95) for r in all_results.get("echo", [])}
    for config in CONFIGS:
        for r in all_results.get(config, []):
            if r.level in floor:
                print(f"  {r.config:<24} {r.level:>4} conversations: {r.pct(95) / floor[r.level]:.1f}x")
    print("\nLargest measured load with p95 < 100 ms:")
    for config, results in all_results.items():
        ok = [r.level for r in results if r.pct(95) < 100 and r.lost == 0]
        print(f"  {results[0].config if results else config:<24} {max(ok) if ok else 'none'}")
    if assignments:
        print("\nAssignment: 200 chats started together, 10 Online agents (limit 20 each)")
        for name, a in assignments.items():
            secs = f"{a['seconds']:.2f} s" if a["seconds"] is not None else "not finished in 120 s"
            print(f"  {name:<24} all assigned in {secs}; double assignments {a['double']}, over limit {a['over_limit']}")


if __name__ == "__main__":
    asyncio.run(main())
