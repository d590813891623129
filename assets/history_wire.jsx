// 채팅 기록's side of the message path (online_contact/realtime/wire.py). Renders nothing.
//
// While a chat is open in the side panel, the tab watches it (``watch {chat_id}``; 0 when the
// panel closes), so that a 마스킹 or a 고객 정보 삭제 done elsewhere — another admin's panel, the
// agent's chat screen — reaches what this panel shows without a reload: the server sends
// ``changed {chat_id}`` (never a text) and the panel reads the chat again through its own state.
// The namespace rides on Reflex's own socket.io connection, as assets/chat_wire.jsx does.
import { useContext, useEffect, useRef } from "react";
import { io } from "socket.io-client";
import { EventLoopContext, ReflexEvent, env, getBackendURL } from "./reflex_bridge.js";

export function HistoryWire({ ready, chatId, changedEvent }) {
  const [addEvents] = useContext(EventLoopContext);
  const socket = useRef(null);
  const watching = useRef(0);
  const now = useRef(0);
  now.current = chatId || 0;

  const watch = () => {
    const s = socket.current;
    if (!s || !s.connected) return;
    const id = now.current;
    s.emit("watch", { chat_id: id }, (answer) => {
      if (answer && answer.ok && answer.chat_id === now.current) watching.current = answer.chat_id;
    });
  };

  useEffect(() => {
    if (!ready || socket.current) return;
    const endpoint = getBackendURL(env.EVENT);
    const s = io(new URL("/_wire", endpoint).href, {
      path: endpoint.pathname,
      transports: [env.TRANSPORT],
      auth: (cb) => cb({ role: "agent", credential: localStorage.getItem("oc_auth") || "" }),
    });
    // On every (re)connect the room is asked for again: a new socket is in none.
    s.on("connect", () => {
      watching.current = 0;
      watch();
    });
    s.on("disconnect", () => {
      watching.current = 0;
    });
    s.on("connect_error", () => {
      setTimeout(() => {
        if (socket.current === s && !s.connected) s.connect();
      }, 2000);
    });
    s.on("changed", (m) => {
      if (m && m.chat_id && m.chat_id === now.current) addEvents([ReflexEvent(changedEvent, { chat_id: m.chat_id })]);
    });
    s.connect();
    socket.current = s;
    window.ocHistoryWire = {
      // The chat this tab watches (0: none). Tests wait on it.
      watching: () => watching.current,
    };
    return () => {
      if (window.ocHistoryWire) delete window.ocHistoryWire;
      s.disconnect();
      socket.current = null;
    };
  }, [ready]);

  useEffect(() => {
    if (socket.current && watching.current !== now.current) watch();
  }, [chatId]);

  return null;
}
