"""The floor: a bare python-socketio server that relays a message to the other tab of a pair.

Run by bench/run.py with granian (the same ASGI server Reflex uses in production).
"""

import socketio

sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*")
app = socketio.ASGIApp(sio, socketio_path="/_event")


@sio.on("join")
async def join(sid, room):
    await sio.enter_room(sid, room)


@sio.on("msg")
async def msg(sid, data):
    await sio.emit("event", data["text"], room=data["room"], skip_sid=sid)
