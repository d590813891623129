// Composer behaviour shared by the customer and agent chat windows.
// - Enter sends, Shift+Enter adds a line. While a Hangul (or any IME) composition is active,
//   Enter only ends the composition: it never sends, so nothing is sent twice and the last
//   syllable is not lost (Reflex's own enter-to-submit does not check isComposing).
// - Every submit carries a fresh client message id so that a resend is stored only once.
// - A page with unsaved agent edits asks before it is left.
// Storage a browser refuses to this page (the chat in another site's frame, with third-party
// storage blocked, as Safari, Firefox and Chrome can be set to): the page keeps working with
// storage in memory, before anything else reads it. The site that embeds the chat keeps the
// customer's key instead (online_contact/embed/embed.js, assets/embed_bridge.jsx).
(function () {
  ["localStorage", "sessionStorage"].forEach(function (name) {
    try {
      window[name].getItem("oc");
      return;
    } catch (e) { /* refused: kept in memory below */ }
    var data = new Map();
    var memory = {
      getItem: function (k) { return data.has(String(k)) ? data.get(String(k)) : null; },
      setItem: function (k, v) { data.set(String(k), String(v)); },
      removeItem: function (k) { data.delete(String(k)); },
      clear: function () { data.clear(); },
      key: function (i) { var keys = Array.from(data.keys()); return i < keys.length ? keys[i] : null; },
      get length() { return data.size; },
    };
    try {
      Object.defineProperty(window, name, { value: memory, configurable: true });
    } catch (e) { /* nothing more to do */ }
  });
})();

