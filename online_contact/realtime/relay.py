"""The message path between workers: Redis pub/sub, one channel per room (``oc-wire:<room>``).

A worker subscribes to a room's channel while it has sockets in that room, so a message is
handled only by the workers that have someone to give it to (Reflex's socket.io server has no
Redis manager; one channel for everything made every worker parse every message). Every worker
also listens on two channels of its own kind: logins that ended elsewhere (their sockets are let
go at once, realtime/wire.py end_logins) and settings saved elsewhere that each worker caches
(the masking switches, services/privacy.py).

`Relay` is the base of the namespace (realtime/wire.py WireNamespace): its emits go out here and
on the other workers (`broadcast`), and its lifespan task `relay` re-emits what they publish.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence

import socketio

from online_contact.config import redis_url
from online_contact.services import privacy

from .reflex_internals import room_members

logger = logging.getLogger(__name__)

CHANNEL_PREFIX = "oc-wire:"
# Every worker listens here for logins that ended elsewhere (their sockets are let go at once).
LOGINS_CHANNEL = "oc-wire-logins-ended"
# And here for settings saved elsewhere that each worker caches (the masking switches).
SETTINGS_CHANNEL = "oc-wire-settings-changed"
# Channels of rooms left empty here are dropped by a sweep this often, once they were last
# asked for at least this long ago (a join between its subscription and entering the room must
# not lose its channel).
SWEEP_SECONDS = 30.0
SUBSCRIBE_WAIT = 2.0
SEEN_KEEP = 4096  # relayed message ids remembered (a message for two rooms comes on both channels)


# One broadcast: (event, data, rooms, skip_rooms), see Relay.emit_here.
Send = tuple[str, dict, list[str], Sequence[str]]


def channel(room: str) -> str:
    return CHANNEL_PREFIX + room


class Relay(socketio.AsyncNamespace):
    """A socket.io namespace whose emits reach its rooms' sockets on every worker."""

    def __init__(self, namespace: str) -> None:
        super().__init__(namespace)
        self.instance = ""
        self._redis = None
        self._pubsub = None
        self._serial = itertools.count(1)
        # channel -> (when a join last asked for it, future set once Redis confirmed it)
        self._channels: dict[str, tuple[float, asyncio.Future]] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()
        # SUBSCRIBE and UNSUBSCRIBE go out one at a time: a join's subscription must not be
        # overtaken by the sweep's unsubscription of the same channel.
        self._commands = asyncio.Lock()

    async def end_logins(self, login_ids, relay: bool = True) -> int:
        """Let go of the sockets of these logins here (the namespace's; called with relay=False
        for the word of another worker)."""
        raise NotImplementedError

    async def _tell_workers(self, name: str, payload: list) -> None:
        """Publish on one of the channels every worker listens on (raises when Redis fails)."""
        if self._redis is not None:
            await self._redis.publish(name, json.dumps([self.instance, *payload]))

    async def settings_changed(self) -> None:
        """설정 › 개인정보 was saved in this worker (which forgot its cached switches already): every
        other worker forgets its own now, instead of up to privacy.CACHE_SECONDS later, so a kind
        of number switched back on is masked by every worker from the next message."""
        try:
            await self._tell_workers(SETTINGS_CHANNEL, [])
        except Exception:  # noqa: BLE001 - the others read the switches again within CACHE_SECONDS
            logger.exception("wire: telling the other workers about saved settings failed")

    async def emit_here(
        self, event: str, data: dict, rooms: list[str], skip_sid: str | None = None, skip_rooms: Sequence[str] = ()
    ) -> None:
        """Emit to this worker's sockets in any of `rooms` (each once), except `skip_sid` and the
        sockets in any of `skip_rooms` (each worker leaves out its own members of those: they get
        another event instead): what was sent here, and what another worker relayed (the
        namespace may check its sockets first)."""
        if skip_rooms:
            # python-socketio takes a list of sids to leave out (not any other collection).
            skipped = [sid for room in skip_rooms for sid in room_members(self.server, self.namespace, room)]
            if skip_sid and skip_sid not in skipped:
                skipped.append(skip_sid)
            await self.emit(event, data, room=rooms, skip_sid=skipped)
            return
        await self.emit(event, data, room=rooms, skip_sid=skip_sid)

    async def broadcast(self, event: str, data: dict, rooms: list[str], skip_sid: str | None = None) -> None:
        """Emit to the sockets in any of `rooms` (each once), here and on the other workers."""
        await self.broadcast_all([(event, data, rooms, ())], skip_sid)

    async def broadcast_all(self, sends: Sequence[Send], skip_sid: str | None = None) -> None:
        """Several broadcasts (event, data, rooms, skip_rooms) in one go: each is emitted here (see
        emit_here), and all of them reach the other workers in one Redis round trip."""
        for event, data, rooms, skip_rooms in sends:
            await self.emit_here(event, data, rooms, skip_sid, skip_rooms)
        if self._redis is None:
            return
        publishes = []
        for event, data, rooms, skip_rooms in sends:
            fields = [f"{self.instance}:{next(self._serial)}", event, rooms, data]
            if skip_rooms:
                fields.append(list(skip_rooms))
            packet = json.dumps(fields, ensure_ascii=False)
            publishes += [(channel(room), packet) for room in rooms]
        try:
            if len(publishes) == 1:
                await self._redis.publish(*publishes[0])
            else:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for name, packet in publishes:
                        pipe.publish(name, packet)
                    await pipe.execute()
        except Exception:  # noqa: BLE001 - delivered here; elsewhere a page sees the gap at
            # its next message (seq skips one) or on its next (re)connect, and joins again
            logger.exception("wire relay publish failed")

    async def watch(self, room: str) -> None:
        """Make sure this worker gets what other workers send to `room` (its sockets are in it);
        waits (briefly) until Redis confirmed the subscription."""
        if self._redis is None:
            return
        name = channel(room)
        known = self._channels.get(name)
        if known is None:
            known = (time.monotonic(), asyncio.get_running_loop().create_future())
            self._channels[name] = known
            if self._pubsub is not None:
                try:
                    async with self._commands:
                        await self._pubsub.subscribe(name)
                except Exception:  # noqa: BLE001 - the relay resubscribes everything it restarts
                    logger.exception("wire relay subscribe failed")
        else:
            self._channels[name] = (time.monotonic(), known[1])
        if self._pubsub is None:  # Redis away: the relay subscribes it when it is back
            return
        try:
            await asyncio.wait_for(asyncio.shield(known[1]), SUBSCRIBE_WAIT)
        except asyncio.TimeoutError:
            logger.warning("wire relay: no confirmation for %s yet", name)

    def _has_sockets(self, room: str) -> bool:
        return bool(room_members(self.server, self.namespace, room))

    async def sweep(self) -> None:
        """Drop the channels of rooms without sockets here (not asked for lately)."""
        if self._pubsub is None:
            return
        async with self._commands:
            before = time.monotonic() - SWEEP_SECONDS
            idle = [
                name
                for name, (asked, _) in self._channels.items()
                if asked < before and not self._has_sockets(name[len(CHANNEL_PREFIX) :])
            ]
            for name in idle:
                del self._channels[name]
            if idle:
                await self._pubsub.unsubscribe(*idle)

    def _first_time(self, key: str) -> bool:
        """A message for two rooms comes once per room's channel; deliver it once."""
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > SEEN_KEEP:
            self._seen.popitem(last=False)
        return True

    async def _deliver(self, item: dict) -> None:
        kind, name = item.get("type"), item.get("channel", b"").decode()
        if kind == "message" and name == LOGINS_CHANNEL:
            sender, ids = json.loads(item["data"])
            if sender != self.instance:
                await self.end_logins(ids, relay=False)
            return
        if kind == "message" and name == SETTINGS_CHANNEL:
            if json.loads(item["data"])[0] != self.instance:
                privacy.forget_cached_kinds()
            return
        if kind == "subscribe":
            known = self._channels.get(name)
            if known is not None and not known[1].done():
                known[1].set_result(True)
            return
        if kind != "message":
            return
        key, event, rooms, data, *skip_rooms = json.loads(item["data"])
        if key.partition(":")[0] == self.instance or (len(rooms) > 1 and not self._first_time(key)):
            return
        await self.emit_here(event, data, rooms, skip_rooms=skip_rooms[0] if skip_rooms else ())

    async def relay(self) -> None:
        """Lifespan task: re-emit to this worker's sockets what the other workers published."""
        url = redis_url()
        if not url:
            return
        import redis.asyncio as aioredis

        # The app is imported before the server forks its workers: each worker needs its own id
        # here, or every worker takes the others' publications for its own and drops them.
        self.instance = uuid.uuid4().hex
        self._redis = aioredis.from_url(url)
        while True:
            pubsub = self._redis.pubsub()
            try:
                # Always one channel of its own, so the connection stays subscribed while no
                # room has sockets here; after a failure, every room's channel again.
                known = list(self._channels)
                await pubsub.subscribe(channel(f"worker-{self.instance}"), LOGINS_CHANNEL, SETTINGS_CHANNEL, *known)
                self._pubsub = pubsub
                # A save while this worker was away from Redis sent its word to no one here.
                privacy.forget_cached_kinds()
                late = set(self._channels) - set(known)
                if late:  # asked for while the first subscription was on its way
                    async with self._commands:
                        await pubsub.subscribe(*late)
                next_sweep = time.monotonic() + SWEEP_SECONDS
                while True:
                    item = await pubsub.get_message(timeout=SWEEP_SECONDS)
                    if item is not None:
                        await self._deliver(item)
                    if time.monotonic() >= next_sweep:
                        next_sweep = time.monotonic() + SWEEP_SECONDS
                        await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep relaying; say why
                logger.exception("wire relay failed; resubscribing")
                self._pubsub = None  # joins meanwhile only note their rooms (see watch)
                await asyncio.sleep(1.0)
            finally:
                self._pubsub = None
                await pubsub.aclose()
