"""Running the real app for tests: a production server (`reflex run --env prod`) on its own
database, and Debian's chromium for Playwright."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def run_async(coro):
    """asyncio.run in its own thread: after the browser tests, Playwright's sync API keeps an
    event loop running on the main thread, where asyncio.run() is refused."""
    import asyncio
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result(timeout=120)


class RecordingSocketServer:
    """What realtime/wire.py's namespace asks of python-socketio's server, recorded: rooms,
    sessions and emits (tests of the message path without a socket)."""

    def __init__(self) -> None:
        from types import SimpleNamespace

        self.rooms: dict[str, set[str]] = {}
        self.sessions: dict[str, dict] = {}
        self.emits: list[tuple[str, dict, object, object]] = []
        self.disconnected: list[str] = []
        self.manager = SimpleNamespace(rooms={"/_wire": self.rooms})

    async def enter_room(self, sid, room, namespace=None):
        self.rooms.setdefault(room, set()).add(sid)

    async def leave_room(self, sid, room, namespace=None):
        self.rooms.get(room, set()).discard(sid)

    async def disconnect(self, sid, namespace=None, ignore_queue=False) -> None:
        for members in self.rooms.values():
            members.discard(sid)
        self.sessions.pop(sid, None)
        self.disconnected.append(sid)

    async def save_session(self, sid, session, namespace=None):
        self.sessions[sid] = dict(session)

    async def get_session(self, sid, namespace=None):
        return dict(self.sessions[sid])

    async def emit(self, event, data=None, to=None, room=None, skip_sid=None, namespace=None, callback=None, **kw):
        self.emits.append((event, data, room or to, skip_sid))

    def receivers(self, rooms, skip_sid=None) -> set[str]:
        rooms = [rooms] if isinstance(rooms, str) else rooms
        skipped = set(skip_sid) if isinstance(skip_sid, list) else {skip_sid}
        return {sid for r in rooms for sid in self.rooms.get(r, set())} - skipped

    def delivered(self) -> list[tuple[str, str]]:
        """(socket, text) for every message emitted to a socket here."""
        return sorted((sid, data["text"]) for event, data, rooms, skip in self.emits if event == "message" for sid in self.receivers(rooms, skip))

    def previewed(self) -> list[tuple[str, str]]:
        """(socket, preview) for every message preview emitted to a socket here (an agent's
        socket outside the chat's room: realtime/wire.py deliver)."""
        return sorted((sid, data["preview"]) for event, data, rooms, skip in self.emits if event == "preview" for sid in self.receivers(rooms, skip))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url + "/api/health", timeout=2) as r:
                if r.status == 200:
                    # The frontend build is mounted once the backend answers; check the page too.
                    with urllib.request.urlopen(url + "/", timeout=5) as page:
                        if page.status == 200:
                            return
        except OSError:
            pass
        time.sleep(1)
    raise RuntimeError(f"server did not become healthy:\n{log.read_text()[-4000:]}")


class Server:
    """The app under test and a way to arrange its database directly."""

    def __init__(self, url: str, db_url: str, proc: subprocess.Popen, env: dict, log: Path):
        self.url, self.db_url, self.proc, self.env, self.log = url, db_url, proc, env, log

    def session(self):
        from online_contact.services.db import session_scope

        return session_scope(self.db_url)


def server_env(db_url: str) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REFLEX_DB_URL": db_url,
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_USE_SYSTEM_BUN": "1",
        "PATH": f"{ROOT / '.tools/node_modules/.bin'}:{ROOT / '.venv/bin'}:{os.environ.get('PATH', '')}",
        # Every test customer (and every bench customer) comes from 127.0.0.1: a real deployment's
        # per-IP limit of new chats would stop them (the limits have their own tests).
        "OC_LIMIT_CHATS_PER_IP": "100000/3600",
        # The test database has a DATABASE_URL of its own: the demo workspace only on request.
        "OC_DEMO": "1",
        "OC_LIMIT_INQUIRIES_PER_IP": "100000/3600",
        # ...and their messages over all chats from one address (the bench's hundreds of chats).
        "OC_LIMIT_MESSAGES_PER_IP": "100000/10",
    }
    env.pop("REDIS_URL", None)
    env.pop("REFLEX_REDIS_URL", None)
    return env


def prepare_database(db_url: str) -> None:
    """Migrate and seed the demo workspace, as `make run` does."""
    env = server_env(db_url)
    for cmd in ("migrate", "seed"):
        subprocess.run([sys.executable, "-m", "online_contact.manage", cmd], cwd=ROOT, env=env, check=True)


def start_server(db_url: str, port: int, log: Path, extra_env: dict | None = None) -> Server:
    """`reflex run --env prod` on `port`, returned once the page and the backend answer.

    Each server builds its frontend in a folder of its own (REFLEX_WEB_WORKDIR): the build bakes
    the backend's port into the pages, so a second server building into the project's .web would
    point the first one's pages at itself (and its origin is not allowed there)."""
    env = {**server_env(db_url), "REFLEX_WEB_WORKDIR": str(log.parent / f"web-{port}"), **(extra_env or {})}
    reflex = str(Path(sys.executable).with_name("reflex"))
    with log.open("a") as out:
        proc = subprocess.Popen(
            [reflex, "run", "--env", "prod", "--backend-port", str(port), "--backend-host", "127.0.0.1"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log)
    except BaseException:
        stop_server(proc)
        raise
    return Server(url, db_url, proc, env, log)


def stop_server(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stop the whole process group (reflex, granian and its workers)."""
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=20)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


