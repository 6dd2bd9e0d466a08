/* Console pages for accounts, volunteers, teams and beaches (ADM-03, ADM-04).
 * Forms are sent by api.js; this file only prepares them:
 * - [data-dialog-open=id] opens a <dialog> (Esc and [data-dialog-close] close it);
 * - form[data-role-form]: the role select shows the fields of that role ([data-roles="A B"]) and
 *   the organisations of the role's type; hidden fields are disabled so they are not sent;
 * - form[data-vehicle-form]: the vehicle.<field> controls become the nested "vehicle" object;
 * - form[data-list-form]: checked boxes [data-list=name] become the JSON list "name";
 * - [data-reveal-phone=id]: shows the full number (GET /api/users/{id}?reveal=phone, audited);
 * - #beach-map: a small Leaflet preview of the beach's point, kept in step with the inputs.
 */
(function () {
  "use strict";

  // ---- dialogs -------------------------------------------------------------------------------
  let opener = null;
  document.addEventListener("click", (event) => {
    const open = event.target.closest("[data-dialog-open]");
    if (open) {
      const dialog = document.getElementById(open.dataset.dialogOpen);
      if (dialog && typeof dialog.showModal === "function") {
        opener = open;
        dialog.showModal();
        const first = dialog.querySelector("input:not([type=hidden]), textarea, select");
        if (first) first.focus();
      }
      return;
    }
    const close = event.target.closest("[data-dialog-close]");
    if (close) {
      const dialog = close.closest("dialog");
      if (dialog) dialog.close();
    }
  });
  document.querySelectorAll("dialog").forEach((dialog) => {
    dialog.addEventListener("close", () => { if (opener) { opener.focus(); opener = null; } });
  });

  // ---- role-dependent fields -----------------------------------------------------------------
  function setEnabled(container, enabled) {
    container.hidden = !enabled;
    container.querySelectorAll("input, select, textarea").forEach((el) => { el.disabled = !enabled; });
  }

  function applyRole(form) {
    const select = form.querySelector("[data-role-select]");
    if (!select) return;
    const role = select.value;
    form.querySelectorAll("[data-roles]").forEach((box) => {
      setEnabled(box, box.dataset.roles.split(/\s+/).includes(role));
    });
    const option = select.selectedOptions[0];
    const orgType = option ? option.dataset.orgType : null;
    const orgs = form.querySelector("[data-org-select]");
    if (orgs && orgType) {
      let firstMatch = null;
      for (const o of orgs.options) {
        const match = o.dataset.orgType === orgType;
        o.hidden = !match; o.disabled = !match;
        if (match && !firstMatch) firstMatch = o;
      }
      const current = orgs.selectedOptions[0];
      if ((!current || current.disabled) && firstMatch) orgs.value = firstMatch.value;
    }
  }

  document.querySelectorAll("form[data-role-form]").forEach((form) => {
    const select = form.querySelector("[data-role-select]");
    if (select) select.addEventListener("change", () => applyRole(form));
    applyRole(form);
  });

  // ---- nested vehicle and list values (run before api.js reads the form) ---------------------
  function gatherVehicle(form) {
    const hidden = form.querySelector("[data-vehicle-value]");
    if (!hidden) return;
    const vehicle = {};
    form.querySelectorAll("[data-vehicle-field]").forEach((el) => {
      if (el.disabled || el.value.trim() === "") return;
      vehicle[el.dataset.vehicleField] = el.dataset.number !== undefined ? Number(el.value) : el.value.trim();
    });
    hidden.value = Object.keys(vehicle).length ? JSON.stringify(vehicle) : "";
  }

  function gatherLists(form) {
    form.querySelectorAll("input[type=hidden][data-list-value]").forEach((hidden) => {
      const name = hidden.dataset.listValue;
      const values = Array.from(form.querySelectorAll('input[type=checkbox][data-list="' + name + '"]'))
        .filter((box) => box.checked && !box.disabled)
        .map((box) => Number.parseInt(box.value, 10));
      hidden.value = JSON.stringify(values);
    });
  }

  document.querySelectorAll("form[data-vehicle-form], form[data-list-form]").forEach((form) => {
    form.addEventListener("submit", () => {
      if (form.dataset.vehicleForm !== undefined) gatherVehicle(form);
      if (form.dataset.listForm !== undefined) gatherLists(form);
    });
  });

  // ---- full phone number on request (audited by the API) -------------------------------------
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-reveal-phone]");
    if (!button) return;
    try {
      const envelope = await window.BS.api("GET", "/api/users/" + button.dataset.revealPhone + "?reveal=phone");
      const target = document.getElementById(button.getAttribute("aria-controls"));
      if (target) target.textContent = envelope.data.phone;
      button.remove();
    } catch (error) {
      window.BS.toast(String(error.message || error), "error");
    }
  });

  // ---- beach form: place names from the district, a small map preview -----------------------
  const beachForm = document.querySelector("form[data-beach-form]");
  if (beachForm) {
    const orgSelect = beachForm.querySelector("[name=org_id]");
    const si = beachForm.querySelector("[name=si]");
    const gu = beachForm.querySelector("[name=gu_gun]");
    const fillPlaces = () => {
      const option = orgSelect && orgSelect.selectedOptions[0];
      if (!option) return;
      if (si && !si.value && option.dataset.si) si.value = option.dataset.si;
      if (gu && (!gu.value || gu.dataset.auto === "1") && option.dataset.gu) { gu.value = option.dataset.gu; gu.dataset.auto = "1"; }
    };
    if (orgSelect && orgSelect.tagName === "SELECT") orgSelect.addEventListener("change", fillPlaces);
    if (gu) gu.addEventListener("input", () => { gu.dataset.auto = "0"; });
    fillPlaces();
  }

  const mapBox = document.getElementById("beach-map");
  if (mapBox && window.L) {
    const lat = document.querySelector("[name=latitude]");
    const lng = document.querySelector("[name=longitude]");
    const start = [Number(lat.value) || Number(mapBox.dataset.lat) || 35.1587, Number(lng.value) || Number(mapBox.dataset.lng) || 129.1604];
    const map = window.L.map(mapBox, { attributionControl: !!mapBox.dataset.tiles }).setView(start, 13);
    if (mapBox.dataset.tiles) window.L.tileLayer(mapBox.dataset.tiles, { maxZoom: 19 }).addTo(map);
    const marker = window.L.circleMarker(start, { radius: 9, color: "#005A99", weight: 3, fillOpacity: 0.5 }).addTo(map);
    const fromInputs = () => {
      const point = [Number(lat.value), Number(lng.value)];
      if (lat.value !== "" && lng.value !== "" && Number.isFinite(point[0]) && Number.isFinite(point[1]) &&
          Math.abs(point[0]) <= 90 && Math.abs(point[1]) <= 180) {
        marker.setLatLng(point); map.panTo(point);
      }
    };
    lat.addEventListener("change", fromInputs);
    lng.addEventListener("change", fromInputs);
    map.on("click", (event) => {
      lat.value = event.latlng.lat.toFixed(7);
      lng.value = event.latlng.lng.toFixed(7);
      marker.setLatLng(event.latlng);
    });
  }
})();
