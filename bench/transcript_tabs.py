"""`make bench-tabs`: what N tabs of one visitor reading a chat's whole transcript (이전 메시지 보기)
cost the server's worker in memory, before and after a change, in one sitting (issue 23).

Before issue 23 each tab's own state held a copy of up to 2,000 older messages (10 tabs took a
worker from 183 to 275 MB, kept after they left); since, the older pages come over the message
path (``older``, realtime/wire.py) and stay in the page. One run per side: a production server on
a fresh SQLite database with one chat of --messages messages of --chars characters of Hangul;
--tabs headless tabs of its visitor open the help center (each linked to the chat), then each
reads the whole transcript the way its page does (the side's own way: the Reflex event
``load_older``, or ``older`` pages over /_wire), then all leave. The worker's resident memory
(the largest process of the server's tree) is printed at each step.

    python -m bench.transcript_tabs --before 40b0a5a            # that commit against this checkout
    python -m bench.transcript_tabs                              # this checkout only

The "before" side runs in a git worktree with its own virtualenv (bench/ab.py's checkout), with
this checkout's instrument (this file, bench/reflex_client.py, bench/run.py, tests/support.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTRUMENT = ("bench/transcript_tabs.py", "bench/reflex_client.py", "bench/run.py", "tests/support.py")
RESULT = "RESULT "


def worker_rss_mb(proc) -> float:
    """The largest process of the server's tree (the worker holding the states), in MB."""
    import psutil

    from bench.run import tree

    sizes = []
    for p in tree(proc):
        try:
            sizes.append(p.memory_info().rss)
        except psutil.NoSuchProcess:
            pass
    return max(sizes) / 2**20 if sizes else float("nan")


def seed_chat(db_url: str, messages: int, chars: int) -> tuple[int, str]:
    """One chat of `messages` customer messages; returns (chat id, the visitor's key)."""
    from online_contact.models import Chat
    from online_contact.services import chats as chat_service
    from online_contact.services import customers as customer_service
    from online_contact.services import messages as message_service
    from online_contact.services.db import session_scope

    os.environ["OC_LIMIT_MESSAGES_PER_SECOND"] = "0"
    visitor = uuid.uuid4().hex
    with session_scope(db_url) as s:
        customer = customer_service.customer_for_visitor(s, visitor, create=True)
        consent = customer_service.record_consent(s, customer, True, "127.0.0.1")
        s.commit()
        chat = chat_service.start_chat(s, customer, consent, name="긴 대화")
        for i in range(messages):
            message_service.post_message(s, s.get(Chat, chat.id), "customer", f"{i:05d} " + "가" * max(0, chars - 6), f"bench-{i}")
        return chat.id, visitor


async def read_all_over_the_wire(tab, chat_id: int, last_seq: int) -> int:
    """이전 메시지 보기 as the page does since issue 23: join, then ``older`` pages to the first."""
    from bench.reflex_client import WIRE

    async def call(event: str, data: dict) -> dict:
        while True:
            answer = await tab.sio.call(event, data, namespace=WIRE, timeout=60)
            if answer.get("error") == "error.too_fast":
                await asyncio.sleep(answer.get("retry_ms", 1000) / 1000)
                continue
            return answer

    await call("join", {"chat_id": chat_id, "after": last_seq})
    got, before = 0, last_seq + 1
    while True:
        page = await call("older", {"chat_id": chat_id, "before": before})
        got += len(page["messages"])
        if not page["more"] or not page["messages"]:
            return got
        before = page["messages"][0]["seq"]


async def read_all_through_reflex(tab, first_text: str) -> int:
    """이전 메시지 보기 as the page did before issue 23: the Reflex event, whose answer is the tab's
    state with every older message in it."""
    from bench.reflex_client import CUSTOMER

    arrived = asyncio.ensure_future(tab.wait_for(first_text, timeout=120))
    await tab.emit(f"{CUSTOMER}.load_older")
    await arrived
    return -1


