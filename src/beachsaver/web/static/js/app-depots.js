/* Worker app: pickups (collectors), notifications and settings.
 * - Pickup list: asks navigator.geolocation for the device's position and reloads the list with
 *   ?near=lat,lng (sorted by distance on the server); without a fix the list keeps the
 *   district's order and says so. Draws the depots on a Leaflet map (tiles only when configured;
 *   markers numbered in visiting order, coloured and labelled by state).
 * - Completion: uploads the photo to /api/images (type COLLECTION_COMPLETED), takes the GPS
 *   position, then PATCH /api/collection-depots/{id}/complete {collected_amount, photo, ...}.
 * - Notifications: opening an unread notice's link marks it read first.
 * - Settings: the channel choices are sent as {CATEGORY: {CHANNEL: bool}} to
 *   PUT /api/notifications/preferences.
 * Texts come from the page (data-msg-* attributes rendered from the catalogue).
 */
(function () {
  "use strict";

  function vibrate(pattern) {
    try { if (navigator.vibrate) navigator.vibrate(pattern); } catch (e) { /* not supported */ }
  }
  document.addEventListener("bs:api-success", () => vibrate(40));

  function locate(options) {
    return new Promise((resolve) => {
      if (!navigator.geolocation) { resolve(null); return; }
      navigator.geolocation.getCurrentPosition(
        (p) => resolve({ lat: p.coords.latitude, lng: p.coords.longitude }),
        () => resolve(null),
        Object.assign({ enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 }, options || {})
      );
    });
  }

  // ---- the pickup list: position → ?near= ---------------------------------------------------
  const depotPage = document.querySelector("[data-depot-page]");
  const note = document.querySelector("[data-position-note]");

  async function sortByPosition() {
    if (note) note.textContent = note.dataset.msgLocating;
    const here = await locate();
    if (!here) {
      if (note) note.textContent = note.dataset.msgFailed;
      return;
    }
    const url = new URL(window.location.href);
    url.searchParams.set("near", here.lat.toFixed(6) + "," + here.lng.toFixed(6));
    url.searchParams.delete("page");
    window.location.replace(url.toString());
  }

  if (depotPage) {
    if (depotPage.dataset.hasPosition !== "true") sortByPosition();
    const again = document.querySelector("[data-locate]");
    if (again) again.addEventListener("click", sortByPosition);
  }

  // ---- the map ----------------------------------------------------------------------------------
  const mapEl = document.querySelector("[data-depot-map]");
  const dataEl = document.getElementById("depot-map-data");
  if (mapEl && dataEl && window.L) {
    const data = JSON.parse(dataEl.textContent || "{}");
    const labels = data.labels || {};
    const map = window.L.map(mapEl, { scrollWheelZoom: false, attributionControl: Boolean(data.tiles) });
    if (data.tiles) window.L.tileLayer(data.tiles, { maxZoom: 19 }).addTo(map);
    else mapEl.classList.add("no-tiles");
    const bounds = [];
    const route = [];
    for (const d of data.depots || []) {
      const state = labels[d.state] || d.state;
      // The visible number leads the name (WCAG 2.5.3: the label contains the visible text).
      const name = (d.route ? d.route + ". " : "") + d.name + ", " + state +
        (d.route ? ", " + String(labels.route || "#{n}").replace("{n}", d.route) : "");
      const icon = window.L.divIcon({
        className: "depot-marker state-" + d.state,
        html: "<span aria-hidden=\"true\">" + (d.route ? String(d.route) : "") + "</span>",
        iconSize: [34, 34],
        iconAnchor: [17, 17],
      });
      const marker = window.L.marker([d.lat, d.lng], { icon, title: name, keyboard: true, riseOnHover: true });
      // The icon exists once the map has a view: name it then (a button named by its depot).
      marker.on("add", () => { const el = marker.getElement(); if (el) el.setAttribute("aria-label", name); });
      marker.addTo(map);
      const popup = document.createElement("div");
      const strong = document.createElement("strong");
      strong.textContent = d.name;
      const status = document.createElement("p");
      status.textContent = state;
      const link = document.createElement("a");
      link.href = "#depot-" + d.id;
      link.textContent = labels.open || "→";
      popup.append(strong, status, link);
      marker.bindPopup(popup);
      bounds.push([d.lat, d.lng]);
      if (d.route) route[d.route - 1] = [d.lat, d.lng];
    }
    if (data.position) {
      const me = window.L.circleMarker(data.position, { radius: 9, weight: 3, color: "#001F36", fillColor: "#FFFFFF", fillOpacity: 1 });
      me.bindTooltip(labels.position || "", { permanent: true, direction: "bottom" }).addTo(map);
      bounds.push(data.position);
    }
    const path = (data.position ? [data.position] : []).concat(route.filter(Boolean));
    if (path.length > 1) window.L.polyline(path, { color: "#005A99", weight: 3, dashArray: "6 6" }).addTo(map);
    if (bounds.length > 1) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 17 });
    else if (bounds.length === 1) map.setView(bounds[0], 16);
    else map.setView([35.1587, 129.1604], 13);
  }

  // ---- completion: photo upload, GPS, PATCH complete -------------------------------------------
  function clearErrors(form) {
    form.querySelectorAll(".field-error").forEach((e) => e.remove());
    form.querySelectorAll('[aria-invalid="true"]').forEach((e) => { e.removeAttribute("aria-invalid"); e.removeAttribute("aria-describedby"); });
  }

  function fieldError(form, name, message) {
    const el = form.querySelector('[name="' + name + '"]');
    if (!el) return null;
    const msg = document.createElement("p");
    msg.className = "field-error";
    msg.id = "err-" + name + "-" + (form.dataset.depot || Math.random().toString(36).slice(2));
    msg.textContent = message;
    el.setAttribute("aria-invalid", "true");
    el.setAttribute("aria-describedby", msg.id);
    el.insertAdjacentElement("afterend", msg);
    return el;
  }

  function apiErrors(form, error, rename) {
    let first = null;
    for (const detail of error.details || []) {
      const raw = String(detail.field || "").replace(/^body\./, "");
      const name = (rename && rename[raw]) || raw;
      first = fieldError(form, name, detail.message) || first;
    }
    if (first) first.focus();
    window.BS.toast(error.message, "error");
    vibrate([80, 40, 80]);
  }

  async function complete(form) {
    clearErrors(form);
    const progress = form.querySelector("[data-progress]");
    const say = (text) => { if (progress) progress.textContent = text || ""; };
    const kg = form.elements.collected_amount.value.trim();
    const file = form.elements.photo.files[0];
    let first = null;
    if (!kg) first = fieldError(form, "collected_amount", form.dataset.msgRequired);
    if (!file) first = first || fieldError(form, "photo", form.dataset.msgRequired);
    if (first) { first.focus(); vibrate([80, 40, 80]); return; }
    const button = form.querySelector('[type="submit"]');
    button.disabled = true;
    try {
      say(form.dataset.msgUploading);
      const upload = new FormData();
      upload.append("file", file);
      upload.append("type", "COLLECTION_COMPLETED");
      let image;
      try {
        image = await window.BS.api("POST", "/api/images", upload);
      } catch (error) {
        if (error instanceof window.BS.ApiError) { apiErrors(form, error, { file: "photo", type: "photo" }); return; }
        throw error;
      }
      say(form.dataset.msgLocating);
      const here = await locate({ timeout: 8000 });
      const body = { collected_amount: Number(kg), photo: image.data.id };
      const noteText = form.elements.note.value.trim();
      if (noteText) body.note = noteText;
      if (here) { body.latitude = Number(here.lat.toFixed(7)); body.longitude = Number(here.lng.toFixed(7)); }
      say(form.dataset.msgSending);
      try {
        await window.BS.api("PATCH", "/api/collection-depots/" + form.dataset.depot + "/complete", body);
      } catch (error) {
        if (error instanceof window.BS.ApiError) { apiErrors(form, error); return; }
        throw error;
      }
      window.BS.toast(form.dataset.msgDone, "success");
      vibrate(60);
      window.location.reload();
    } catch (error) {
      window.BS.toast(String((error && error.message) || error), "error");
    } finally {
      say("");
      button.disabled = false;
    }
  }

  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-complete-form]");
    if (!form) return;
    event.preventDefault();
    complete(form);
  });

  // ---- notifications: opening marks read ---------------------------------------------------------
  document.addEventListener("click", async (event) => {
    const link = event.target.closest("a[data-read-on-open]");
    if (!link) return;
    event.preventDefault();
    try {
      await window.BS.api("POST", "/api/notifications/read", { ids: [Number(link.dataset.readOnOpen)] });
    } catch (error) { /* the link still opens */ }
    window.location.assign(link.href);
  });

  // ---- settings: channel choices -----------------------------------------------------------------
  document.addEventListener("submit", async (event) => {
    const form = event.target.closest("form[data-preferences-form]");
    if (!form) return;
    event.preventDefault();
    clearErrors(form);
    const body = {};
    form.querySelectorAll("input[type=checkbox][data-category]").forEach((box) => {
      if (box.disabled) return; // locked: always on
      (body[box.dataset.category] = body[box.dataset.category] || {})[box.dataset.channel] = box.checked;
    });
    const button = form.querySelector('[type="submit"]');
    button.disabled = true;
    try {
      await window.BS.api("PUT", "/api/notifications/preferences", body);
      window.BS.toast(form.dataset.msgSaved, "success");
      vibrate(40);
    } catch (error) {
      if (error instanceof window.BS.ApiError) apiErrors(form, error);
      else window.BS.toast(String((error && error.message) || error), "error");
    } finally {
      button.disabled = false;
    }
  });
})();
