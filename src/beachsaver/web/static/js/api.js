/* Beach-Saver browser helper shared by the console and the worker app.
 * - BS.api(method, path, body): calls the JSON API with the session cookie and the CSRF header,
 *   rotates the session once on a 401, and resolves to the envelope (throws BS.ApiError).
 * - <form data-api="/api/..." data-method="PATCH" data-success="reload|redirect:/url|toast">:
 *   sends the form as JSON (data-type="int|number|bool|json|list" on a control converts its value),
 *   shows field errors next to the controls they name (added to their aria-describedby), and a toast.
 * - <select data-autosubmit> submits its (GET) form when changed: the pager's page size.
 * - BS.toast(message, kind): queued toasts, 2–3 s each, closable.
 */
(function () {
  "use strict";
  const lang = document.documentElement.lang || "ko";
  const csrf = () => (document.cookie.match(/(?:^|; )bs_csrf=([^;]+)/) || [])[1] ||
    (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  class ApiError extends Error {
    constructor(status, envelope) {
      const error = (envelope && envelope.error) || {};
      super(error.message || ("HTTP " + status));
      this.status = status;
      this.code = error.code || "INTERNAL_ERROR";
      this.details = error.details || [];
      this.traceId = error.traceId || error.trace_id || null;
    }
  }

  async function rawFetch(method, path, body, extraHeaders) {
    const headers = Object.assign({ "Accept-Language": lang, "X-CSRF-Token": csrf() }, extraHeaders || {});
    let payload = body;
    if (body !== undefined && body !== null && !(body instanceof FormData) && !(body instanceof Blob)) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    return fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  }

  async function api(method, path, body, extraHeaders) {
    let response = await rawFetch(method, path, body, extraHeaders);
    if (response.status === 401) {
      const rotated = await fetch("/web/refresh", { method: "POST", headers: { "X-CSRF-Token": csrf() }, credentials: "same-origin" });
      if (rotated.ok) response = await rawFetch(method, path, body, extraHeaders);
    }
    const type = response.headers.get("content-type") || "";
    const envelope = type.includes("json") ? await response.json().catch(() => null) : null;
    if (!response.ok) throw new ApiError(response.status, envelope);
    return envelope === null ? response : envelope;
  }

  const queue = [];
  let showing = false;
  function toast(message, kind) {
    queue.push({ message, kind: kind || "info" });
    if (!showing) nextToast();
  }
  function nextToast() {
    const item = queue.shift();
    const box = document.getElementById("toasts");
    if (!item || !box) { showing = false; return; }
    showing = true;
    const el = document.createElement("div");
    el.className = "toast " + item.kind;
    el.setAttribute("role", item.kind === "error" ? "alert" : "status");
    el.textContent = item.message;
    const close = document.createElement("button");
    close.type = "button"; close.className = "btn btn-text"; close.textContent = "×";
    close.setAttribute("aria-label", lang === "en" ? "Close" : "닫기");
    el.appendChild(close);
    box.appendChild(el);
    const done = () => { el.remove(); nextToast(); };
    close.addEventListener("click", done);
    setTimeout(() => { if (el.isConnected) done(); }, 2500);
  }

  function formValue(el) {
    const kind = el.dataset.type;
    if (el.type === "checkbox") return el.checked;
    const v = el.value;
    if (v === "" && kind !== "string") return null;
    if (kind === "int") return Number.parseInt(v, 10);
    if (kind === "number") return Number(v);
    if (kind === "bool") return v === "true";
    if (kind === "json") return JSON.parse(v);
    if (kind === "list") return v.split(",").map((s) => s.trim()).filter(Boolean);
    return v;
  }

  function formBody(form) {
    const body = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled || el.dataset.skip !== undefined || el.name === "csrf_token") continue;
      if (el.type === "radio" && !el.checked) continue;
      const value = formValue(el);
      if (value === null && el.dataset.keepNull === undefined) continue;
      body[el.name] = value;
    }
    return body;
  }

  // A control's own description (a hint) stays: the error's id is added to aria-describedby and
  // the original value is put back when the errors are cleared.
  function describe(el, id) {
    if (el.dataset.bsDescribedby === undefined) el.dataset.bsDescribedby = el.getAttribute("aria-describedby") || "";
    const ids = (el.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    el.setAttribute("aria-describedby", ids.concat(id).join(" "));
  }

  function clearErrors(form) {
    const gone = new Set();
    form.querySelectorAll(".field-error").forEach((e) => { if (e.id) gone.add(e.id); e.remove(); });
    form.querySelectorAll('[aria-invalid="true"]').forEach((e) => e.removeAttribute("aria-invalid"));
    form.querySelectorAll("[aria-describedby]").forEach((el) => {
      const original = el.dataset.bsDescribedby;
      const kept = original !== undefined ? original
        : el.getAttribute("aria-describedby").split(/\s+/).filter((id) => id && !gone.has(id)).join(" ");
      if (kept) el.setAttribute("aria-describedby", kept); else el.removeAttribute("aria-describedby");
      delete el.dataset.bsDescribedby;
    });
  }

  function showErrors(form, error) {
    let first = null;
    for (const detail of error.details || []) {
      const name = String(detail.field || "").replace(/^body\./, "");
      const el = form.querySelector('[name="' + CSS.escape(name) + '"]') || form.querySelector('[name="' + CSS.escape(name.split(".").pop()) + '"]');
      if (!el) continue;
      const msg = document.createElement("p");
      msg.className = "field-error"; msg.id = "err-" + Math.random().toString(36).slice(2);
      msg.textContent = detail.message;
      el.setAttribute("aria-invalid", "true"); describe(el, msg.id);
      el.insertAdjacentElement("afterend", msg);
      first = first || el;
    }
    if (first) first.focus();
    toast(error.message + (error.traceId ? " (" + error.code + ")" : ""), "error");
  }

  async function submitApiForm(event) {
    const form = event.target.closest("form[data-api]");
    if (!form) return;
    event.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    clearErrors(form);
    const button = form.querySelector('[type="submit"]');
    if (button) button.disabled = true;
    try {
      const method = (form.dataset.method || "POST").toUpperCase();
      const hasFile = form.querySelector('input[type="file"]');
      const body = hasFile ? new FormData(form) : formBody(form);
      const result = await api(method, form.dataset.api, method === "GET" ? undefined : body);
      const success = form.dataset.success || "reload";
      if (form.dataset.message) toast(form.dataset.message, "success");
      document.dispatchEvent(new CustomEvent("bs:api-success", { detail: { form, result } }));
      if (success === "reload") window.location.reload();
      else if (success.startsWith("redirect:")) {
        const id = result && result.data && result.data.id;
        window.location.assign(success.slice(9).replace("{id}", id === undefined ? "" : id));
      }
    } catch (error) {
      if (error instanceof ApiError) showErrors(form, error);
      else toast(String(error && error.message || error), "error");
    } finally {
      if (button) button.disabled = false;
    }
  }

  document.addEventListener("submit", submitApiForm);
  // A select marked data-autosubmit (the pager's page size) applies at once, from page 1.
  document.addEventListener("change", (event) => {
    const select = event.target.closest("select[data-autosubmit]");
    const form = select && select.form;
    if (!form) return;
    const page = form.querySelector('input[name="page"]');
    if (page) page.remove();
    if (typeof form.requestSubmit === "function") form.requestSubmit(); else form.submit();
  });
  document.addEventListener("click", (event) => {
    const toggle = event.target.closest("[data-nav-toggle]");
    if (!toggle) return;
    const nav = document.getElementById(toggle.getAttribute("aria-controls"));
    const open = toggle.getAttribute("aria-expanded") !== "false";
    toggle.setAttribute("aria-expanded", open ? "false" : "true");
    if (nav) nav.classList.toggle("collapsed", open);
  });

  window.BS = { api, toast, ApiError, formBody, csrf, lang };
})();
