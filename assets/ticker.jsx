// Fires a Reflex event every `seconds` while the page is open and visible (통계's live figures:
// the server recomputes them on the tick, never on each message). Renders nothing.
import { useContext, useEffect } from "react";
import { EventLoopContext, ReflexEvent } from "./reflex_bridge.js";

export function Ticker({ event, seconds, enabled }) {
  const [addEvents] = useContext(EventLoopContext);
  useEffect(() => {
    if (!enabled || !event) return;
    const id = setInterval(() => {
      if (document.visibilityState === "visible") addEvents([ReflexEvent(event, {})]);
    }, Math.max(5, seconds || 10) * 1000);
    return () => clearInterval(id);
  }, [event, seconds, enabled]);
  return null;
}
