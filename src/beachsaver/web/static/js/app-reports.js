/* The worker app's report pages: the three report forms, my reports, a report's detail with the
 * team members' contributions (templates/app/reports/*, web/app/pages_reports.py).
 *
 * Forms keep their draft on the device through BSOutbox (static/js/outbox.js): every change is
 * saved to IndexedDB under the report's client_id (photos as Blobs), [Save draft] also stores it
 * on the server when online, [Submit] puts it in the outbox and sends it at once when online
 * (POST /api/reports, or PATCH for a report the server already holds). Offline it waits, and the
 * outbox sends it through POST /api/reports/sync when the app is back online. Problems come back
 * next to the fields they name (the API's dotted paths are the controls' names).
 */
(function () {
  "use strict";
  const OB = window.BSOutbox;
  const BS = window.BS;
  const textEl = document.getElementById("fr-text");
  const TEXT = textEl ? JSON.parse(textEl.textContent || "{}") : {};
  function tr(key, params) {
    let s = TEXT[key] || key;
    for (const [k, v] of Object.entries(params || {})) s = s.split("{" + k + "}").join(String(v));
    return s;
  }

  // ---- small helpers ---------------------------------------------------------------------------
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  const round7 = (x) => Math.round(Number(x) * 1e7) / 1e7;
  function haversine(a, b) {
    const R = 6371008.8, rad = Math.PI / 180;
    const dLat = (b[0] - a[0]) * rad, dLng = (b[1] - a[1]) * rad;
    const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[0] * rad) * Math.cos(b[0] * rad) * Math.sin(dLng / 2) ** 2;
    return 2 * R * Math.asin(Math.sqrt(h));
  }
  const pad = (n) => String(n).padStart(2, "0");
  /** An instant (ISO text) → the value of a datetime-local control (device time). */
  function toLocalInput(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return "";
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }
  /** A datetime-local value → an instant with an offset (the API refuses naive times). */
  function toInstant(value) {
    if (!value) return null;
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? null : d.toISOString().replace(/\.\d{3}Z$/, "Z");
  }
  const toast = (msg, kind) => BS && BS.toast(msg, kind);
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v; else node.setAttribute(k, v === true ? "" : v);
    }
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function dialogAsk(id, body) {
    const dialog = document.getElementById(id);
    if (!dialog) return Promise.resolve(true);
    if (body !== undefined) dialog.querySelector("[id$='body']").textContent = body;
    return new Promise((resolve) => {
      const ok = dialog.querySelector("[data-dialog-ok]");
      const cancel = dialog.querySelector("[data-dialog-cancel]");
      const done = (answer) => {
        ok.removeEventListener("click", yes); cancel.removeEventListener("click", no); dialog.removeEventListener("close", closed);
        if (dialog.open) dialog.close();
        resolve(answer);
      };
      const yes = () => done(true);
      const no = () => done(false);
      const closed = () => done(false); // Esc
      ok.addEventListener("click", yes); cancel.addEventListener("click", no); dialog.addEventListener("close", closed);
      dialog.showModal();
      ok.focus();
    });
  }

  // ---- field errors --------------------------------------------------------------------------------
  function clearErrors(root) {
    root.querySelectorAll(".field-error").forEach((e) => e.remove());
    root.querySelectorAll('[aria-invalid="true"]').forEach((e) => {
      e.removeAttribute("aria-invalid");
      const described = (e.getAttribute("aria-describedby") || "").split(" ").filter((x) => x && !x.startsWith("err-")).join(" ");
      if (described) e.setAttribute("aria-describedby", described); else e.removeAttribute("aria-describedby");
    });
    const alert = root.querySelector("#form-alert");
    if (alert) { alert.hidden = true; alert.textContent = ""; }
  }
  let errorSeq = 0;
  function findControl(root, field) {
    const byName = (n) => root.querySelector('[name="' + CSS.escape(n) + '"]');
    let found = byName(field) || byName(field.replace(/\.photo$/, ".image_ids"));
    if (found) return found;
    const m = field.match(/^(areas|collection_depots)(?:\[(\d+)\])?/);
    if (m && m[2] !== undefined) {
      const card = root.querySelectorAll("[data-card]")[Number(m[2])];
      if (card) return card.querySelector("input, select, textarea");
    }
    if (m) return document.getElementById(m[1]);
    return null;
  }
  function showErrors(root, error) {
    clearErrors(root);
    let first = null;
    const unplaced = [];
    for (const detail of (error && error.details) || []) {
      const field = String(detail.field || "").replace(/^body\./, "");
      const control = findControl(root, field);
      if (!control) { unplaced.push(detail); continue; }
      const msg = el("p", { class: "field-error", id: "err-" + (++errorSeq) }, detail.message);
      if (control.matches("section, fieldset")) {
        const head = control.querySelector("h2, legend");
        (head || control).insertAdjacentElement("afterend", msg);
      } else {
        control.setAttribute("aria-invalid", "true");
        const described = control.getAttribute("aria-describedby");
        control.setAttribute("aria-describedby", (described ? described + " " : "") + msg.id);
        control.insertAdjacentElement("afterend", msg);
      }
      first = first || control;
    }
    const alert = root.querySelector("#form-alert");
    if (alert) {
      alert.textContent = "";
      alert.appendChild(el("strong", {}, (error && error.message) || tr("error_generic")));
      if (unplaced.length) {
        const list = el("ul");
        unplaced.forEach((d) => list.appendChild(el("li", {}, (d.field ? d.field + ": " : "") + d.message)));
        alert.appendChild(list);
      }
      alert.hidden = false;
    } else if (error) {
      toast(error.message, "error");
    }
    if (first) first.focus(); else if (alert) alert.focus();
  }

  // ---- photos (a box of photos with their upload state) ---------------------------------------------
  const objectUrls = new Map();
  async function thumbFor(entry) {
    if (entry.thumb_url) return entry.thumb_url;
    if (entry.local === undefined || entry.local === null) return null;
    if (objectUrls.has(entry.local)) return objectUrls.get(entry.local);
    const stored = await OB.getPhoto(entry.local);
    if (!stored) return null;
    const url = URL.createObjectURL(stored.blob);
    objectUrls.set(entry.local, url);
    return url;
  }
  function photoState(entry) {
    if (entry.image_id) return tr("photo_uploaded");
    if (entry.state === "uploading") return tr("photo_uploading");
    if (entry.state === "failed") return tr("photo_failed");
    return tr("photo_waiting");
  }
  /** Renders the photo list of one box; `list` is the array of entries it shows. */
  function renderPhotoBox(box, list, hooks) {
    box.querySelector("[data-photo-count]").textContent = String(list.length);
    const ul = box.querySelector("[data-photo-list]");
    ul.textContent = "";
    list.forEach((entry, index) => {
      const li = el("li", { class: "fr-photo" });
      const img = el("img", { alt: entry.name || tr("photo_alt", { n: index + 1 }), width: 56, height: 56 });
      img.addEventListener("error", () => img.remove()); // e.g. a signed thumbnail URL that expired
      thumbFor(entry).then((url) => { if (url) img.src = url; else img.remove(); }).catch(() => img.remove());
      li.appendChild(img);
      const info = el("span", { class: "fr-photo-info" });
      info.appendChild(el("span", { class: "fr-photo-name" }, entry.name || "#" + (entry.image_id || index + 1)));
      info.appendChild(el("span", { class: "muted fr-photo-state", "data-photo-state": entry.image_id ? "uploaded" : entry.state || "waiting" }, photoState(entry)));
      li.appendChild(info);
      if (entry.state === "failed" && !entry.image_id) {
        const retry = el("button", { type: "button", class: "btn btn-text" }, tr("photo_retry"));
        retry.addEventListener("click", () => hooks.upload(entry));
        li.appendChild(retry);
      }
      const remove = el("button", { type: "button", class: "btn btn-text fr-danger", "aria-label": tr("photo_remove", { name: entry.name || index + 1 }) }, "×");
      remove.addEventListener("click", async () => {
        list.splice(list.indexOf(entry), 1);
        if (entry.local !== undefined && entry.local !== null && !entry.image_id) await OB.deletePhoto(entry.local).catch(() => null);
        hooks.changed();
      });
      li.appendChild(remove);
      ul.appendChild(li);
    });
  }
  /** Keeps chosen files on the device (IndexedDB), then uploads them when online. */
  async function addFiles(box, list, files, clientId, hooks) {
    const max = Number(box.dataset.max || 5);
    for (const file of files) {
      if (list.length >= max) { toast(tr("photo_max", { max }), "error"); break; }
      const id = await OB.putPhoto({ client_id: clientId, blob: file, name: file.name, image_type: box.dataset.imageType, added_at: Date.now() });
      list.push({ local: id, name: file.name, image_type: box.dataset.imageType, state: "waiting" });
    }
    hooks.changed();
    if (navigator.onLine) for (const entry of list.filter((e) => !e.image_id)) await hooks.upload(entry);
  }
  async function uploadEntry(box, entry, hooks) {
    if (entry.image_id || !navigator.onLine) return;
    entry.state = "uploading";
    hooks.render();
    try {
      await OB.uploadPhoto(entry);
      entry.state = "uploaded";
    } catch (e) {
      entry.state = e instanceof BS.ApiError ? "failed" : "waiting";
      if (e instanceof BS.ApiError) {
        const input = box.querySelector("input[type=file]");
        const msg = el("p", { class: "field-error", id: "err-" + (++errorSeq) }, (entry.name ? entry.name + ": " : "") + e.message);
        input.setAttribute("aria-invalid", "true");
        input.insertAdjacentElement("afterend", msg);
      }
    }
    hooks.changed();
  }

  // ---- the report form ---------------------------------------------------------------------------
  function initForm(form) {
    const ctx = JSON.parse(document.getElementById("fr-context").textContent);
    const type = ctx.type;
    const userId = ctx.user_id;
    const cardsEl = document.getElementById("cards");
    const prefix = cardsEl.dataset.prefix;
    const template = document.getElementById("card-template");
    const notice = document.getElementById("form-notice");
    const params = new URLSearchParams(window.location.search);
    const cards = [];
    let seq = 0;
    let rec = null;
    let locked = false;
    let busy = false;
    let saveTimer = null;

    function say(message, html) {
      notice.textContent = "";
      if (html) notice.appendChild(html); else notice.textContent = message;
      notice.hidden = false;
    }

    // -- cards
    function addCard(values) {
      const fragment = template.content.cloneNode(true);
      const node = fragment.querySelector("[data-card]");
      const uid = "c" + (++seq);
      node.querySelectorAll("[data-field]").forEach((c) => { c.id = uid + "-" + c.dataset.field; });
      node.querySelectorAll("label[data-for]").forEach((l) => { l.htmlFor = uid + "-" + l.dataset.for; });
      node.querySelectorAll("[data-id-as]").forEach((x) => { x.id = uid + "-" + x.dataset.idAs; });
      node.querySelectorAll("[data-labelledby]").forEach((x) => x.setAttribute("aria-labelledby", uid + "-" + x.dataset.labelledby));
      const card = { el: node, photos: {}, extra: {} };
      node.querySelectorAll("[data-photos]").forEach((box) => { card.photos[box.dataset.photos] = []; });
      cardsEl.appendChild(fragment);
      cards.push(card);
      if (values) fillCard(card, values);
      renumber();
      renderCardPhotos(card);
      return card;
    }
    function renumber() {
      cards.forEach((card, i) => {
        card.el.querySelector("[data-card-number]").textContent = String(i + 1);
        card.el.querySelectorAll("[data-field]").forEach((c) => { c.name = prefix + "[" + i + "]." + (c.dataset.name || c.dataset.field); });
        const remove = card.el.querySelector("[data-remove-card]");
        remove.hidden = cards.length < 2;
        remove.setAttribute("aria-label", remove.textContent.trim() + " " + (i + 1));
      });
      updateLength();
    }
    function fillCard(card, v) {
      card.el.querySelectorAll("[data-field]").forEach((c) => {
        if (c.type === "file") return;
        const value = v[c.dataset.field];
        c.value = value === null || value === undefined ? "" : String(value);
      });
      card.extra = { investigation_area_id: v.investigation_area_id || null };
      const slots = Object.keys(card.photos);
      (v.photos || []).forEach((p) => {
        const box = card.el.querySelector('[data-photos][data-image-type="' + p.image_type + '"]');
        card.photos[box ? box.dataset.photos : slots[0]].push(p);
      });
    }
    function readCard(card) {
      const out = Object.assign({}, card.extra);
      card.el.querySelectorAll("[data-field]").forEach((c) => {
        if (c.type === "file") return;
        const raw = c.value.trim();
        let value = raw === "" ? null : raw;
        if (value !== null && c.type === "number") value = c.step === "1" ? Number.parseInt(raw, 10) : Number(raw);
        if (value !== null && /latitude|longitude/.test(c.dataset.field)) value = round7(value);
        if (typeof value === "number" && Number.isNaN(value)) value = null;
        out[c.dataset.field] = value;
      });
      out.photos = [].concat(...Object.values(card.photos));
      return out;
    }
    function cardHooks(card, box) {
      const slot = box.dataset.photos;
      const hooks = {
        render: () => renderPhotoBox(box, card.photos[slot], hooks),
        changed: () => { hooks.render(); changed(); },
        upload: (entry) => uploadEntry(box, entry, hooks),
      };
      return hooks;
    }
    function renderCardPhotos(card) {
      card.el.querySelectorAll("[data-photos]").forEach((box) => cardHooks(card, box).render());
    }

    // -- whole form
    const basics = () => Array.from(form.querySelectorAll("[data-field]")).filter((c) => !c.closest("[data-card]"));
    function collect() {
      const data = {};
      basics().forEach((c) => {
        const raw = (c.value || "").trim();
        let value = raw === "" ? null : raw;
        if (value !== null && c.dataset.type === "int") value = Number.parseInt(raw, 10);
        if (c.dataset.type === "instant") value = toInstant(raw);
        data[c.dataset.field] = value;
      });
      if (rec && rec.report_id && rec.team_id !== undefined) data.team_id = rec.team_id;
      data[prefix] = cards.map(readCard);
      const beach = form.querySelector("#f-beach");
      rec.data = data;
      rec.title = beach && beach.value ? beach.options[beach.selectedIndex].text : "";
      rec.updated_at = Date.now();
      return rec;
    }
    function fill(data) {
      basics().forEach((c) => {
        const value = data[c.dataset.field];
        if (c.dataset.type === "instant") c.value = toLocalInput(value);
        else if (value !== null && value !== undefined) c.value = String(value);
      });
      cards.splice(0).forEach((c) => c.el.remove());
      const list = data[prefix] || [];
      if (list.length) list.forEach((v) => addCard(v)); else addCard();
      updateCounter();
      updateSubmitLabel();
    }
    function fromServer(report) {
      const photos = (images) => (images || []).map((img) => ({ image_id: img.id, image_type: img.type, name: "#" + img.id, thumb_url: img.thumb_url }));
      const data = {};
      ["beach_id", "investigation_report_id", "cleaning_report_id", "job_id", "investigation_at", "cleaning_at", "weather", "disaster_type", "note", "team_id"]
        .forEach((k) => { data[k] = report[k]; });
      data.areas = (report.areas || []).map((a) => Object.assign({}, a, { photos: photos(a.images) }));
      data.collection_depots = (report.collection_depots || []).map((d) => Object.assign({}, d, { photos: photos(d.images) }));
      return data;
    }
    function defaults() {
      const data = { areas: [{}], collection_depots: [{}] };
      const now = new Date().toISOString();
      if (type === "INVESTIGATION") data.investigation_at = now;
      if (type === "CLEANING") data.cleaning_at = now;
      Object.entries(ctx.preset || {}).forEach(([k, v]) => { if (v) data[k] = v; });
      if (ctx.beaches.length === 1) data.beach_id = ctx.beaches[0].id;
      return data;
    }
    function newRecord(clientId) {
      return { client_id: clientId, type, user_id: userId, status: "draft", created_at: Date.now() };
    }

    // -- saving on the device
    function changed() {
      if (locked) return;
      updateLength();
      updateCounter();
      clearTimeout(saveTimer);
      saveTimer = setTimeout(saveLocal, 600);
    }
    async function saveLocal() {
      clearTimeout(saveTimer);
      if (locked || !rec) return;
      const stored = await OB.getDraft(rec.client_id).catch(() => null);
      if (rec.status === "waiting" && !stored) return; // sent meanwhile (here or in another tab)
      if (stored) takeUploads(stored, rec);
      collect();
      await OB.saveDraft(rec).catch(() => null);
    }
    /** The outbox may have uploaded photos of the stored copy: keep their image ids, so that the
     *  payload sent again stays the same (a replay, not a conflict) and nothing is uploaded twice. */
    function takeUploads(stored, current) {
      const uploaded = new Map();
      const lists = (r) => [].concat(...[].concat((r.data && r.data.areas) || [], (r.data && r.data.collection_depots) || []).map((c) => c.photos || []));
      lists(stored).forEach((p) => { if (p.image_id && p.local !== undefined && p.local !== null) uploaded.set(p.local, p); });
      cards.forEach((card) => Object.values(card.photos).forEach((list) => list.forEach((p) => {
        const done = uploaded.get(p.local);
        if (!p.image_id && done) { p.image_id = done.image_id; p.thumb_url = done.thumb_url; p.state = "uploaded"; }
      })));
      if (current.status === "waiting" && stored.status !== "waiting") {
        current.status = stored.status; // refused meanwhile: keep the server's verdict
        current.error = stored.error;
      }
    }
    function updateLength() {
      const out = document.getElementById("length-summary");
      if (!out) return;
      let metres = 0;
      cards.forEach((card) => {
        const v = readCard(card);
        if ([v.start_latitude, v.start_longitude, v.end_latitude, v.end_longitude].every((x) => typeof x === "number")) {
          metres += haversine([v.start_latitude, v.start_longitude], [v.end_latitude, v.end_longitude]);
        }
      });
      out.textContent = tr("length", { km: (metres / 1000).toFixed(2) });
    }
    function updateCounter() {
      const note = form.querySelector("#f-note");
      const counter = form.querySelector("#f-note-count");
      if (note && counter) counter.textContent = note.value.length + "/" + (note.maxLength > 0 ? note.maxLength : 500);
    }
    function updateSubmitLabel() {
      const team = form.querySelector("#f-team");
      const isTeam = rec && rec.report_id ? !!(ctx.report && ctx.report.team_id) : !!(team && team.value);
      const teamLabel = form.querySelector("[data-submit-label-team]");
      const soloLabel = form.querySelector("[data-submit-label-solo]");
      if (teamLabel && soloLabel) { teamLabel.hidden = !isTeam; soloLabel.hidden = isTeam; }
    }
    function lockTeam() {
      const team = form.querySelector("#f-team");
      if (team && rec.report_id) team.disabled = true;
    }

    // -- GPS and the map
    function pointControls(card, which) {
      const point = card.el.querySelector('[data-point="' + which + '"]');
      return {
        point,
        lat: card.el.querySelector('[data-field="' + point.dataset.lat + '"]'),
        lng: card.el.querySelector('[data-field="' + point.dataset.lng + '"]'),
        status: point.querySelector("[data-gps-status]"),
      };
    }
    function captureGps(card, which, button) {
      const p = pointControls(card, which);
      const failed = () => {
        p.status.textContent = tr("gps_failed");
        button.disabled = false;
        p.lat.focus();
      };
      if (!navigator.geolocation) { failed(); return; }
      p.status.textContent = tr("gps_finding");
      button.disabled = true;
      navigator.geolocation.getCurrentPosition((pos) => {
        p.lat.value = String(round7(pos.coords.latitude));
        p.lng.value = String(round7(pos.coords.longitude));
        p.status.textContent = tr("gps_ok", { acc: Math.round(pos.coords.accuracy || 0) });
        button.disabled = false;
        changed();
      }, failed, { enableHighAccuracy: true, timeout: 30000, maximumAge: 10000 });
    }

    let map = null;
    let refLayer = null;
    let pickMarker = null;
    let picked = null;
    let mapTarget = null;
    const mapDialog = document.getElementById("map-dialog");
    function showPicked() {
      const out = document.getElementById("map-picked");
      out.textContent = picked ? tr("map_picked", { lat: round7(picked.lat), lng: round7(picked.lng) }) : tr("map_centre");
    }
    function setPick(latlng) {
      picked = latlng;
      if (pickMarker) pickMarker.setLatLng(latlng);
      else pickMarker = window.L.circleMarker(latlng, { radius: 10, color: "#B00020", weight: 3, fillOpacity: 0.4 }).addTo(map);
      showPicked();
    }
    function openMap(card, which) {
      if (!window.L || !mapDialog) return;
      mapTarget = pointControls(card, which);
      mapDialog.showModal();
      if (!map) {
        const box = document.getElementById("pick-map");
        map = window.L.map(box, { attributionControl: !!ctx.tile_url });
        if (ctx.tile_url) window.L.tileLayer(ctx.tile_url, { maxZoom: 19, attribution: "© OpenStreetMap" }).addTo(map);
        else box.classList.add("fr-map-blank");
        window.L.control.scale({ imperial: false }).addTo(map);
        refLayer = window.L.layerGroup().addTo(map);
        map.on("click", (e) => setPick(e.latlng));
      }
      const current = mapTarget.lat.value !== "" && mapTarget.lng.value !== "" ? [Number(mapTarget.lat.value), Number(mapTarget.lng.value)] : null;
      const beachSelect = form.querySelector("#f-beach");
      const beach = ctx.beaches.find((b) => String(b.id) === (beachSelect && beachSelect.value));
      const centre = current || (beach ? [beach.lat, beach.lng] : null);
      map.setView(centre || [35.1586975, 129.1603842], centre ? 17 : 12);
      refLayer.clearLayers();
      const list = document.getElementById("map-points");
      list.textContent = "";
      if (beach) {
        window.L.circleMarker([beach.lat, beach.lng], { radius: 8, color: "#005A99" }).bindTooltip(beach.name).addTo(refLayer);
        list.appendChild(el("li", {}, tr("map_beach", { name: beach.name, lat: beach.lat, lng: beach.lng })));
      }
      cards.forEach((c, i) => {
        c.el.querySelectorAll("[data-point]").forEach((pt) => {
          const pc = pointControls(c, pt.dataset.point);
          if (pc.lat.value === "" || pc.lng.value === "" || pc.lat === mapTarget.lat) return;
          const label = tr("map_point", { n: i + 1, what: pt.querySelector(".fr-point-title").textContent.replace("*", "").trim() });
          window.L.circleMarker([Number(pc.lat.value), Number(pc.lng.value)], { radius: 6, color: "#196F3D" }).bindTooltip(label).addTo(refLayer);
          list.appendChild(el("li", {}, label + ": " + pc.lat.value + ", " + pc.lng.value));
        });
      });
      picked = null;
      if (pickMarker) { pickMarker.remove(); pickMarker = null; }
      if (current) setPick(window.L.latLng(current[0], current[1]));
      showPicked();
      setTimeout(() => map.invalidateSize(), 60);
    }
    if (mapDialog) {
      mapDialog.querySelector("[data-map-cancel]").addEventListener("click", () => mapDialog.close());
      mapDialog.querySelector("[data-map-use]").addEventListener("click", () => {
        const point = picked || map.getCenter();
        mapTarget.lat.value = String(round7(point.lat));
        mapTarget.lng.value = String(round7(point.lng));
        mapTarget.status.textContent = tr("map_used");
        mapDialog.close();
        mapTarget.lat.focus();
        changed();
      });
    }

    // -- events
    cardsEl.addEventListener("click", (event) => {
      const card = cards.find((c) => c.el.contains(event.target));
      if (!card) return;
      const gps = event.target.closest("[data-gps]");
      if (gps) { captureGps(card, gps.dataset.gps, gps); return; }
      const pick = event.target.closest("[data-map]");
      if (pick) { openMap(card, pick.dataset.map); return; }
      if (event.target.closest("[data-remove-card]")) {
        cards.splice(cards.indexOf(card), 1);
        card.el.remove();
        renumber();
        changed();
        const next = cards[0] && cards[0].el.querySelector("input");
        if (next) next.focus();
      }
    });
    cardsEl.addEventListener("change", (event) => {
      const input = event.target;
      if (input.type !== "file") return;
      const card = cards.find((c) => c.el.contains(input));
      const box = input.closest("[data-photos]");
      const files = Array.from(input.files || []);
      input.value = "";
      if (card && box && files.length) addFiles(box, card.photos[box.dataset.photos], files, rec.client_id, cardHooks(card, box));
    });
    form.querySelector("[data-add-card]").addEventListener("click", () => {
      const card = addCard({});
      changed();
      card.el.querySelector("input").focus();
    });
    form.addEventListener("input", (event) => { if (event.target.type !== "file") changed(); });
    form.addEventListener("change", (event) => {
      if (event.target.id === "f-team") updateSubmitLabel();
      if (event.target.type !== "file") changed();
    });
    form.querySelector("[data-save-draft]").addEventListener("click", saveDraft);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (busy || locked || !rec) return;
      clearErrors(form);
      if (!(await dialogAsk("confirm-dialog"))) return;
      await submit(false);
    });

    async function saveDraft() {
      if (busy || locked || !rec) return;
      busy = true;
      try {
        clearErrors(form);
        collect();
        OB.dequeue(rec.client_id);
        rec.status = "draft";
        rec.error = null;
        await OB.saveDraft(rec);
        if (!navigator.onLine) { toast(tr("draft_saved_device"), "success"); say(tr("draft_saved_device")); return; }
        const result = await OB.sendNow(rec, { draft: true });
        if (result.outcome === "sent") {
          toast(tr("draft_saved_server"), "success");
          say(tr("draft_saved_server"));
          if (!ctx.report && result.report_id) {
            rec.team_id = rec.data.team_id;
            window.history.replaceState(null, "", "/app/reports/" + result.report_id + "/edit");
          }
          lockTeam();
        } else if (result.outcome === "retry") {
          toast(tr("draft_saved_device"), "success");
          signedOutOr(tr("draft_saved_device"), result);
        } else {
          problem(result);
        }
      } finally {
        busy = false;
      }
    }

    async function submit(confirmDuplicate) {
      busy = true;
      clearTimeout(saveTimer);
      try {
        const stored = await OB.getDraft(rec.client_id).catch(() => null);
        if (stored) takeUploads(stored, rec);
        collect();
        rec.confirm_duplicate = !!confirmDuplicate;
        await OB.enqueue(rec);
        if (!navigator.onLine) {
          toast(tr("queued_offline"), "info");
          say(tr("queued_offline"));
          return;
        }
        const result = await OB.sendNow(rec);
        await handle(result);
      } finally {
        busy = false;
      }
    }
    async function handle(result) {
      if (result.outcome === "sent") {
        locked = true;
        toast(tr("submitted"), "success");
        window.location.assign("/app/reports/" + result.report_id + "?sent=1");
      } else if (result.outcome === "retry") {
        signedOutOr(tr("queued_retry"), result);
      } else if (result.outcome === "duplicate") {
        const existing = ((result.error.details || [])[0] || {}).message || "";
        if (await dialogAsk("duplicate-dialog", tr("duplicate_body", { id: existing }))) await submit(true);
        else say(tr("duplicate_kept"));
      } else {
        problem(result);
      }
    }
    /** A 401 that the session refresh could not cure: the report waits; the worker signs in again. */
    function signedOutOr(message, result) {
      if (!(result.error && result.error.status === 401)) { say(message); return; }
      const p = el("p", {}, tr("signed_out") + " ");
      p.appendChild(el("a", { href: "/app/login?next=" + encodeURIComponent(window.location.pathname + window.location.search) }, tr("sign_in_again")));
      say("", p);
    }
    function problem(result) {
      if (result.outcome === "invalid") { showErrors(form, result.error); return; }
      showErrors(form, { message: result.error.message, details: [] });
      if (result.outcome === "conflict") {
        const box = el("div", { class: "fr-conflict" });
        box.appendChild(el("p", {}, tr("conflict_help")));
        const keep = el("button", { type: "button", class: "btn btn-secondary" }, tr("conflict_keep_server"));
        const mine = el("button", { type: "button", class: "btn btn-primary" }, tr("conflict_save_new"));
        keep.addEventListener("click", async () => { await OB.deleteDraft(rec.client_id); window.location.assign(rec.report_id ? "/app/reports/" + rec.report_id : "/app/reports"); });
        mine.addEventListener("click", async () => {
          const copy = await saveAsNew(rec);
          window.location.assign("/app/reports/new/" + ctx.kind + "?draft=" + copy.client_id);
        });
        box.append(keep, mine);
        document.getElementById("form-alert").appendChild(box);
      }
    }

    document.addEventListener("bs:outbox-synced", async (event) => {
      if (!rec) return;
      const mine = (event.detail.results || []).find((r) => r.client_id === rec.client_id);
      if (!mine) return;
      if (mine.outcome === "sent") {
        locked = true;
        const link = el("a", { href: "/app/reports/" + mine.report_id }, tr("sent_as", { id: mine.report_id }));
        const p = el("p");
        p.appendChild(link);
        say("", p);
        form.querySelectorAll("input, select, textarea, button").forEach((c) => { c.disabled = true; });
      } else if (mine.outcome !== "retry") {
        const stored = await OB.getDraft(rec.client_id);
        if (stored) rec = stored;
        problem(mine);
      }
    });

    // -- start: the server's copy, the device's draft, or a new one
    (async () => {
      const report = ctx.report;
      const wanted = report ? report.client_id : params.get("draft");
      let local = wanted ? await OB.getDraft(wanted).catch(() => null) : null; // no IndexedDB: no device copy
      if (local && (Number(local.user_id) !== Number(userId) || local.type !== type)) local = null;
      if (report) {
        const serverTime = Date.parse(report.updated_at);
        if (local && (local.updated_at > serverTime || local.status !== "draft")) {
          rec = local;
          fill(local.data);
          say(tr("restored"));
        } else {
          rec = newRecord(report.client_id);
          fill(fromServer(report));
        }
        rec.report_id = report.id;
        rec.server_status = report.status;
        rec.team_id = report.team_id;
      } else if (local) {
        rec = local;
        fill(local.data);
        say(tr("restored"));
        lockTeam();
      } else {
        rec = newRecord(uuid());
        fill(defaults());
      }
      form.dataset.clientId = rec.client_id;
      if (["invalid", "duplicate", "conflict"].includes(rec.status) && rec.error) problem({ outcome: rec.status, error: rec.error });
      else if (rec.status === "waiting") say(navigator.onLine ? tr("queued_retry") : tr("queued_offline"));
      form.dataset.ready = "1";
    })();
  }

  async function saveAsNew(rec) {
    const copy = JSON.parse(JSON.stringify(rec));
    copy.client_id = uuid();
    copy.report_id = null;
    copy.server_status = null;
    copy.status = "draft";
    copy.error = null;
    copy.confirm_duplicate = false;
    copy.updated_at = Date.now();
    // photos still only on the device move with the copy
    for (const list of [].concat((copy.data.areas || []).map((a) => a.photos || []), (copy.data.collection_depots || []).map((d) => d.photos || []))) {
      for (const entry of list) {
        if (entry.image_id || entry.local === undefined || entry.local === null) continue;
        const stored = await OB.getPhoto(entry.local);
        if (stored) entry.local = await OB.putPhoto(Object.assign({}, stored, { id: undefined, client_id: copy.client_id }));
      }
    }
    await OB.saveDraft(copy);
    await OB.deleteDraft(rec.client_id);
    OB.dequeue(rec.client_id);
    return copy;
  }

  // ---- my reports --------------------------------------------------------------------------------------
  const KIND = { INVESTIGATION: "investigation", CLEANING: "cleaning", COLLECTION_REQUEST: "collection-request" };
  function formUrl(rec) {
    if (rec.kind === "contribution") return "/app/reports/" + rec.report_id + "#contribute";
    if (rec.report_id) return "/app/reports/" + rec.report_id + "/edit";
    return "/app/reports/new/" + KIND[rec.type] + "?draft=" + encodeURIComponent(rec.client_id);
  }
  function initList(page) {
    const userId = Number(page.dataset.userId);
    const list = document.getElementById("device-list");
    const empty = document.getElementById("device-empty");

    async function render() {
      const records = (await OB.listDrafts(userId)).sort((a, b) => (b.updated_at || 0) - (a.updated_at || 0));
      const byClient = new Map(records.map((r) => [r.client_id, r]));
      for (const row of document.querySelectorAll("#server-list [data-client-id]")) {
        const local = byClient.get(row.dataset.clientId);
        if (local && local.status === "draft" && !["DRAFT", "REJECTED"].includes(row.dataset.status)) {
          // submitted or decided since (here or on another device): the device copy is stale
          await OB.deleteDraft(local.client_id);
          byClient.delete(local.client_id);
          records.splice(records.indexOf(local), 1);
          continue;
        }
        const note = row.querySelector("[data-local-note]");
        const unsaved = local && local.status === "draft" && (!local.saved_at || local.updated_at > local.saved_at + 1000);
        note.hidden = !unsaved;
        note.textContent = unsaved ? tr("local_edits") : "";
      }
      const shown = records.filter((r) => !r.report_id || r.status !== "draft" || r.kind === "contribution");
      list.textContent = "";
      empty.hidden = shown.length > 0;
      shown.forEach((rec) => list.appendChild(deviceItem(rec)));
      renderResults();
    }
    function deviceItem(rec) {
      const li = el("li", { class: "card fr-report fr-device-item", "data-device-client-id": rec.client_id });
      const head = el("div", { class: "fr-report-head" });
      const title = rec.kind === "contribution" ? tr("contribution_to", { id: rec.report_id }) : tr("type_" + rec.type);
      head.appendChild(el("strong", {}, title));
      head.appendChild(el("span", { class: "fr-chip fr-state-" + rec.status }, tr("state_" + rec.status)));
      li.appendChild(head);
      li.appendChild(el("div", {}, (rec.title || tr("no_beach")) + " · " + toLocalInput(new Date(rec.updated_at || Date.now()).toISOString()).replace("T", " ")));
      if (rec.error && rec.status !== "waiting") li.appendChild(el("p", { class: "fr-reason" }, tr("server_said") + ": " + rec.error.message));
      const actions = el("div", { class: "fr-item-actions" });
      actions.appendChild(el("a", { class: "btn btn-text", href: formUrl(rec) }, rec.status === "invalid" ? tr("fix") : tr("open")));
      if (rec.status === "duplicate") {
        const go = el("button", { type: "button", class: "btn btn-primary" }, tr("duplicate_submit"));
        go.addEventListener("click", async () => { rec.confirm_duplicate = true; await OB.enqueue(rec); await OB.flush(); render(); });
        actions.appendChild(go);
      }
      if (rec.status === "conflict") {
        const keep = el("button", { type: "button", class: "btn btn-secondary" }, tr("conflict_keep_server"));
        keep.addEventListener("click", async () => { await OB.deleteDraft(rec.client_id); render(); });
        const mine = el("button", { type: "button", class: "btn btn-primary" }, tr("conflict_save_new"));
        mine.addEventListener("click", async () => { await saveAsNew(rec); render(); });
        actions.append(keep, mine);
      }
      const remove = el("button", { type: "button", class: "btn btn-text fr-danger", "aria-label": tr("delete_local_named", { title }) }, tr("delete_local"));
      remove.addEventListener("click", async () => {
        if (!window.confirm(tr("delete_local_confirm"))) return;
        OB.dequeue(rec.client_id);
        await OB.deleteDraft(rec.client_id);
        render();
      });
      actions.appendChild(remove);
      li.appendChild(actions);
      return li;
    }
    function renderResults() {
      const box = document.getElementById("sync-results");
      const out = document.getElementById("results-list");
      const entries = OB.log().filter((e) => e.user_id === null || Number(e.user_id) === userId).slice(0, 10);
      box.hidden = entries.length === 0;
      out.textContent = "";
      entries.forEach((e) => {
        const li = el("li", { "data-outcome": e.outcome });
        const label = (e.type === "contribution" ? tr("contribution_word") : tr("type_" + e.type)) + (e.report_id ? " #" + e.report_id : "");
        const text = e.outcome === "sent" ? tr("result_sent", { what: label }) : tr("result_problem", { what: label, message: e.message });
        if (e.report_id && e.outcome === "sent") li.appendChild(el("a", { href: "/app/reports/" + e.report_id }, text));
        else li.textContent = text;
        li.appendChild(el("span", { class: "muted" }, " · " + toLocalInput(new Date(e.at).toISOString()).replace("T", " ")));
        out.appendChild(li);
      });
    }
    async function refreshServerList() {
      try {
        const response = await fetch(window.location.href, { credentials: "same-origin" });
        const doc = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = doc.querySelector('section[aria-labelledby="server-title"]');
        const current = document.querySelector('section[aria-labelledby="server-title"]');
        if (fresh && current) current.replaceWith(fresh);
      } catch (e) { /* offline again: keep the list */ }
    }
    document.querySelector("[data-sync-now]").addEventListener("click", async () => {
      if (!navigator.onLine) { toast(tr("offline_now"), "error"); return; }
      if (!OB.queue().length) toast(tr("nothing_waiting"), "info");
      await OB.flush();
      render();
    });
    document.addEventListener("bs:outbox-synced", async (event) => {
      if ((event.detail.results || []).some((r) => r.outcome === "sent")) await refreshServerList();
      render();
    });
    document.addEventListener("bs:outbox-changed", () => render());
    render();
  }

  // ---- a report's detail: the leader submits, members add contributions ---------------------------------
  function initDetail(page) {
    const reportId = page.dataset.reportId;
    const submitButton = document.querySelector("[data-submit-report]");
    if (submitButton) {
      submitButton.addEventListener("click", async () => {
        if (!navigator.onLine) { toast(tr("needs_connection"), "error"); return; }
        const send = async (confirm) => {
          submitButton.disabled = true;
          try {
            await BS.api("PATCH", "/api/reports/" + reportId, { status: "SUBMITTED", confirm_duplicate: confirm });
            await OB.deleteDraft(page.dataset.clientId).catch(() => null);
            toast(tr("submitted"), "success");
            window.location.assign("/app/reports/" + reportId + "?sent=1");
          } catch (e) {
            if (e instanceof BS.ApiError && e.code === "DUPLICATE_SUSPECTED") {
              const existing = ((e.details || [])[0] || {}).message || "";
              if (await dialogAsk("duplicate-dialog", tr("duplicate_body", { id: existing }))) return send(true);
            } else if (e instanceof BS.ApiError && e.code === "VALIDATION_ERROR") {
              toast(tr("fix_in_form"), "error");
              const box = el("div", { class: "alert alert-error", role: "alert" });
              box.appendChild(el("strong", {}, e.message));
              const ul = el("ul");
              (e.details || []).forEach((d) => ul.appendChild(el("li", {}, d.field + ": " + d.message)));
              box.appendChild(ul);
              submitButton.closest(".fr-detail-actions").insertAdjacentElement("beforebegin", box);
            } else {
              toast(e.message || String(e), "error");
            }
          } finally {
            submitButton.disabled = false;
          }
        };
        await send(false);
      });
    }
    const form = document.getElementById("contribution-form");
    if (form) initContribution(form, Number(page.dataset.userId));
  }

  async function initContribution(form, userId) {
    const box = form.querySelector("[data-photos]");
    const reportId = Number(form.dataset.reportId);
    const fields = ["kg", "bags", "hours", "note"];
    const kept = (await OB.listDrafts(userId)).find((r) => r.kind === "contribution" && Number(r.report_id) === reportId);
    const rec = kept || { client_id: uuid(), kind: "contribution", user_id: userId, report_id: reportId, status: "draft", data: { photos: [] } };
    let timer = null;
    const save = () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        if (rec.status === "waiting" && !(await OB.getDraft(rec.client_id).catch(() => null))) return; // sent meanwhile
        read();
        rec.updated_at = Date.now();
        OB.saveDraft(rec).catch(() => null);
      }, 500);
    };
    const hooks = {
      render: () => renderPhotoBox(box, rec.data.photos, hooks),
      changed: () => { hooks.render(); save(); },
      upload: (entry) => uploadEntry(box, entry, hooks),
    };
    function read() {
      const value = (name) => { const v = form.elements[name].value.trim(); return v === "" ? null : v; };
      rec.data.note = value("note");
      rec.data.kg = value("kg") === null ? null : Number(value("kg"));
      rec.data.bags = value("bags") === null ? null : Number.parseInt(value("bags"), 10);
      rec.data.hours = value("hours") === null ? null : Number(value("hours"));
      rec.title = document.querySelector("h1") ? document.querySelector("h1").firstChild.textContent.trim() : "";
    }
    if (kept) {
      fields.forEach((f) => { const v = kept.data[f]; if (v !== null && v !== undefined) form.elements[f].value = String(v); });
      const note = el("p", { class: "alert alert-info", role: "status" }, kept.status === "waiting" ? tr("queued_offline") : tr("restored"));
      form.insertBefore(note, form.querySelector(".fr-two"));
      if (kept.error && kept.status === "invalid") showErrors(form, kept.error);
    }
    hooks.render();
    form.addEventListener("input", (event) => { if (event.target.type !== "file") save(); });
    box.querySelector("input[type=file]").addEventListener("change", (event) => {
      const files = Array.from(event.target.files || []);
      event.target.value = "";
      if (files.length) addFiles(box, rec.data.photos, files, rec.client_id, hooks);
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearTimeout(timer);
      clearErrors(form);
      read();
      await OB.enqueue(rec);
      if (!navigator.onLine) { toast(tr("queued_offline"), "info"); return; }
      const result = await OB.sendNow(rec);
      if (result.outcome === "sent") { toast(tr("contribution_added"), "success"); window.location.reload(); }
      else if (result.outcome === "invalid") showErrors(form, result.error);
      else if (result.outcome === "retry") toast(tr("queued_retry"), "info");
      else toast(result.error.message, "error");
    });
    form.dataset.ready = "1";
  }

  const form = document.getElementById("report-form");
  if (form && OB) initForm(form);
  const page = document.getElementById("fr-page");
  if (page && OB && page.dataset.page === "list") initList(page);
  if (page && OB && page.dataset.page === "detail") initDetail(page);
  window.BSReports = { toInstant, toLocalInput, haversine };
})();
