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
// A join's answer is a page (at most about 64 KB, realtime/wire.py): while it says there is more,
// the page joins again after the last seq it got, until caught up; one catch-up at a time (a gap
// seen meanwhile is asked for when it ends, if its pages did not hold it). 이전 메시지 보기 (a button
// marked data-oc-older, components/common.py message_log) asks ``older`` for a page before what
// the tab shows and keeps it in the client-only state OlderMessagesState: the server keeps no copy. A
// join or older refused as too fast is asked again after the delay the answer names.
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

export function ChatWire({ role, ready, chatId, lastSeq, live, older, olderChat, olderNext, olderState, roomState, deskState, deskChats, siteState, categoriesEvent, credential }) {
  const dispatch = useContext(DispatchContext);
  const [addEvents] = useContext(EventLoopContext);
  const now = useRef({});
  now.current = {
    chatId, lastSeq: lastSeq || 0, live: live || [], deskChats: deskChats || [], credential: credential || "",
    older: older || [], olderChat: olderChat || 0, olderNext: olderNext || 1,
  };
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

  // A catch-up: the messages after a seq, a page per join (at most about 64 KB, realtime/wire.py);
  // while an answer says `more`, the next join asks after the last seq it got. One at a time per
  // tab (`chain`: {id, sock, gap, timer}): a live message that shows a gap while one is under
  // way (what is missing may well be in its next pages) only notes the gap (`gap`: the newest
  // seq missing), and the chain goes on past its end if that did not cover it. A second chain
  // read the same pages twice and used up the socket's allowance of joins (wire.py Buckets).
  const chain = useRef(null);

  const stopCatchingUp = () => {
    if (chain.current) clearTimeout(chain.current.timer);
    chain.current = null;
  };

  // (Re)join the open chat (connected again, another chat opened): sends wait for its answer.
  const join = () => {
    joined.current = 0;
    stopCatchingUp();
    catchUp(known());
  };

  // A live message came after a gap (`upTo`: the newest seq missing): noted by the catch-up under
  // way, or one from `after`. The socket stays joined meanwhile (sends go on).
  const fillGap = (after, upTo) => {
    const run = chain.current;
    if (run && run.id === now.current.chatId && run.sock === socket.current) run.gap = Math.max(run.gap, upTo);
    else catchUp(after);
  };

  const catchUp = (after) => {
    const s = socket.current;
    const id = now.current.chatId;
    stopCatchingUp();
    if (!s || !s.connected || !id) return;
    const run = { id, sock: s, gap: 0, timer: 0 };
    chain.current = run;
    step(run, after);
  };

  const step = (run, after) => {
    run.timer = 0;
    if (chain.current !== run) return;
    if (!run.sock.connected || now.current.chatId !== run.id) {
      chain.current = null;
      return;
    }
    // Asked again later: one timer per chain at most, cleared when the chain stops.
    const again = (ms) => {
      run.timer = setTimeout(() => step(run, after), ms);
    };
    // The credential again: a customer's page connects before its first chat, when it has no
    // visitor key yet (the key is made when the chat starts).
    run.sock.timeout(SEND_TIMEOUT_MS).emit("join", { chat_id: run.id, after, credential: credentialNow() }, (err, answer) => {
      if (chain.current !== run) return;
      // No answer in time: ask again (a connection that went down ends the chain: "disconnect").
      if (err) return again(TOO_FAST_RETRY_MS);
      if (answer && answer.error === "error.too_fast") return again(Number(answer.retry_ms) || TOO_FAST_RETRY_MS);
      if (!answer || !answer.ok || answer.chat_id !== run.id || now.current.chatId !== run.id) {
        // Refused (e.g. the chat went to another agent): the socket is not in the chat any more.
        chain.current = null;
        if (joined.current === run.id) joined.current = 0;
        return;
      }
      joined.current = run.id;
      const got = answer.messages.map((m) => ({ ...m, chat_id: run.id }));
      add(got);
      const last = got.length ? got[got.length - 1].seq : after;
      if (answer.more && got.length) return step(run, last);
      // Caught up to `last`; a gap seen meanwhile beyond it (stored after this page was read) is
      // asked for once more from here.
      if (run.gap > last) {
        run.gap = 0;
        return step(run, last);
      }
      chain.current = null;
    });
  };

  // 이전 메시지 보기: "top" pages back from the oldest loaded message; "gap" fills what lies
  // between the loaded ones and the room's window (`before`: the window's first seq), from its
  // older end, or loads the first page when nothing is loaded yet.
  const loadingOlder = useRef(false);
  const loadOlder = (kind, before) => {
    const s = socket.current;
    const id = now.current.chatId;
    if (!s || !s.connected || !id || joined.current !== id || loadingOlder.current) return;
    // What this tab loaded of this chat (nothing yet when the loaded pages are another chat's).
    const mine = now.current.olderChat === id;
    const list = mine ? now.current.older.filter((m) => m.chat_id === id) : [];
    let ask;
    if (kind === "top" && list.length) ask = { before: list[0].seq };
    else if (kind === "gap" && before > 0) ask = list.length ? { before, after: now.current.olderNext - 1 } : { before };
    else return;
    loadingOlder.current = true;
    s.timeout(SEND_TIMEOUT_MS).emit("older", { chat_id: id, ...ask }, (err, answer) => {
      if (!err && answer && answer.error === "error.too_fast") {
        // Still loading until then: clicks meanwhile start no request (nor another timer).
        setTimeout(() => {
          loadingOlder.current = false;
          if (now.current.chatId === id) loadOlder(kind, before);
        }, Number(answer.retry_ms) || TOO_FAST_RETRY_MS);
        return;
      }
      loadingOlder.current = false;
      if (err || !answer || !answer.ok || answer.chat_id !== now.current.chatId) return;
      const got = answer.messages.map((m) => ({ ...m, chat_id: id }));
      const kept = now.current.olderChat === id ? now.current.older.filter((m) => m.chat_id === id) : [];
      const bySeq = new Map(kept.map((m) => [m.seq, m]));
      for (const m of got) bySeq.set(m.seq, m);
      const next = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
      const update = { older_rx_state_: next, older_chat_rx_state_: id };
      if (ask.after === undefined && kind === "top") update.older_more_rx_state_ = Boolean(answer.more);
      if (ask.after === undefined && kind === "gap") {
        update.older_more_rx_state_ = Boolean(answer.more);
        update.older_next_rx_state_ = before;
      }
      if (ask.after !== undefined) {
        update.older_next_rx_state_ = answer.more && got.length ? got[got.length - 1].seq + 1 : before;
      }
      now.current.older = next;
      now.current.olderChat = id;
      if (update.older_next_rx_state_) now.current.olderNext = update.older_next_rx_state_;
      dispatch[olderState](update);
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
      stopCatchingUp();
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
    // (the room's window is reloaded by the server; what arrived live and the older messages
    // loaded are this tab's alone).
    s.on("masked", (m) => {
      if (!m || typeof m.text !== "string") return;
      const live = now.current.live;
      if (live.some((x) => x.chat_id === m.chat_id && x.seq === m.seq)) {
        const next = live.map((x) => (x.chat_id === m.chat_id && x.seq === m.seq ? { ...x, text: m.text } : x));
        now.current.live = next;
        dispatch[roomState]({ live_rx_state_: next });
      }
      // The older messages this tab loaded are its own copy too.
      const olderNow = now.current.older;
      if (olderNow.some((x) => x.chat_id === m.chat_id && x.seq === m.seq)) {
        const next = olderNow.map((x) => (x.chat_id === m.chat_id && x.seq === m.seq ? { ...x, text: m.text } : x));
        now.current.older = next;
        dispatch[olderState]({ older_rx_state_: next });
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
    });
    s.on("message", (m) => {
      const before = known();
      add([m]);
      // A gap (a message lost on the way, or still to come in a catch-up's pages).
      if (m.chat_id === now.current.chatId && m.seq > before + 1) fillGap(before, m.seq - 1);
    });
    // A message of one of the agent's chats this socket has not joined (the server sends a tab
    // the text of a chat only once the agent opened it there: wire.py deliver): its preview, for
    // the chat list.
    s.on("preview", (p) => {
      if (!p || typeof p.preview !== "string" || typeof p.seq !== "number") return;
      const seen = previews.current[p.chat_id];
      if (!seen || seen.seq < p.seq) {
        previews.current[p.chat_id] = {
          seq: p.seq,
          preview: p.preview.slice(0, PREVIEW_LENGTH),
          awaiting_reply: p.author === "customer",
        };
      }
      applyPreviews();
    });
    // A message masked in such a chat: its preview, masked.
    s.on("masked_preview", (m) => {
      if (!m || typeof m.preview !== "string") return;
      const text = m.preview.slice(0, PREVIEW_LENGTH);
      const p = previews.current[m.chat_id];
      if (p && p.seq === m.seq) p.preview = text;
      if (deskState && now.current.deskChats.some((c) => c.id === m.chat_id && Number(c.seq) === m.seq)) {
        const chats = now.current.deskChats.map((c) => (c.id === m.chat_id && Number(c.seq) === m.seq ? { ...c, preview: text } : c));
        now.current.deskChats = chats;
        dispatch[deskState]({ chats_rx_state_: chats });
      }
    });
    // 이전 메시지 보기 (components/common.py message_log): rendered by Reflex, answered here.
    const onOlderClick = (e) => {
      const button = e.target && e.target.closest && e.target.closest("[data-oc-older]");
      if (button) loadOlder(button.getAttribute("data-oc-older"), Number(button.getAttribute("data-before")) || 0);
    };
    document.addEventListener("click", onOlderClick);
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
      catchingUp: () => Boolean(chain.current),
      connected: () => Boolean(socket.current && socket.current.connected),
      send(id, clientId, text) {
        const result = queue.then(() => sendNow(id, clientId, text));
        queue = result.catch(() => false);
        return result;
      },
    };
    return () => {
      document.removeEventListener("click", onOlderClick);
      stopCatchingUp();
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
