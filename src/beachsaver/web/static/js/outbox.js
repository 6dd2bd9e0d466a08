/* The worker app's device storage for report drafts and the offline outbox (G-24).
 *
 * - Drafts live in IndexedDB ("beachsaver-reports": store "drafts" keyed by the report's
 *   client_id, store "photos" holding the photos as Blobs until they are uploaded).
 * - The outbox is the list of drafts waiting to be sent: localStorage "bs.outbox" holds one entry
 *   per waiting item ({client_id, user_id, type}), so its length is what the app bar shows
 *   (static/js/app.js); every change dispatches "bs:outbox-changed" on document.
 * - flush() sends the waiting items of the signed-in account: photos first (POST /api/images),
 *   then new reports in one POST /api/reports/sync (idempotent by client_id: a replay answers
 *   DUPLICATE with the stored report), edits of reports the server already holds through PATCH,
 *   members' contributions through POST /api/reports/{id}/contributions. It runs at page load,
 *   on the "online" event and every minute while something waits. Results: "bs:outbox-synced"
 *   (detail: the results), a toast, and localStorage "bs.outbox.log" (the last 20).
 *
 * A result's outcome: sent | invalid (400: fix the form) | duplicate (409 DUPLICATE_SUSPECTED:
 * confirm or cancel) | conflict (409/404/403: the server's copy differs or is gone) | retry
 * (offline, 5xx, 429, 401: stays in the outbox).
 */