async def measure(tabs_n: int, messages: int, chars: int) -> dict:
    import psutil

    from bench.reflex_client import CUSTOMER, VISITOR_KEY, Tab
    from online_contact.states import transcript
    from tests.support import free_port, prepare_database, start_server, stop_server

    over_wire = not hasattr(transcript, "TranscriptMixin")
    tmp = Path(tempfile.mkdtemp(prefix="oc-bench-tabs-"))
    db_url = f"sqlite:///{tmp / 'bench.db'}"
    prepare_database(db_url)
    chat_id, visitor = seed_chat(db_url, messages, chars)
    srv = start_server(db_url, free_port(), tmp / "server.log")
    try:
        proc = psutil.Process(srv.proc.pid)
        await asyncio.sleep(3)
        idle = worker_rss_mb(proc)
        tabs = [Tab(srv.url, "/", {VISITOR_KEY: visitor}, wire={"role": "customer", "credential": visitor}) for _ in range(tabs_n)]
        for tab in tabs:
            await tab.connect()
            await tab.emit(f"{CUSTOMER}.load_help_center")
        await asyncio.sleep(3)
        opened = worker_rss_mb(proc)
        started = time.perf_counter()
        first = "00000 "
        if over_wire:
            counts = await asyncio.gather(*(read_all_over_the_wire(t, chat_id, messages + 1) for t in tabs))
            assert all(c == messages + 1 for c in counts), counts  # the greeting and every message
        else:
            await asyncio.gather(*(read_all_through_reflex(t, first) for t in tabs))
        seconds = time.perf_counter() - started
        await asyncio.sleep(3)
        loaded = worker_rss_mb(proc)
        # Again, the same tabs: what stays per read (a state that keeps a copy) against what the
        # worker's allocator and its database connections keep from the first round.
        if over_wire:
            await asyncio.gather(*(read_all_over_the_wire(t, chat_id, messages + 1) for t in tabs))
        else:
            await asyncio.gather(*(t.emit(f"{CUSTOMER}.load_older") for t in tabs))
        await asyncio.sleep(3)
        again = worker_rss_mb(proc)
        for tab in tabs:
            await tab.close()
        await asyncio.sleep(10)
        left = worker_rss_mb(proc)
    finally:
        stop_server(srv.proc)
    return {"way": "older over /_wire" if over_wire else "Reflex load_older", "tabs": tabs_n, "idle": idle, "opened": opened,
            "loaded": loaded, "again": again, "left": left, "seconds": seconds}


def run_side(tree: Path, args) -> dict:
    """The instrument in `tree` (its own code and virtualenv); returns its result."""
    if tree != ROOT:
        for name in INSTRUMENT:
            (tree / name).write_bytes((ROOT / name).read_bytes())
    env = {
        **os.environ,
        "PATH": f"{tree / '.tools/node_modules/.bin'}:{tree / '.venv/bin'}:{os.environ.get('PATH', '')}",
        "REFLEX_USE_SYSTEM_BUN": "1",
        "REFLEX_TELEMETRY_ENABLED": "false",
    }
    out = subprocess.run(
        [str(tree / ".venv/bin/python"), "-m", "bench.transcript_tabs", "--measure", "--tabs", str(args.tabs),
         "--messages", str(args.messages), "--chars", str(args.chars)],
        cwd=tree, env=env, capture_output=True, text=True,
    )
    for line in out.stdout.splitlines():
        if line.startswith(RESULT):
            return json.loads(line[len(RESULT):])
    raise RuntimeError(f"the instrument failed in {tree}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", help="a commit to measure against this checkout (in a worktree of its own)")
    parser.add_argument("--tabs", type=int, default=10)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--chars", type=int, default=500)
    parser.add_argument("--workdir", default=str(ROOT.parent / "oc-bench-ab"), help="where worktrees are kept (bench/ab.py's)")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(RESULT + json.dumps(asyncio.run(measure(args.tabs, args.messages, args.chars))), flush=True)
        return
    sides = [("this checkout", ROOT)]
    if args.before:
        from bench.ab import checkout, git

        workdir = Path(args.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        tree = checkout(args.before, workdir)
        sides.insert(0, (f"before ({git('rev-parse', '--short', 'HEAD', cwd=tree)})", tree))
    print(f"{args.tabs} tabs of one visitor read a chat of {args.messages} messages of {args.chars} characters "
          f"(Hangul, {args.messages * args.chars * 3 / 2**20:.1f} MB of text); the worker's RSS in MB\n")
    print("| side | how a tab reads it | idle | tabs open | all read | read again | tabs left | MB per tab kept | read in s |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|")
    for label, tree in sides:
        r = run_side(tree, args)
        print(f"| {label} | {r['way']} | {r['idle']:.0f} | {r['opened']:.0f} | {r['loaded']:.0f} | {r['again']:.0f} | {r['left']:.0f} | "
              f"{(r['left'] - r['opened']) / r['tabs']:.1f} | {r['seconds']:.1f} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
