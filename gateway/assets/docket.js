// Docket's own script for the portal and the desk: progressive enhancement only. Every page works
// without it; where it runs it shows times in the reader's zone, keeps desk pages current through
// server-sent events, and adds keyboard shortcuts. No inline script, nothing from elsewhere.
"use strict";

(function () {
  const lang = document.documentElement.lang || "de";

  // Times: the server writes UTC; show them in the reader's own zone and language.
  function localTimes(root) {
    const format = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      const at = new Date(el.getAttribute("datetime"));
      if (!isNaN(at.getTime())) {
        el.textContent = format.format(at);
      }
    });
  }

  // A pending date typed in local time: the form tells the server the zone's offset then.
  function zoneOffsets() {
    document.querySelectorAll("form").forEach(function (form) {
      const offset = form.querySelector("[data-tz-offset]");
      if (!offset) return;
      form.addEventListener("submit", function () {
        const local = form.querySelector("input[type=datetime-local]");
        const at = local && local.value ? new Date(local.value) : new Date();
        offset.value = String(at.getTimezoneOffset());
      });
    });
  }

  // Live updates: refetch what the page shows when a ticket it shows (or its queue) changes.
  function live() {
    const body = document.body;
    const kind = body.dataset.live;
    if (!kind || !window.EventSource) return;
    let pending = null;
    let failed = false;

    function relevant(notice) {
      if (kind === "overview") return true;
      if (kind === "ticket") return notice.ticket_id === body.dataset.liveTicket;
      const queue = body.dataset.liveQueue;
      if (queue && (notice.queue_ids || []).indexOf(queue) >= 0) return true;
      if (document.querySelector('tr[data-ticket="' + CSS.escape(notice.ticket_id) + '"]')) return true;
      return !queue && notice.kind === "ticket.created";
    }

    function refresh() {
      pending = null;
      const current = document.getElementById("live");
      if (!current) return;
      const checked = Array.from(current.querySelectorAll("input[name=ticket]:checked")).map(function (c) { return c.value; });
      const before = new Set(Array.from(current.querySelectorAll("tr[data-ticket]")).map(function (r) { return r.dataset.ticket; }));
      fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          const fetched = new DOMParser().parseFromString(html, "text/html");
          const next = fetched.getElementById("live");
          if (!next) return;
          // Forms outside the live part change the ticket as the agent now sees it.
          fetched.querySelectorAll("input[name=version]").forEach(function (v) {
            const form = v.form && v.form.id && document.getElementById(v.form.id);
            const mine = form && form.querySelector("input[name=version]");
            if (mine) mine.value = v.value;
          });
          const focused = document.activeElement && document.activeElement.id;
          current.replaceWith(next);
          localTimes(next);
          next.querySelectorAll("input[name=ticket]").forEach(function (c) {
            if (checked.indexOf(c.value) >= 0) c.checked = true;
          });
          next.querySelectorAll("tr[data-ticket]").forEach(function (r) {
            if (before.size && !before.has(r.dataset.ticket)) r.classList.add("fresh");
          });
          if (focused) {
            const again = document.getElementById(focused);
            if (again) again.focus();
          }
          const status = document.getElementById("live-status");
          if (status) status.textContent = status.dataset.text || "";
        })
        .catch(function () { /* the next notice tries again */ });
    }

    function soon() {
      if (!pending) pending = window.setTimeout(refresh, 300);
    }

    const source = new EventSource("/desk/events");
    source.addEventListener("change", function (e) {
      try {
        if (relevant(JSON.parse(e.data))) soon();
      } catch (_) { soon(); }
    });
    source.addEventListener("stale", soon);
    source.addEventListener("error", function () { failed = true; });
    // Back after a lost connection: what was missed is fetched afresh.
    source.addEventListener("open", function () {
      if (failed) { failed = false; soon(); }
      body.dataset.liveConnected = "true";
    });
  }

  // Keyboard shortcuts of the desk; never while typing in a field.
  function shortcuts() {
    if (!document.body.classList.contains("desk")) return;
    let prefix = "";
    let row = -1;

    function rows() { return Array.from(document.querySelectorAll("tr[data-ticket]")); }

    function mark(i) {
      const all = rows();
      if (!all.length) return;
      row = Math.max(0, Math.min(all.length - 1, i));
      all.forEach(function (r, n) { r.classList.toggle("current", n === row); });
      const link = all[row].querySelector("a");
      if (link) link.focus();
    }

    function compose(kind) {
      const radio = document.getElementById("kind-" + kind);
      const text = document.getElementById("compose-body");
      if (!radio || !text) return false;
      radio.checked = true;
      text.focus();
      return true;
    }

    document.addEventListener("keydown", function (e) {
      const target = e.target;
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
      const key = prefix ? prefix + " " + e.key : e.key;
      prefix = "";
      if (key === "g") { prefix = "g"; e.preventDefault(); return; }
      let handled = true;
      const bound = document.querySelector('[data-key="' + key + '"]');
      if (bound) {
        bound.click();
      } else if (key === "j") {
        mark(row + 1);
      } else if (key === "k") {
        mark(row - 1);
      } else if (key === "a") {
        handled = compose("answer");
      } else if (key === "i") {
        handled = compose("note");
      } else if (key === "?") {
        const help = document.getElementById("shortcuts-help");
        if (help && help.showModal) { help.open ? help.close() : help.showModal(); }
      } else {
        handled = false;
      }
      if (handled) e.preventDefault();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    zoneOffsets();
    live();
    shortcuts();
  });
})();