(function () {
  "use strict";
  if (window.BSOutbox) return;
  const QUEUE_KEY = "bs.outbox";
  const LOG_KEY = "bs.outbox.log";
  const DB_NAME = "beachsaver-reports";
  const en = (document.documentElement.lang || "ko") === "en";
  const TEXT = {
    sent: en ? "{n} sent" : "{n}건 전송됨",
    attention: en ? "{n} need your attention" : "{n}건 확인 필요",
  };
  const say = (key, n) => TEXT[key].replace("{n}", n);

  // ---- IndexedDB -------------------------------------------------------------------------------
  let dbPromise = null;
  function openDb() {
    if (dbPromise) return dbPromise;
    dbPromise = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => {
        const db = request.result;
        const drafts = db.createObjectStore("drafts", { keyPath: "client_id" });
        drafts.createIndex("user_id", "user_id");
        const photos = db.createObjectStore("photos", { keyPath: "id", autoIncrement: true });
        photos.createIndex("client_id", "client_id");
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    return dbPromise;
  }
  async function tx(store, mode, work) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const t = db.transaction(store, mode);
      const result = work(t.objectStore(store));
      t.oncomplete = () => resolve(result && "result" in result ? result.result : result);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
  }
  const getDraft = (cid) => tx("drafts", "readonly", (s) => s.get(cid));
  const saveDraft = (rec) => { rec.updated_at = rec.updated_at || Date.now(); return tx("drafts", "readwrite", (s) => s.put(rec)); };
  async function deleteDraft(cid) {
    await tx("drafts", "readwrite", (s) => s.delete(cid));
    const ids = await tx("photos", "readonly", (s) => s.index("client_id").getAllKeys(cid));
    await tx("photos", "readwrite", (s) => { (ids || []).forEach((id) => s.delete(id)); });
  }
  async function listDrafts(userId) {
    const all = (await tx("drafts", "readonly", (s) => s.getAll())) || [];
    return all.filter((r) => userId === undefined || Number(r.user_id) === Number(userId));
  }
  const putPhoto = (photo) => tx("photos", "readwrite", (s) => s.add(photo));
  const getPhoto = (id) => tx("photos", "readonly", (s) => s.get(id));
  const deletePhoto = (id) => tx("photos", "readwrite", (s) => s.delete(id));

  // ---- the outbox list (localStorage) ------------------------------------------------------------
  function queue() {
    try { const q = JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]"); return Array.isArray(q) ? q : []; } catch (e) { return []; }
  }
  function writeQueue(q) {
    localStorage.setItem(QUEUE_KEY, JSON.stringify(q));
    document.dispatchEvent(new CustomEvent("bs:outbox-changed", { detail: { waiting: q.length } }));
  }
  async function enqueue(rec) {
    rec.status = "waiting";
    rec.error = null;
    rec.updated_at = Date.now();
    await saveDraft(rec);
    const q = queue().filter((e) => e.client_id !== rec.client_id);
    q.push({ client_id: rec.client_id, user_id: rec.user_id, type: rec.type || rec.kind });
    writeQueue(q);
  }
  function dequeue(cid) {
    const q = queue();
    const left = q.filter((e) => e.client_id !== cid);
    if (left.length !== q.length) writeQueue(left);
  }
  const isWaiting = (cid) => queue().some((e) => e.client_id === cid);

  function log() {
    try { return JSON.parse(localStorage.getItem(LOG_KEY) || "[]"); } catch (e) { return []; }
  }
  function addLog(entries) {
    const merged = entries.concat(log()).slice(0, 20);
    localStorage.setItem(LOG_KEY, JSON.stringify(merged));
  }

  // ---- photos ----------------------------------------------------------------------------------
  /** Every photo list of a record with the API field it fills (for errors). */
  function photoSlots(rec) {
    const d = rec.data || {};
    const slots = [];
    (d.areas || []).forEach((a, i) => slots.push({ list: a.photos || (a.photos = []), field: "areas[" + i + "].image_ids" }));
    (d.collection_depots || []).forEach((p, i) => slots.push({ list: p.photos || (p.photos = []), field: "collection_depots[" + i + "].image_ids" }));
    if (rec.kind === "contribution") slots.push({ list: d.photos || (d.photos = []), field: "image_ids" });
    return slots;
  }
  async function uploadPhoto(entry) {
    const stored = await getPhoto(entry.local);
    if (!stored) return null;
    const form = new FormData();
    form.append("file", stored.blob, stored.name || "photo.jpg");
    form.append("type", entry.image_type);
    const result = await window.BS.api("POST", "/api/images", form);
    entry.image_id = result.data.id;
    entry.thumb_url = result.data.thumb_url;
    return result.data;
  }
  /** Uploads what is still only on the device; stores each new image id at once so that a
   *  retry never uploads a photo twice. A refused photo → an error naming its field. */
  async function uploadPhotos(rec) {
    for (const slot of photoSlots(rec)) {
      for (let i = slot.list.length - 1; i >= 0; i--) {
        const entry = slot.list[i];
        if (entry.image_id || entry.local === undefined || entry.local === null) continue;
        try {
          const data = await uploadPhoto(entry);
          if (data === null) slot.list.splice(i, 1); // the blob is gone: nothing to send
          await saveDraft(rec);
        } catch (e) {
          if (e instanceof window.BS.ApiError && [400, 413, 415].includes(e.status)) {
            e.details = [{ field: slot.field, message: (entry.name ? entry.name + ": " : "") + e.message }];
          }
          throw e;
        }
      }
    }
  }

  // ---- payloads ----------------------------------------------------------------------------------
  const REPORT_FIELDS = ["beach_id", "investigation_report_id", "cleaning_report_id", "job_id", "investigation_at",
    "cleaning_at", "weather", "disaster_type", "note"];
  const AREA_FIELDS = ["area_name", "start_latitude", "start_longitude", "end_latitude", "end_longitude",
    "trash_amount_est_l", "trash_amount_kg", "bag_count", "main_trash_type", "note", "investigation_area_id"];
  const DEPOT_FIELDS = ["name", "address", "latitude", "longitude", "note", "estimated_kg"];
  const blank = (v) => v === undefined || v === null || v === "";
  const ids = (list) => (list || []).filter((p) => p.image_id).map((p) => p.image_id);
  function pick(source, fields, keepNull) {
    const out = {};
    for (const f of fields) {
      const v = source[f];
      if (!blank(v)) out[f] = v;
      else if (keepNull) out[f] = null;
    }
    return out;
  }
  /** The API body of a record: "create" → ReportCreate (POST /api/reports, sync items);
   *  "patch" → ReportPatch content (lists replace the stored ones; the team never changes). */
  function payload(rec, mode) {
    const d = rec.data || {};
    const body = pick(d, REPORT_FIELDS, mode === "patch");
    if (rec.type !== "COLLECTION_REQUEST") {
      body.areas = (d.areas || []).map((a) => Object.assign(pick(a, AREA_FIELDS, false), { image_ids: ids(a.photos) }));
    } else {
      body.collection_depots = (d.collection_depots || []).map((p) => Object.assign(pick(p, DEPOT_FIELDS, false), { image_ids: ids(p.photos) }));
    }
    if (mode === "create") {
      body.client_id = rec.client_id;
      body.type = rec.type;
      if (!blank(d.team_id)) body.team_id = d.team_id;
      if (rec.confirm_duplicate) body.confirm_duplicate = true;
    }
    return body;
  }

  // ---- outcomes ------------------------------------------------------------------------------------
  function errorOf(e) {
    if (e instanceof window.BS.ApiError) return { code: e.code, message: e.message, details: e.details || [], status: e.status };
    return { code: "NETWORK", message: String((e && e.message) || e), details: [] };
  }
  function outcomeOf(code, status) {
    if (code === "VALIDATION_ERROR" || code === "PAYLOAD_TOO_LARGE" || code === "UNSUPPORTED_MEDIA_TYPE") return "invalid";
    if (code === "DUPLICATE_SUSPECTED") return "duplicate";
    if (["CONFLICT", "INVALID_STATE", "NOT_FOUND", "FORBIDDEN"].includes(code)) return "conflict";
    if (status === 400) return "invalid";
    return "retry"; // offline, 5xx, 429, 401 (sign in again), 503
  }
  function failure(rec, e) {
    const error = errorOf(e);
    return { client_id: rec.client_id, type: rec.type || rec.kind, outcome: outcomeOf(error.code, error.status), error, report_id: rec.report_id || null };
  }
  const sent = (rec, reportId, serverStatus) => ({ client_id: rec.client_id, type: rec.type || rec.kind, outcome: "sent", report_id: reportId, server_status: serverStatus, error: null });

  /** Sends one record now. draft=true stores it on the server as a DRAFT (no submission). */
  async function deliver(rec, opts) {
    const draft = !!(opts && opts.draft);
    try {
      if (rec.kind === "contribution") return await deliverContribution(rec);
      await uploadPhotos(rec);
      if (rec.report_id) {
        const path = "/api/reports/" + rec.report_id;
        try {
          await window.BS.api("PATCH", path, payload(rec, "patch"));
        } catch (e) {
          if (!draft && e instanceof window.BS.ApiError && e.code === "INVALID_STATE") {
            // a retry after a submission whose answer was lost: the server already has it
            const current = await window.BS.api("GET", path);
            if (["SUBMITTED", "APPROVED"].includes(current.data.status)) return sent(rec, rec.report_id, current.data.status);
          }
          throw e;
        }
        if (draft) return sent(rec, rec.report_id, "DRAFT");
        const result = await window.BS.api("PATCH", path, { status: "SUBMITTED", confirm_duplicate: !!rec.confirm_duplicate });
        return sent(rec, rec.report_id, result.data.status);
      }
      const body = Object.assign(payload(rec, "create"), { is_draft: draft });
      const result = await window.BS.api("POST", "/api/reports", body);
      return sent(rec, result.data.id, result.data.status);
    } catch (e) {
      return failure(rec, e);
    }
  }

  async function deliverContribution(rec) {
    await uploadPhotos(rec);
    const d = rec.data;
    const body = pick(d, ["note", "bags", "kg", "hours"], false);
    body.image_ids = ids(d.photos);
    const path = "/api/reports/" + rec.report_id;
    if (rec.attempted) {
      // Contributions carry no client id: after an unanswered try, look before sending again.
      const current = await window.BS.api("GET", path);
      const same = (current.data.contributions || []).find((c) => Number(c.user_id) === Number(rec.user_id) &&
        (c.note || null) === (body.note || null) && Number(c.kg || 0) === Number(body.kg || 0) &&
        Number(c.bags || 0) === Number(body.bags || 0) && Number(c.hours || 0) === Number(body.hours || 0));
      if (same) return sent(rec, rec.report_id, current.data.status);
    }
    rec.attempted = true;
    await saveDraft(rec);
    await window.BS.api("POST", path + "/contributions", body);
    return sent(rec, rec.report_id, "DRAFT");
  }

  function fromSync(rec, item) {
    if (item.status === "ERROR") {
      const error = Object.assign({ details: [] }, item.error || {});
      return { client_id: rec.client_id, type: rec.type, outcome: outcomeOf(error.code, 0), error, report_id: null };
    }
    return sent(rec, item.report_id, null);
  }

  /** Applies a result to the device: a sent submission leaves the device (the server holds it
   *  now), a problem stays as a draft with the server's message, a retry stays waiting. */
  async function settle(rec, result, submitted) {
    if (result.outcome === "retry") {
      if (rec.status === "waiting") { rec.last_error = result.error; await saveDraft(rec); }
      return;
    }
    if (result.outcome === "sent" && submitted) {
      await deleteDraft(rec.client_id);
      dequeue(rec.client_id);
      return;
    }
    if (result.outcome === "sent") {
      rec.report_id = result.report_id;
      rec.server_status = result.server_status || "DRAFT";
      rec.status = "draft";
      rec.error = null;
      rec.saved_at = Date.now();
      await saveDraft(rec);
      return;
    }
    rec.status = result.outcome;
    rec.error = result.error;
    await saveDraft(rec);
    dequeue(rec.client_id);
  }

  /** Sends one record now (the form's [Submit], or [Save draft] with draft=true). */
  function sendNow(rec, opts) {
    const draft = !!(opts && opts.draft);
    return exclusive(async () => {
      if (!draft && !(await getDraft(rec.client_id))) {
        // a flush sent it while this waited: answer with what it recorded
        const done = log().find((e) => e.client_id === rec.client_id && e.outcome === "sent");
        if (done) return sent(rec, done.report_id, null);
      }
      const result = await deliver(rec, opts);
      await settle(rec, result, !draft);
      if (!draft && result.outcome !== "retry") record([result], rec);
      return result;
    });
  }

  function record(results, rec) {
    const me = rec ? rec.user_id : null;
    addLog(results.map((r) => ({
      client_id: r.client_id, type: r.type, outcome: r.outcome, report_id: r.report_id || null,
      message: r.error ? r.error.message : "", user_id: me, at: Date.now(),
    })));
  }

  let chain = Promise.resolve();
  /** One sender at a time: in this tab (a promise chain) and across tabs (Web Locks). */
  function exclusive(work) {
    const run = () => (navigator.locks ? navigator.locks.request("bs-outbox", work) : work());
    const next = chain.then(run, run);
    chain = next.catch(() => null);
    return next;
  }

  let running = null;
  let me = null;
  async function whoAmI() {
    if (me) return me;
    const result = await window.BS.api("GET", "/api/users/me");
    me = result.data;
    return me;
  }

  async function flushNow() {
    if (!navigator.onLine || !queue().length || !window.BS) return [];
    let user;
    try { user = await whoAmI(); } catch (e) { return []; }
    const results = [];
    const batch = [];
    for (const entry of queue().filter((e) => Number(e.user_id) === Number(user.id))) {
      const rec = await getDraft(entry.client_id);
      if (!rec) { dequeue(entry.client_id); continue; }
      if (rec.kind === "contribution" || rec.report_id) {
        results.push([rec, await deliver(rec)]);
        continue;
      }
      try { await uploadPhotos(rec); batch.push(rec); } catch (e) { results.push([rec, failure(rec, e)]); }
    }
    if (batch.length) {
      try {
        const body = { reports: batch.map((rec) => Object.assign(payload(rec, "create"), { is_draft: false })) };
        const answer = await window.BS.api("POST", "/api/reports/sync", body);
        answer.data.forEach((item, i) => results.push([batch[i], fromSync(batch[i], item)]));
      } catch (e) {
        batch.forEach((rec) => results.push([rec, failure(rec, e)]));
      }
    }
    for (const [rec, result] of results) await settle(rec, result, true);
    const done = results.map(([, r]) => r).filter((r) => r.outcome !== "retry");
    if (done.length) {
      record(done, { user_id: user.id });
      const ok = done.filter((r) => r.outcome === "sent").length;
      const bad = done.length - ok;
      if (ok && window.BS) window.BS.toast(say("sent", ok), "success");
      if (bad && window.BS) window.BS.toast(say("attention", bad), "error");
    }
    document.dispatchEvent(new CustomEvent("bs:outbox-synced", { detail: { results: results.map(([, r]) => r) } }));
    document.dispatchEvent(new CustomEvent("bs:outbox-changed", { detail: { waiting: queue().length } }));
    return results.map(([, r]) => r);
  }

  /** Sends the waiting items once at a time (across tabs too, where Web Locks exist). */
  function flush() {
    if (running) return running;
    running = exclusive(flushNow)
      .catch(() => [])
      .finally(() => { running = null; });
    return running;
  }

  /** An item marked waiting but missing from the list (a tab closed between two writes) is put
   *  back: sending it again is harmless, the server answers a known client_id as a replay. */
  async function heal() {
    const waiting = (await listDrafts()).filter((r) => r.status === "waiting");
    const q = queue();
    const missing = waiting.filter((r) => !q.some((e) => e.client_id === r.client_id));
    if (!missing.length) return;
    missing.forEach((r) => q.push({ client_id: r.client_id, user_id: r.user_id, type: r.type || r.kind }));
    writeQueue(q);
  }

  window.addEventListener("online", () => { flush(); });
  setInterval(() => { if (navigator.onLine && queue().length) flush(); }, 60000);
  const start = () => heal().catch(() => null).then(() => flush());
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();

  window.BSOutbox = {
    getDraft, saveDraft, deleteDraft, listDrafts, putPhoto, getPhoto, deletePhoto, uploadPhoto, uploadPhotos,
    enqueue, dequeue, queue, isWaiting, log, payload, deliver, sendNow, flush,
  };
})();
