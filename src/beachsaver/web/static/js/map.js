/* BSMap: a small, generic map helper for both clients (vendored Leaflet, no CDN).
 *
 *   BSMap.render(element, features, { tileUrl, list, center, zoom, emptyText })
 *
 * features: [{ lat, lng, label, status?, colour?, href?, line?: [[lat, lng], ...] }]
 *   - each feature is a circle marker (its label as tooltip; a link in its popup when href is set);
 *     `line` adds a polyline (e.g. an area's start → end);
 *   - the colour comes from `colour`, else from `status` (WAITING, IN_ROUTE, COMPLETED, ISSUE,
 *     SUBMITTED, APPROVED, REJECTED…), and each status also has its own marker style (hollow,
 *     dashed, filled, thick ring), so that colour is never the only cue.
 * tileUrl: a tile template ("https://…/{z}/{x}/{y}.png"); empty → no tiles: the markers on a
 *   plain background, still zoomable and usable.
 * list: an element (or selector) that receives the text list of the features (the map's text
 *   alternative); default: a list inserted after the map; false: none.
 * Without Leaflet (script blocked) the text list is still drawn.
 *
 * Declarative use: <div class="map" data-map="#features-json" data-map-list="#list"
 *   data-tile-url="…"></div> with <script type="application/json" id="features-json">[…]</script>
 * is rendered when the page loads (only when data-map starts with "#"). Returns { map, markers } (map is null without Leaflet).
 */
