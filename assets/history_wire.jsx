// 채팅 기록's side of the message path (online_contact/realtime/wire.py). Renders nothing.
//
// While a chat is open in the side panel, the tab watches it (``watch {chat_id}``; 0 when the
// panel closes), so that a 마스킹 or a 고객 정보 삭제 done elsewhere — another admin's panel, the
// agent's chat screen — reaches what this panel shows without a reload: the server sends
// ``changed {chat_id}`` (never a text) and the panel reads the chat again through its own state.
import { useContext, useEffect, useRef } from "react";
import { EventLoopContext, ReflexEvent } from "./reflex_bridge.js";
import { closeWire, openWire } from "./wire_socket.js";

export function HistoryWire({ ready, chatId, changedEvent }) {
  const [addEvents] = useContext(EventLoopContext);
  const socket = useRef(null);
  const sent = useRef(-1); // the chat last asked for on this connection (-1: none yet)
  const watching = useRef(0); // the chat the server confirmed
  const now = useRef(0);
  now.current = chatId || 0;

  // The server handles a socket's events in order: the last one sent is the one that holds,
  // whatever answers come back meanwhile (A, then B, then A again before B was answered).
  const watch = () => {
    const s = socket.current;
    if (!s || !s.connected) return;
    const id = now.current;
    sent.current = id;
    s.emit("watch", { chat_id: id }, (answer) => {
      if (answer && answer.ok && answer.chat_id === now.current) watching.current = answer.chat_id;
    });
  };

  useEffect(() => {
    if (!ready || socket.current) return;
    const s = openWire("agent", () => localStorage.getItem("oc_auth") || "", (sock) => socket.current === sock, { history: true });
    // On every (re)connect the room is asked for again: a new socket is in none.
    s.on("connect", () => {
      sent.current = -1;
      watching.current = 0;
      watch();
    });
    s.on("disconnect", () => {
      sent.current = -1;
      watching.current = 0;
    });
    s.on("changed", (m) => {
      if (m && m.chat_id && m.chat_id === now.current) addEvents([ReflexEvent(changedEvent, { chat_id: m.chat_id })]);
    });
    s.connect();
    socket.current = s;
    window.ocHistoryWire = {
      // The chat this tab watches (0: none), and whether it is connected. Tests wait on them.
      watching: () => watching.current,
      connected: () => Boolean(socket.current && socket.current.connected),
    };
    return () => {
      if (window.ocHistoryWire) delete window.ocHistoryWire;
      closeWire(s);
      socket.current = null;
    };
  }, [ready]);

  useEffect(() => {
    if (socket.current && sent.current !== now.current) watch();
  }, [chatId]);

  return null;
}
