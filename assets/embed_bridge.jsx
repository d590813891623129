// The /widget's side of the embed (the site's side is online_contact/embed/embed.js). Renders
// nothing. Inside the site's launcher only (/widget?embed=1&page=<the site's URL>):
// - accepts messages only from the page that embeds this frame (its window and its origin, the
//   origin of ?page=), versioned {oc: 1, type}, and ignores anything else or malformed;
// - once the chat's state has loaded, says "ready"; the site answers "init" with the visitor key
//   it keeps, the name / email (setUser) and the language, handed to CustomerChatState.host_page;
// - hands every new visitor key to the site (it keeps it: a third-party frame's own storage is
//   partitioned or blocked by browsers), says "message" for each agent message that arrives
//   (the site counts them while the chat is closed) and "close" for the frame's minimize button.
import { useContext, useEffect, useRef } from "react";
import { EventLoopContext, ReflexEvent } from "./reflex_bridge.js";

const V = 1;
const str = (v, n) => (typeof v === "string" ? v.slice(0, n) : "");

export function EmbedBridge({ enabled, ready, hostEvent, visitorKey, live, lastSeq }) {
  const [addEvents] = useContext(EventLoopContext);
  const site = useRef("");
  const newest = useRef(null);

  const tell = (message) => {
    if (site.current) window.parent.postMessage({ ...message, oc: V }, site.current);
  };

  useEffect(() => {
    if (!enabled || !ready || window.parent === window) return;
    if (!site.current) {
      try {
        const origin = new URL(new URLSearchParams(window.location.search).get("page") || "").origin;
        if (/^https?:\/\//.test(origin)) site.current = origin;
      } catch (e) { /* no page: not a launcher's frame */ }
    }
    const origin = site.current;
    if (!origin) return;
    const onMessage = (e) => {
      if (e.source !== window.parent || e.origin !== origin) return;
      const m = e.data;
      if (!m || typeof m !== "object" || m.oc !== V || !["init", "user", "lang"].includes(m.type)) return;
      const user = m.user && typeof m.user === "object" ? m.user : {};
      addEvents([ReflexEvent(hostEvent, {
        kind: m.type, visitor: str(m.visitor, 64), name: str(user.name, 100), email: str(user.email, 254), lang: str(m.lang, 8),
      })]);
    };
    const onClick = (e) => {
      if (e.target instanceof Element && e.target.closest("[data-embed-close]")) tell({ type: "close" });
    };
    window.addEventListener("message", onMessage);
    document.addEventListener("click", onClick);
    // Each time the chat's state is (again) loaded: the site answers with "init".
    tell({ type: "ready" });
    return () => {
      window.removeEventListener("message", onMessage);
      document.removeEventListener("click", onClick);
    };
  }, [enabled, ready]);

  useEffect(() => {
    if (visitorKey) tell({ type: "visitor", key: visitorKey });
  }, [visitorKey, ready]);

  // Agent messages newer than what this frame had when it first showed the chat.
  useEffect(() => {
    let seq = lastSeq || 0;
    for (const m of live || []) if (m.seq > seq) seq = m.seq;
    if (newest.current === null) {
      newest.current = seq;
      return;
    }
    const arrived = (live || []).filter((m) => m.author === "agent" && m.seq > newest.current).length;
    if (arrived) tell({ type: "message", count: arrived });
    if (seq > newest.current) newest.current = seq;
  }, [live, lastSeq]);

  return null;
}