(function () {
  "use strict";
  const en = (document.documentElement.lang || "ko") === "en";
  const STYLES = {
    WAITING: { colour: "#0077C8", fillOpacity: 0.25, dashArray: null, weight: 3 },
    IN_ROUTE: { colour: "#8A4B00", fillOpacity: 0.5, dashArray: "4 3", weight: 3 },
    COMPLETED: { colour: "#196F3D", fillOpacity: 0.9, dashArray: null, weight: 2 },
    ISSUE: { colour: "#C0392B", fillOpacity: 0.6, dashArray: null, weight: 6 },
    SUBMITTED: { colour: "#0077C8", fillOpacity: 0.25, dashArray: null, weight: 3 },
    APPROVED: { colour: "#196F3D", fillOpacity: 0.9, dashArray: null, weight: 2 },
    REJECTED: { colour: "#C0392B", fillOpacity: 0.6, dashArray: "2 3", weight: 4 },
  };
  const DEFAULT_STYLE = { colour: "#0B2942", fillOpacity: 0.6, dashArray: null, weight: 3 };
  const BUSAN = [35.16, 129.06];

  function styleOf(feature) {
    const base = STYLES[feature.status] || DEFAULT_STYLE;
    return Object.assign({}, base, feature.colour ? { colour: feature.colour } : {});
  }

  function valid(feature) {
    return feature && Number.isFinite(Number(feature.lat)) && Number.isFinite(Number(feature.lng));
  }

  function resolve(target) {
    if (!target) return null;
    return typeof target === "string" ? document.querySelector(target) : target;
  }

  function coords(feature) {
    return Number(feature.lat).toFixed(5) + ", " + Number(feature.lng).toFixed(5);
  }

  function drawList(container, features, options, markers) {
    container.textContent = "";
    if (!features.length) {
      const p = document.createElement("p");
      p.className = "map-empty muted";
      p.textContent = options.emptyText || (en ? "No locations to show." : "지도에 표시할 위치가 없습니다.");
      container.appendChild(p);
      return;
    }
    const ol = document.createElement("ol");
    ol.className = "map-list";
    features.forEach((feature, i) => {
      const li = document.createElement("li");
      const dot = document.createElement("span");
      dot.className = "map-dot";
      dot.setAttribute("aria-hidden", "true");
      dot.style.borderColor = styleOf(feature).colour;
      dot.style.background = styleOf(feature).fillOpacity > 0.5 ? styleOf(feature).colour : "transparent";
      li.appendChild(dot);
      let name;
      if (feature.href) {
        name = document.createElement("a");
        name.href = feature.href;
      } else {
        name = document.createElement("span");
      }
      name.className = "map-label";
      name.textContent = feature.label || "#" + (i + 1);
      li.appendChild(name);
      const where = document.createElement("span");
      where.className = "map-coords muted";
      where.textContent = " (" + coords(feature) + ")";
      li.appendChild(where);
      const marker = markers[i];
      if (marker) {
        li.addEventListener("mouseenter", () => marker.openTooltip());
        li.addEventListener("mouseleave", () => marker.closeTooltip());
      }
      ol.appendChild(li);
    });
    container.appendChild(ol);
  }

  function render(element, features, options) {
    element = resolve(element);
    options = options || {};
    const shown = (features || []).filter(valid);
    let listBox = null;
    if (options.list !== false) {
      listBox = resolve(options.list);
      if (!listBox) {
        listBox = document.createElement("div");
        listBox.className = "map-list-box";
        element.insertAdjacentElement("afterend", listBox);
      }
    }
    const markers = [];
    let map = null;
    if (window.L && element) {
      map = window.L.map(element, { attributionControl: true, zoomControl: true });
      if (options.tileUrl) {
        window.L.tileLayer(options.tileUrl, { maxZoom: 19, attribution: options.attribution || "" }).addTo(map);
      } else {
        element.classList.add("map-no-tiles");
      }
      const bounds = [];
      shown.forEach((feature) => {
        const style = styleOf(feature);
        const at = [Number(feature.lat), Number(feature.lng)];
        bounds.push(at);
        if (Array.isArray(feature.line) && feature.line.length > 1) {
          const line = feature.line.filter((p) => Array.isArray(p) && p.length === 2).map((p) => [Number(p[0]), Number(p[1])]);
          line.forEach((p) => bounds.push(p));
          window.L.polyline(line, { color: style.colour, weight: 4, opacity: 0.8 }).addTo(map);
        }
        const marker = window.L.circleMarker(at, {
          radius: 9, color: style.colour, weight: style.weight, dashArray: style.dashArray,
          fillColor: style.colour, fillOpacity: style.fillOpacity,
        }).addTo(map);
        marker.bindTooltip(String(feature.label || ""));
        if (feature.href) {
          const link = document.createElement("a");
          link.href = feature.href;
          link.textContent = String(feature.label || feature.href);
          marker.bindPopup(link);
        }
        markers.push(marker);
      });
      if (bounds.length > 1) map.fitBounds(bounds, { padding: [24, 24], maxZoom: 17 });
      else if (bounds.length === 1) map.setView(bounds[0], options.zoom || 15);
      else map.setView(options.center || BUSAN, options.zoom || 10);
    } else if (element) {
      element.classList.add("map-unavailable");
      element.textContent = en ? "The map could not be loaded; the list shows every location." :
        "지도를 불러오지 못했습니다. 목록에서 모든 위치를 볼 수 있습니다.";
    }
    if (listBox) drawList(listBox, shown, options, markers);
    return { map, markers };
  }

  function autoRender() {
    // Only containers naming their JSON source ("#id"): other pages use data-map for other things.
    document.querySelectorAll('[data-map^="#"]:not(button):not(a):not(input)').forEach((element) => {
      if (element.dataset.mapReady || element._leaflet_id) return;
      element.dataset.mapReady = "1";
      const source = element.dataset.map ? document.querySelector(element.dataset.map) : null;
      let features = [];
      try { features = source ? JSON.parse(source.textContent) : []; } catch (e) { features = []; }
      const list = element.dataset.mapList === "false" ? false : element.dataset.mapList || undefined;
      element._bsmap = render(element, features, { tileUrl: element.dataset.tileUrl || "", list });
    });
  }

  window.BSMap = { render, autoRender, styles: STYLES };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", autoRender);
  else autoRender();
})();
