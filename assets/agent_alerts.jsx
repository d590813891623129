// Agents keep other tools open all day: on /agent this makes a new chat, or a customer's message
// in a chat the agent is not looking at, noticeable from another tab. Renders nothing.
// - the page title shows how many chats wait for the agent: "(2) 상담원";
// - a short sound (Web Audio, no file), unless the agent turned it off (알림 설정);
// - a browser notification while the tab is hidden, once the agent allowed it; clicking it
//   focuses the tab and opens that chat.
// The chats come from AgentDesk.chats (their previews are kept up to date by chat_wire.jsx).
import { useContext, useEffect, useRef } from "react";
import { EventLoopContext, ReflexEvent } from "./reflex_bridge.js";

const waitingOf = (chats) => chats.filter((c) => !c.customer_ended && (!c.opened || c.awaiting_reply));

function beep() {
  window.ocAlerts.beeps += 1;
  try {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    const ctx = beep.ctx || (beep.ctx = new Ctx());
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.2, ctx.currentTime + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.25);
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.3);
  } catch (e) {
    // No audio here (autoplay policy before any click, no device): the title still counts.
  }
}

export function AgentAlerts({ chats, activeChatId, screenOpen, sound, desktop, title, newChatText, newMessageText, selectEvent }) {
  const [addEvents] = useContext(EventLoopContext);
  const seen = useRef(null); // chat id -> seq last seen
  const base = useRef(title);
  window.ocAlerts = window.ocAlerts || { beeps: 0, notified: [] };

  useEffect(() => {
    const list = chats || [];
    const n = waitingOf(list).length;
    document.title = n > 0 ? `(${n}) ${base.current}` : base.current;
    const before = seen.current;
    seen.current = Object.fromEntries(list.map((c) => [c.id, Number(c.seq) || 0]));
    if (before === null) return; // the first list is what was there already
    const looking = (id) => screenOpen && id === activeChatId && !document.hidden;
    const fresh = list.filter((c) => !(c.id in before) && !c.opened);
    const moved = list.filter(
      (c) => c.id in before && (Number(c.seq) || 0) > before[c.id] && c.awaiting_reply && !looking(c.id),
    );
    if (!fresh.length && !moved.length) return;
    if (sound) beep();
    if (desktop && document.hidden && "Notification" in window && Notification.permission === "granted") {
      for (const c of [...fresh, ...moved].slice(0, 3)) {
        const note = new Notification(fresh.includes(c) ? newChatText : newMessageText, {
          body: `${c.name}${c.preview ? ": " + c.preview : ""}`,
          tag: `oc-chat-${c.id}`,
        });
        window.ocAlerts.notified = [...window.ocAlerts.notified, c.id].slice(-50);
        note.onclick = () => {
          window.focus();
          addEvents([ReflexEvent(selectEvent, { chat_id: c.id })]);
          note.close();
        };
      }
    }
  }, [chats, activeChatId, screenOpen]);

  // Leaving the agent page: the title is its own again.
  useEffect(() => () => { document.title = base.current; }, []);

  useEffect(() => {
    // Browsers ask for the permission only from a click: the 알림 설정 switch carries
    // data-request-notifications, and its click asks (the server stores the choice).
    const ask = (e) => {
      const t = e.target && e.target.closest && e.target.closest("[data-request-notifications]");
      if (t && "Notification" in window && Notification.permission === "default") Notification.requestPermission();
    };
    document.addEventListener("click", ask, true);
    return () => document.removeEventListener("click", ask, true);
  }, []);

  return null;
}
