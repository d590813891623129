/* Online Contact Chat: the loader a site pastes (설정 › 채팅화면 삽입 코드; README "Embedding").
   No framework, no fonts, one request. Until the customer asks for the chat it only draws the
   launcher, inside a shadow root (the site's CSS and ours never meet); the chat (/widget) is
   loaded in an iframe on the first open. Nothing is written to the site's storage before that.
   Messages with the iframe: {oc: 1, type, ...} through postMessage, each side checking the
   other's origin. C (below) is the app's origin and the settings, written in by the server. */
(function (w, d, C) {
  "use strict";
  if (w.OnlineContact) return; // pasted twice
  var V = 1, APP = C.app, KEY = "oc_visitor", OPEN = "oc_open";
  var me = d.currentScript;
  var data = function (n) { return (me && me.getAttribute("data-" + n)) || ""; };
  var langOk = function (l) { return l === "ko" || l === "en"; };
  var lang = langOk(data("lang")) ? data("lang") : "ko";
  var color = /^#[0-9a-f]{3,8}$/i.test(data("color")) ? data("color") : "#3e63dd";
  var side = data("position") === "left" ? "left" : "right";
  var on = {}, user = null, frame = null, ready = false, opened = false, unread = 0, hinted = false, early = null;
  var host, root, btn, badge, box;

  function emit(name, value) {
    (on[name] || []).slice().forEach(function (f) { try { f(value); } catch (e) { /* the site's */ } });
  }
  function store(kind, k, v) { // storage can be refused (privacy settings): the chat still works
    try {
      var s = w[kind];
      if (v === undefined) return s.getItem(k);
      if (v === null) s.removeItem(k); else s.setItem(k, v);
    } catch (e) { /* nothing kept */ }
    return null;
  }
  function post(m) {
    if (!frame || !ready) return;
    m.oc = V;
    frame.contentWindow.postMessage(m, APP);
  }
  function text(v, n) { return typeof v === "string" ? v.slice(0, n) : ""; }

  w.OnlineContact = {
    version: V,
    open: function () { if (btn) show(true); else early = true; },
    close: function () { if (btn) show(false); else early = false; },
    setUser: function (u) {
      u = u || {};
      user = { name: text(u.name, 100), email: text(u.email, 200) };
      post({ type: "user", user: user });
    },
    setLanguage: function (l) {
      if (!langOk(l)) return;
      lang = l;
      if (btn) btn.setAttribute("aria-label", label());
      post({ type: "lang", lang: l });
    },
    on: function (name, f) { if (typeof f === "function") (on[name] = on[name] || []).push(f); },
    off: function (name, f) { on[name] = (on[name] || []).filter(function (g) { return g !== f; }); }
  };
  // A site not on the list, chat off, or hidden while nobody is Online: nothing at all (but a
  // chat the customer has open on this site goes on on its next page).
  if (C.origins.length && C.origins.indexOf(location.origin) < 0) return;
  if (!C.enabled && store("sessionStorage", OPEN) !== "1") return;

  function label() { return lang === "en" ? "Chat" : "채팅"; }
  function paint() {
    badge.textContent = !unread ? "" : unread > 99 ? "99+" : String(unread);
    badge.hidden = !unread;
  }
  function hint() { // warm the connection when the customer is about to click
    if (hinted) return;
    hinted = true;
    var l = d.createElement("link");
    l.rel = "preconnect";
    l.href = APP;
    d.head.appendChild(l);
  }
  function makeFrame() {
    frame = d.createElement("iframe");
    frame.title = label();
    // The page as the chat's 채널: origin and path only (a query or #fragment may hold the
    // visitor's email or a token, which the agent must never see; the server drops them too).
    var page = (location.origin + location.pathname).slice(0, 2000);
    frame.src = APP + "/widget?embed=1&lang=" + lang + "&page=" + encodeURIComponent(page);
    box.appendChild(frame);
  }
  function show(open) {
    if (open === opened) return;
    if (open && !frame) makeFrame();
    opened = open;
    box.hidden = !open;
    btn.setAttribute("aria-expanded", String(open));
    if (open) {
      unread = 0;
      paint();
      store("sessionStorage", OPEN, "1"); // open again on the site's next page
      post({ type: "show" });
    } else {
      store("sessionStorage", OPEN, null);
    }
    emit(open ? "open" : "close");
  }

  w.addEventListener("message", function (e) {
    if (!frame || e.source !== frame.contentWindow || e.origin !== APP) return;
    var m = e.data;
    if (!m || typeof m !== "object" || m.oc !== V || typeof m.type !== "string") return;
    if (m.type === "ready") {
      ready = true;
      post({ type: "init", visitor: store("localStorage", KEY) || "", user: user, lang: lang });
      if (opened) post({ type: "show" });
    } else if (m.type === "visitor" && /^[0-9a-f]{32}$/.test(m.key)) {
      store("localStorage", KEY, m.key); // the customer's chat survives reloads of this site
    } else if (m.type === "message" && !opened) {
      unread += Math.min(50, Math.max(1, m.count | 0));
      paint();
      emit("unread", unread);
    } else if (m.type === "close") {
      show(false);
    }
  });

  function start() {
    host = d.createElement("online-contact"); // not a div: the site's own rules for div never reach it
    root = host.attachShadow({ mode: "open" });
    var pos = side + ":20px;";
    root.innerHTML =
      "<style>:host{all:initial}" +
      "button{position:fixed;bottom:20px;" + pos + "width:56px;height:56px;border:0;border-radius:50%;" +
      "background:" + color + ";color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483000;" +
      "display:flex;align-items:center;justify-content:center;padding:0}" +
      "button:focus-visible{outline:3px solid #000;outline-offset:2px}" +
      "span{position:absolute;top:-2px;right:-2px;min-width:20px;height:20px;padding:0 5px;box-sizing:border-box;" +
      "border-radius:10px;background:#e5484d;color:#fff;font:600 12px/20px sans-serif;text-align:center}" +
      "div{position:fixed;bottom:88px;" + pos + "width:380px;height:min(620px,calc(100vh - 108px));" +
      "z-index:2147483000;border-radius:12px;overflow:hidden;box-shadow:0 8px 28px rgba(0,0,0,.28);background:#fff}" +
      "[hidden]{display:none!important}iframe{border:0;width:100%;height:100%}" +
      "@media (max-width:480px){div{inset:0;width:100%;height:100%;border-radius:0}" +
      "button[aria-expanded=true]{display:none}}</style>" +
      "<div hidden></div><button type=\"button\" aria-expanded=\"false\">" +
      "<svg width=\"28\" height=\"28\" viewBox=\"0 0 24 24\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"2\" " +
      "stroke-linecap=\"round\" stroke-linejoin=\"round\" aria-hidden=\"true\"><path d=\"M7.9 20A9 9 0 1 0 4 16.1L2 22Z\"/></svg>" +
      "<span hidden></span></button>";
    box = root.querySelector("div");
    btn = root.querySelector("button");
    badge = root.querySelector("span");
    btn.setAttribute("aria-label", label());
    btn.addEventListener("click", function () { show(!opened); });
    btn.addEventListener("pointerenter", hint);
    btn.addEventListener("focus", hint);
    d.body.appendChild(host);
    if (early !== null ? early : store("sessionStorage", OPEN) === "1") show(true);
  }
  if (d.body) start(); else d.addEventListener("DOMContentLoaded", start);
})(window, document, __OC_CONFIG__);
