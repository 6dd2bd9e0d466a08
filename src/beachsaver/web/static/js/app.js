/* Worker app scripts: the online/offline state in the app bar. The draft outbox (drafts kept
 * on the device while offline, sent through /api/reports/sync when back online) builds on it. */
(function () {
  "use strict";
  const el = document.querySelector("[data-sync-state]");
  const en = document.documentElement.lang === "en";
  function pendingCount() {
    try { return JSON.parse(localStorage.getItem("bs.outbox") || "[]").length; } catch (e) { return 0; }
  }
  function render() {
    if (!el) return;
    const pending = pendingCount();
    if (!navigator.onLine) {
      el.className = "sync-state offline";
      el.textContent = (en ? "Offline" : "오프라인") + (pending ? " · " + pending + (en ? " waiting" : "건 대기") : "");
    } else {
      el.className = "sync-state";
      el.textContent = pending ? pending + (en ? " waiting to send" : "건 전송 대기") : (en ? "All sent" : "모두 전송됨");
    }
  }
  window.addEventListener("online", render);
  window.addEventListener("offline", render);
  document.addEventListener("bs:outbox-changed", render);
  render();
  // Pages without the outbox script load it when something waits, so that it is sent from any page.
  function loadOutbox() {
    if (window.BSOutbox || document.querySelector("script[data-outbox]") || !pendingCount() || !navigator.onLine) return;
    const script = document.createElement("script");
    script.src = "/web/static/js/outbox.js";
    script.dataset.outbox = "";
    document.head.appendChild(script);
  }
  window.addEventListener("online", loadOutbox);
  window.addEventListener("load", loadOutbox);
  window.BSApp = { renderSyncState: render };
})();
