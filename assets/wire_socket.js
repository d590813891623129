// The page's socket on the message path's namespace /_wire (online_contact/realtime/wire.py),
// opened on Reflex's own socket.io connection (same manager: one websocket per tab, and it goes
// down and comes back with Reflex's). Used by chat_wire.jsx and history_wire.jsx.
import { io } from "socket.io-client";
import { env, getBackendURL } from "./reflex_bridge.js";

// `credential()` is read on every (re)connect: the agent may have logged in again meanwhile, a
// customer's page may have its visitor key only now. A refused connect (e.g. the key not stored
// yet) ends the socket; it is tried again 2 s later while `stillWanted()` says so. The caller
// adds its handlers, then calls connect() (Reflex's manager does not connect on its own).
// `extra` goes with the credential (``history: true``: 채팅 기록's socket, which only watches).
export function openWire(role, credential, stillWanted, extra = {}) {
  const endpoint = getBackendURL(env.EVENT);
  const s = io(new URL("/_wire", endpoint).href, {
    path: endpoint.pathname,
    transports: [env.TRANSPORT],
    auth: (cb) => cb({ ...extra, role, credential: credential() }),
  });
  s.on("connect_error", () => {
    setTimeout(() => {
      if (stillWanted(s) && !s.connected) s.connect();
    }, 2000);
  });
  return s;
}

// Leave the namespace; the connection is Reflex's. socket.io-client keeps a left namespace in its
// manager, and the next io() for it would then open a websocket of its own (another screen of
// the same tab: the chat screen after 채팅 기록): it is taken out, so the next one rides on
// Reflex's connection again.
export function closeWire(s) {
  s.disconnect();
  if (s.io.nsps[s.nsp] === s) delete s.io.nsps[s.nsp];
}
