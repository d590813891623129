// The page's side of the message path (online_contact/realtime/wire.py). Renders nothing.
//
// It opens the namespace /_wire on Reflex's own socket.io connection (same manager, so it goes
// down and comes back with Reflex's socket and there is one websocket per tab), joins the chat
// on every (re)connect with the last seq it has (the answer carries what it missed), and writes
// arriving messages into the client-only list ChatRoom.live, which the transcript shows after the
// room's messages (only entries newer than the room's last_seq, so nothing shows twice). On an
// agent's page it also updates the preview of the chat's line in the chat list (AgentDesk.chats),
// and re-applies it whenever the server sends an older copy of the list. A message masked by hand
// (``masked``) is changed in whatever copies the tab holds.
//
// window.ocWire.send(chatId, clientId, text) is what chat_input.js calls on submit; sends go in
// order, a message refused as too fast is sent again a second later; it resolves false whenever
// the wire cannot take the message (not connected, not joined, refused, no answer within 10 s),
// and the composer then submits through Reflex's handler with the same client id (stored once),
// which shows the error and keeps the text as before.
import { useContext, useEffect, useRef } from "react";
import { DispatchContext, EventLoopContext, ReflexEvent } from "./reflex_bridge.js";
import { closeWire, openWire } from "./wire_socket.js";

const PREVIEW_LENGTH = 40;
const SEND_TIMEOUT_MS = 10000;
const TOO_FAST_RETRY_MS = 1100;
const TOO_FAST_RETRIES = 20;
const CREDENTIAL_KEY = { customer: "oc_visitor", agent: "oc_auth" };

