/* Console maps page: the litter, depots and forecast layers of GET /api/statistics/map (embedded
 * by the page) on a Leaflet map. Each marker carries a short text symbol and a pattern besides its
 * colour (the same as the legend); tiles come from BEACHSAVER_WEB_TILE_URL when it is set, else
 * the markers sit on a blank background. The tables under the map say the same in text.
 * The base map is made by the shared /web/static/js/map.js (BSMap.render) when it is loaded.
 */
(function () {
  "use strict";
  const holder = document.getElementById("analytics-map");
  const dataEl = document.getElementById("map-data");
  const textEl = document.getElementById("map-text");
  if (!holder || !dataEl || !textEl || !window.L) return;
  const L = window.L;
  const layers = JSON.parse(dataEl.textContent);
  const text = JSON.parse(textEl.textContent);

  // The base map (tiles or a blank background) comes from the shared map.js helper when the
  // page loads it; the three layers below are this page's own.
  let map;
  if (window.BSMap && typeof window.BSMap.render === "function") {
    map = window.BSMap.render(holder, [], { tileUrl: holder.dataset.tileUrl || "", list: false }).map;
  }
  if (!map) {
    map = L.map(holder, { zoomControl: true });
    if (holder.dataset.tileUrl) L.tileLayer(holder.dataset.tileUrl, { maxZoom: 18 }).addTo(map);
  }

  function escape(value) {
    return String(value === null || value === undefined ? "" : value)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }

  function icon(classes, symbol, label, anchorX) {
    return L.divIcon({
      className: "mk-holder",
      html: '<span class="mk ' + classes + '" role="img" aria-label="' + escape(label) + '">' + escape(symbol) + "</span>",
      iconSize: [30, 30],
      iconAnchor: [anchorX, 15],
    });
  }

  function number(value) {
    if (value === null || value === undefined) return "—";
    return String(Math.round(value * 100) / 100);
  }

  const groups = { litter: L.layerGroup(), depots: L.layerGroup(), forecast: L.layerGroup() };
  const points = [];

  (layers.litter.features || []).forEach((f) => {
    const p = f.properties;
    const [lng, lat] = f.geometry.coordinates;
    const index = p.trash_type ? text.litter_order.indexOf(p.trash_type) : -1;
    const kind = index >= 0 ? "lt-" + index : "lt-none";
    const typeLabel = p.trash_type ? text.litter[p.trash_type] : text.no_litter;
    const label = p.beach_name + ": " + number(p.value) + " " + layers.litter.unit + " · " + typeLabel;
    const marker = L.marker([lat, lng], {
      icon: icon("mk-litter " + kind, p.trash_type ? text.litter_short[p.trash_type] : "–", label, 34),
      title: label, alt: label, keyboard: true,
    });
    marker.bindPopup(escape(label));
    groups.litter.addLayer(marker);
    points.push([lat, lng]);
  });

  (layers.depots.features || []).forEach((f) => {
    const p = f.properties;
    const [lng, lat] = f.geometry.coordinates;
    const label = "#" + p.depot_id + " " + (p.name || "") + " · " + (text.depot[p.status] || p.status);
    const marker = L.marker([lat, lng], {
      icon: icon("mk-depot ds-" + p.status, text.depot_symbol[p.status] || "?", label, 15),
      title: label, alt: label, keyboard: true,
    });
    marker.bindPopup(escape(label));
    groups.depots.addLayer(marker);
    points.push([lat, lng]);
  });

  (layers.forecast.features || []).forEach((f) => {
    const p = f.properties;
    const [lng, lat] = f.geometry.coordinates;
    const index = p.band ? text.bands.indexOf(p.band) : -1;
    const bandLabel = p.band ? text.band[p.band] : text.no_forecast;
    const label = p.beach_name + ": " + number(p.value) + " kg · " + bandLabel;
    const marker = L.marker([lat, lng], {
      icon: icon("mk-band " + (index >= 0 ? "band-" + index : "band-none"), p.band ? text.band_short[p.band] : "?", label, -4),
      title: label, alt: label, keyboard: true,
    });
    marker.bindPopup(escape(label));
    groups.forecast.addLayer(marker);
    points.push([lat, lng]);
  });

  Object.keys(groups).forEach((name) => groups[name].addTo(map));
  if (points.length) map.fitBounds(L.latLngBounds(points).pad(0.2), { maxZoom: 13 });
  else map.setView([35.15, 129.05], 10);

  document.querySelectorAll("[data-layer]").forEach((box) => {
    box.addEventListener("change", () => {
      const group = groups[box.dataset.layer];
      if (!group) return;
      if (box.checked) group.addTo(map); else map.removeLayer(group);
    });
  });
  holder.dataset.ready = "true";
  window.BSAnalyticsMap = { map, groups };
})();
