/* Console page scripts: the dashboard chart (reports by type and status). */
(function () {
  "use strict";
  const data = document.getElementById("dashboard-data");
  const canvas = document.getElementById("reports-chart");
  if (data && canvas && window.Chart) {
    const figures = JSON.parse(data.textContent);
    const statuses = ["DRAFT", "SUBMITTED", "APPROVED", "REJECTED"];
    const colours = ["#6B7684", "#0077C8", "#196F3D", "#C0392B"];
    const header = Array.from(document.querySelectorAll("#reports-title ~ table thead th")).slice(1).map((th) => th.textContent);
    const rows = Array.from(document.querySelectorAll("#reports-title ~ table tbody th")).map((th) => th.textContent);
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: rows,
        datasets: statuses.map((s, i) => ({ label: header[i] || s, backgroundColor: colours[i],
          data: Object.keys(figures).map((t) => (figures[t] || {})[s] || 0) })),
      },
      options: { responsive: true, animation: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
    });
  }
})();