export function ChatWire({ role, ready, chatId, lastSeq, live, roomState, deskState, deskChats, siteState, categoriesEvent, maskedEvent, credential }) {
  const dispatch = useContext(DispatchContext);
  const [addEvents] = useContext(EventLoopContext);
  const now = useRef({});
  now.current = { chatId, lastSeq: lastSeq || 0, live: live || [], deskChats: deskChats || [], credential: credential || "" };
  // Inside a site's launcher the customer's key is kept by the state (the site hands it over),
  // not in this frame's storage (assets/embed_bridge.jsx).
  const credentialNow = () => now.current.credential || localStorage.getItem(CREDENTIAL_KEY[role]) || "";
  const socket = useRef(null);
  const joined = useRef(0);
  const previews = useRef({}); // chat id -> the newest preview this tab has seen

  // The newest seq of the open chat this tab shows (room window or live list).
  const known = () => {
    let seq = now.current.lastSeq;
    for (const m of now.current.live) if (m.chat_id === now.current.chatId && m.seq > seq) seq = m.seq;
    return seq;
  };

  const applyPreviews = () => {
    if (!deskState) return;
    let changed = false;
    const chats = now.current.deskChats.map((c) => {
      const p = previews.current[c.id];
      if (p && (Number(c.seq) || 0) < p.seq) {
        changed = true;
        return { ...c, ...p };
      }
      return c;
    });
    if (changed) {
      now.current.deskChats = chats;
      dispatch[deskState]({ chats_rx_state_: chats });
    }
  };

  const add = (messages) => {
    const { chatId: open, lastSeq: floor } = now.current;
    const bySeq = new Map();
    for (const m of now.current.live) if (m.chat_id === open && m.seq > floor) bySeq.set(m.seq, m);
    let added = false;
    for (const m of messages) {
      if (m.chat_id === open && m.seq > floor && !bySeq.has(m.seq)) {
        bySeq.set(m.seq, m);
        added = true;
      }
      const p = previews.current[m.chat_id];
      if (!p || p.seq < m.seq) {
        previews.current[m.chat_id] = {
          seq: m.seq,
          preview: String(m.text).slice(0, PREVIEW_LENGTH),
          awaiting_reply: m.author === "customer",
        };
      }
    }
    if (added) {
      const next = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
      now.current.live = next;
      dispatch[roomState]({ live_rx_state_: next });
    }
    applyPreviews();
  };

  const join = (after) => {
    const s = socket.current;
    const id = now.current.chatId;
    joined.current = 0;
    if (!s || !s.connected || !id) return;
    // The credential again: a customer's page connects before its first chat, when it has no
    // visitor key yet (the key is made when the chat starts).
    s.emit("join", { chat_id: id, after: after ?? known(), credential: credentialNow() }, (answer) => {
      if (!answer || !answer.ok || answer.chat_id !== now.current.chatId) return;
      joined.current = answer.chat_id;
      add(answer.messages.map((m) => ({ ...m, chat_id: answer.chat_id })));
    });
  };

  useEffect(() => {
    if (!ready || socket.current) return;
    // Reflex's socket exists once its state has arrived (ready), so io() finds its manager.
    // While the wire is not connected the composer sends through Reflex.
    const s = openWire(role, credentialNow, (sock) => socket.current === sock);
    s.on("connect", () => join());
    s.on("disconnect", () => {
      joined.current = 0;
    });
    // Settings changed by an admin, pushed to every open page (online_contact/realtime/wire.py
    // announce): the chat icon comes and goes, the kinds of number masked are named under the
    // customer's composer, the agents' 처리유형 cascades follow.
    s.on("site", (data) => {
      if (siteState && data && typeof data.chat_enabled === "boolean") {
        dispatch[siteState]({ chat_enabled_rx_state_: data.chat_enabled });
      }
      if (siteState && data && Array.isArray(data.masked_kinds)) {
        dispatch[siteState]({ masked_kinds_rx_state_: data.masked_kinds.filter((k) => typeof k === "string") });
      }
    });
    // The 처리유형 changed: the agent's screen reads them again from the server (so that a
    // deactivated one of the open chat still shows as such).
    s.on("categories", () => {
      if (categoriesEvent) addEvents([ReflexEvent(categoriesEvent)]);
    });
    // A message shown already was masked (마스킹): the copies this tab holds itself change too
    // (the room's window is reloaded by the server; the older messages it loaded are asked for
    // again, from the server).
    s.on("masked", (m) => {
      if (!m || typeof m.text !== "string") return;
      const live = now.current.live;
      if (live.some((x) => x.chat_id === m.chat_id && x.seq === m.seq)) {
        const next = live.map((x) => (x.chat_id === m.chat_id && x.seq === m.seq ? { ...x, text: m.text } : x));
        now.current.live = next;
        dispatch[roomState]({ live_rx_state_: next });
      }
      const p = previews.current[m.chat_id];
      if (p && p.seq === m.seq) p.preview = String(m.text).slice(0, PREVIEW_LENGTH);
      if (deskState && now.current.deskChats.some((c) => c.id === m.chat_id && Number(c.seq) === m.seq)) {
        const chats = now.current.deskChats.map((c) =>
          c.id === m.chat_id && Number(c.seq) === m.seq ? { ...c, preview: String(m.text).slice(0, PREVIEW_LENGTH) } : c,
        );
        now.current.deskChats = chats;
        dispatch[deskState]({ chats_rx_state_: chats });
      }
      if (maskedEvent && m.chat_id === now.current.chatId) addEvents([ReflexEvent(maskedEvent, {})]);
    });
    s.on("message", (m) => {
      const before = known();
      add([m]);
      // A gap (a message lost on the way): ask for everything after what this tab has.
      if (m.chat_id === now.current.chatId && m.seq > before + 1) join(before);
    });
    // Reflex's manager does not connect sockets on its own (autoConnect: false).
    s.connect();
    socket.current = s;
    // Sends go one after another, in the order typed. A message refused for coming too fast
    // (the server's per-second limit) waits and goes again with the same client id (stored
    // once), so a burst is slowed down, never lost or reordered, and nothing is put back in the
    // box over what the customer typed since.
    let queue = Promise.resolve(true);
    const sendNow = (id, clientId, text) =>
      new Promise((resolve) => {
        const attempt = (retries) => {
          const sock = socket.current;
          if (!sock || !sock.connected || joined.current !== id) {
            resolve(false);
            return;
          }
          sock.timeout(SEND_TIMEOUT_MS).emit("send", { chat_id: id, client_id: clientId, text }, (err, answer) => {
            if (!err && answer && answer.error === "error.too_fast" && retries > 0) {
              setTimeout(() => attempt(retries - 1), TOO_FAST_RETRY_MS);
              return;
            }
            if (err || !answer || !answer.ok) {
              resolve(false);
              return;
            }
            add([answer.message]);
            resolve(true);
          });
        };
        attempt(TOO_FAST_RETRIES);
      });
    window.ocWire = {
      // The chat this tab's wire has joined (0: none yet), and whether it is connected. Tests
      // wait on them.
      joined: () => joined.current,
      connected: () => Boolean(socket.current && socket.current.connected),
      send(id, clientId, text) {
        const result = queue.then(() => sendNow(id, clientId, text));
        queue = result.catch(() => false);
        return result;
      },
    };
    return () => {
      if (window.ocWire && socket.current === s) delete window.ocWire;
      closeWire(s);
      socket.current = null;
    };
  }, [ready]);

  // Another chat opened (or the same one after a reload of the room): join it.
  useEffect(() => {
    if (socket.current && chatId && joined.current !== chatId) join();
  }, [chatId]);

  useEffect(applyPreviews, [deskChats]);

  return null;
}
