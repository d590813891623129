// 마스킹 beside a message of a transcript: hands the server the part of this message the person
// selected (character offsets in the message's text), or nothing for the whole message. The
// selection is read when the button is pressed, before the press can move it.
import { useRef } from "react";

// Offsets in characters (code points), as the server counts them: not UTF-16 units.
const length = (text) => Array.from(text).length;

export function MaskAction({ seq, label, onPick, children }) {
  const picked = useRef([-1, -1]);
  const read = (event) => {
    picked.current = [-1, -1];
    const bubble = event.currentTarget.closest(".oc-message")?.querySelector(".oc-bubble");
    const selection = window.getSelection();
    if (!bubble || !selection || selection.rangeCount === 0 || selection.isCollapsed) return;
    const range = selection.getRangeAt(0);
    if (!bubble.contains(range.startContainer) || !bubble.contains(range.endContainer)) return;
    const before = document.createRange();
    before.selectNodeContents(bubble);
    before.setEnd(range.startContainer, range.startOffset);
    const start = length(before.toString());
    const end = start + length(range.toString());
    if (end > start) picked.current = [start, end];
  };
  return (
    <button
      type="button"
      className="oc-mask-action"
      aria-label={label}
      title={label}
      onPointerDown={read}
      onKeyDown={(event) => {
        if (event.key === "Enter" || event.key === " ") read(event);
      }}
      onClick={() => onPick && onPick(seq, picked.current[0], picked.current[1])}
    >
      {children}
    </button>
  );
}
