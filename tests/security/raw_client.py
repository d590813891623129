"""An attacker's socket.io client: the bench's headless Reflex tab, recording what it receives."""

from __future__ import annotations

import json

from bench.reflex_client import Tab


class RecordingTab(Tab):
    """A tab that keeps every update it receives (as JSON text) and can use any client token."""

    def __init__(self, base_url: str, path: str, storage: dict | None = None, token: str | None = None, wire=None):
        super().__init__(base_url, path, storage, wire=wire)
        if token is not None:
            self.token = token
        self.received: list[str] = []
        self.sio.on("message", self._on_wire_message, namespace="/_wire")

    async def _on_event(self, data) -> None:
        self.received.append(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, default=str))
        await super()._on_event(data)

    async def _on_wire_message(self, data) -> None:
        self.received.append(json.dumps(data, ensure_ascii=False, default=str))
        await super()._on_message(data)

    def saw(self, text: str) -> bool:
        return any(text in raw for raw in self.received)