(function () {
  if (window.__ocComposer) return;
  window.__ocComposer = true;
  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (!t || !t.hasAttribute || !t.hasAttribute("data-enter-send")) return;
    if (e.key !== "Enter" || e.shiftKey || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.isComposing || e.keyCode === 229) return;
    e.preventDefault();
    if (t.form) t.form.requestSubmit();
  }, true);
  // Sent but not yet seen in the chat log: kept in sessionStorage until the message shows up
  // (its bubble carries data-client-id), and sent again with the same id after a reload, so a
  // message queued while offline survives the page going away. The server stores an id once.
  var PENDING = "oc-pending";
  var PENDING_MAX_AGE = 10 * 60 * 1000;  // a refused or stale message is not retried forever
  function pending() {
    var list;
    try { list = JSON.parse(sessionStorage.getItem(PENDING) || "[]"); } catch (err) { list = []; }
    var now = Date.now();
    return list.filter(function (p) { return now - (p.t || 0) < PENDING_MAX_AGE; });
  }
  function savePending(list) { sessionStorage.setItem(PENDING, JSON.stringify(list)); }
  function confirmShown() {
    var list = pending();
    if (!list.length) return;
    var left = list.filter(function (p) {
      return !document.querySelector('[data-client-id="' + p.id + '"]');
    });
    if (left.length !== list.length) savePending(left);
  }
  function resendPending() {
    if (document.getElementById("reconnecting")) return;  // not connected yet
    var list = pending();
    list.forEach(function (p) {
      if (document.querySelector('[data-client-id="' + p.id + '"]')) return;
      var box = document.querySelector('textarea[data-draft-key="' + p.key + '"]');
      if (!box || box.disabled || !box.form) return;
      var form = box.form;
      form.dataset.resendId = p.id;
      var keep = box.value;
      box.value = p.text;
      form.requestSubmit();
      setTimeout(function () { box.value = keep; }, 0);
    });
  }
  window.addEventListener("load", function () { setTimeout(resendPending, 3000); });

  // The message path (assets/chat_wire.jsx): a composer whose draft key names a chat
  // ("customer-12", "agent-12") sends over the wire when it can; otherwise, or when the wire
  // does not take the message, through Reflex's handler with the same id (stored once).
  function wireChatOf(box) {
    var m = /^(customer|agent)-(\d+)$/.exec(box.getAttribute("data-draft-key") || "");
    return m ? parseInt(m[2], 10) : 0;
  }
  function submitViaReflex(form, box, text, clientId) {
    form.dataset.viaReflex = "1";
    form.dataset.resendId = clientId;
    var keep = box.value;
    box.value = text;
    form.requestSubmit();
    setTimeout(function () { if (box.value === text) box.value = keep; }, 0);
  }

  // Capture phase: runs before React's onSubmit reads the form, so the id goes along.
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (!f || !f.querySelector) return;
    var id = f.querySelector("input[name=client_id]");
    var resend = f.dataset.resendId;
    var viaReflex = f.dataset.viaReflex;
    delete f.dataset.resendId;
    delete f.dataset.viaReflex;
    if (id) id.value = resend || newId();
    // A valid message leaves the box at once (it is queued while reconnecting, so pressing
    // Enter again would send it twice). Invalid text stays for the server's message; a text
    // the server refuses is put back by the server.
    var box = f.querySelector("textarea[data-enter-send]");
    if (box) {
      var text = box.value.trim();
      var max = parseInt(box.getAttribute("data-max-length") || "2000", 10);
      if (text && text.length <= max) {
        // After React's onSubmit has read the form; and only the text that was sent: a busy
        // page may run this timer after the next keystrokes (browsers run input before timers).
        var sent = box.value;
        if (!resend) setTimeout(function () { if (box.value === sent) box.value = ""; }, 0);
        if (box.hasAttribute("data-draft-key")) {
          sessionStorage.removeItem(draftName(box));
          if (id && !resend) {
            var list = pending();
            list.push({ id: id.value, text: box.value, key: box.getAttribute("data-draft-key"), t: Date.now() });
            savePending(list.slice(-50));
          }
        }
        var chat = wireChatOf(box);
        if (chat && id && !viaReflex && window.ocWire) {
          // React's onSubmit (the Reflex handler) does not run; the wire answers instead.
          e.preventDefault();
          e.stopPropagation();
          var clientId = id.value;
          window.ocWire.send(chat, clientId, sent).then(function (ok) {
            if (!ok) submitViaReflex(f, box, sent, clientId);
          });
        }
      }
    }
  }, true);
  // Drafts: what is typed in a composer is kept per chat (data-draft-key) in sessionStorage,
  // so switching chats or reloading neither loses it nor sends it to the wrong customer.
  function draftName(box) { return "oc-draft-" + box.getAttribute("data-draft-key"); }
  document.addEventListener("input", function (e) {
    var t = e.target;
    if (t && t.hasAttribute && t.hasAttribute("data-draft-key")) {
      if (t.value) sessionStorage.setItem(draftName(t), t.value);
      else sessionStorage.removeItem(draftName(t));
    }
  }, true);
  function restore(box) {
    box.value = sessionStorage.getItem(draftName(box)) || "";
  }
  new MutationObserver(function (mutations) {
    confirmShown();
    mutations.forEach(function (m) {
      if (m.type === "attributes") {
        restore(m.target);
      } else {
        m.addedNodes.forEach(function (n) {
          if (!n.querySelectorAll) return;
          if (n.hasAttribute && n.hasAttribute("data-draft-key") && !n.value) restore(n);
          n.querySelectorAll("[data-draft-key]").forEach(function (box) { if (!box.value) restore(box); });
        });
      }
    });
  }).observe(document.documentElement, { attributes: true, attributeFilter: ["data-draft-key"], childList: true, subtree: true });

  window.addEventListener("beforeunload", function (e) {
    if (document.querySelector("[data-unsaved=true]")) {
      e.preventDefault();
      e.returnValue = "";
    }
  });
  // In-app links (the settings' navigation, the agent's bar) leave the page without unloading
  // it: ask first there too. The unsaved marker carries the question in the page's language.
  document.addEventListener("click", function (e) {
    var link = e.target && e.target.closest && e.target.closest("a[href]");
    var unsaved = document.querySelector("[data-unsaved=true]");
    if (!link || !unsaved || link.target === "_blank") return;
    if (!window.confirm(unsaved.getAttribute("data-leave-message") || "저장하지 않은 변경이 있습니다. 이 화면을 떠날까요?")) {
      e.preventDefault();
      e.stopPropagation();
    }
  }, true);
  // A "load older" control that scrolls into view loads by itself (채팅 기록's transcript): the
  // reader scrolls up and the older messages come. It fires each time it comes into view (not
  // again while it stays there: a page of messages at a time, never the whole history at once).
  if (window.IntersectionObserver) {
    var onView = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) entry.target.click();
      });
    });
    var watch = function (root) {
      if (!root.querySelectorAll) return;
      if (root.matches && root.matches("[data-load-on-view]")) onView.observe(root);
      root.querySelectorAll("[data-load-on-view]").forEach(function (el) { onView.observe(el); });
    };
    new MutationObserver(function (mutations) {
      mutations.forEach(function (m) { m.addedNodes.forEach(watch); });
    }).observe(document.documentElement, { childList: true, subtree: true });
  }
  // A download that needs the login (데이터 추출's file): fetched with the login token in the
  // Authorization header, never in the URL, then saved under the server's file name.
  document.addEventListener("click", function (e) {
    var link = e.target && e.target.closest && e.target.closest("a[data-authed-download]");
    if (!link) return;
    e.preventDefault();
    // The login token goes to this app only.
    if (new URL(link.getAttribute("href"), location.href).origin !== location.origin) return;
    var token = localStorage.getItem("oc_auth") || "";
    fetch(link.getAttribute("href"), { headers: { Authorization: "Bearer " + token }, cache: "no-store" })
      .then(function (res) {
        if (!res.ok) throw new Error(String(res.status));
        var name = /filename\*=UTF-8''([^;]+)/.exec(res.headers.get("Content-Disposition") || "");
        return res.blob().then(function (blob) { return { blob: blob, name: name ? decodeURIComponent(name[1]) : "export.xlsx" }; });
      })
      .then(function (file) {
        var url = URL.createObjectURL(file.blob);
        var a = document.createElement("a");
        a.href = url;
        a.download = file.name;
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
      })
      .catch(function () {
        link.setAttribute("data-download-failed", "true");
        var msg = link.getAttribute("data-failed-message");
        if (msg) window.alert(msg);
      });
  });
})();
