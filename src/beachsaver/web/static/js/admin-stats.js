/* Console statistics page:
 * - the bar chart of one figure of the table (the table is its text alternative);
 * - the Excel column picker: at least one column, then the download (GET /api/statistics/export
 *   with the picked columns, in the page's language); without JS the form itself downloads;
 * - links marked data-download (the PDF summary) are fetched the same way, so that the file's
 *   language follows the page and a refusal shows as a message instead of a JSON page.
 */
(function () {
  "use strict";

  // ---- chart ----------------------------------------------------------------------------------
  const data = document.getElementById("stats-data");
  const canvas = document.getElementById("stats-chart");
  const measure = document.getElementById("chart-measure");
  let chart = null;
  function draw() {
    if (!data || !canvas || !window.Chart || !measure) return;
    const figures = JSON.parse(data.textContent);
    const key = measure.value;
    const values = (figures.series[key] || []).map((v) => (v === null ? 0 : v));
    const config = {
      type: "bar",
      data: {
        labels: figures.labels.map((l) => (l === null ? "—" : l)),
        datasets: [{ label: figures.names[key] || key, data: values, backgroundColor: "#0077C8", borderColor: "#005A99", borderWidth: 1 }],
      },
      options: { responsive: true, animation: false, scales: { y: { beginAtZero: true } } },
    };
    if (chart) chart.destroy();
    chart = new window.Chart(canvas, config);
    canvas.dataset.measure = key;
  }
  if (measure) measure.addEventListener("change", draw);
  draw();

  // ---- downloads ------------------------------------------------------------------------------
  function filenameOf(response, fallback) {
    const header = response.headers.get("content-disposition") || "";
    const match = header.match(/filename="?([^";]+)"?/);
    return match ? match[1] : fallback;
  }

  async function download(url, fallbackName) {
    const response = await window.BS.api("GET", url);
    const blob = await response.blob();
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = filenameOf(response, fallbackName);
    document.body.appendChild(link);
    link.click();
    setTimeout(() => { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
  }

  function failed(error) {
    const message = error && error.message ? error.message : String(error);
    window.BS.toast(message, "error");
  }

  const form = document.getElementById("export-form");
  if (form) {
    const error = document.getElementById("export-error");
    const boxes = () => Array.from(form.querySelectorAll('input[name="columns"]'));
    form.addEventListener("click", (event) => {
      const button = event.target.closest("[data-columns]");
      if (!button) return;
      const on = button.dataset.columns === "all";
      boxes().forEach((box) => { box.checked = on; });
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const picked = boxes().filter((box) => box.checked);
      if (!picked.length) {
        error.hidden = false;
        boxes()[0].focus();
        return;
      }
      error.hidden = true;
      const params = new URLSearchParams(new FormData(form));
      const submit = form.querySelector('[type="submit"]');
      submit.disabled = true;
      try {
        await download(form.action + "?" + params.toString(), "statistics.xlsx");
        form.closest("dialog").close();
      } catch (e) {
        failed(e);
      } finally {
        submit.disabled = false;
      }
    });
  }

  document.addEventListener("click", async (event) => {
    const link = event.target.closest("a[data-download]");
    if (!link) return;
    event.preventDefault();
    try {
      await download(link.getAttribute("href"), "report.pdf");
    } catch (e) {
      failed(e);
    }
  });
})();
