/* Console notifications page: the broadcast's confirmation summary and its result. */
(function () {
  "use strict";
  const form = document.getElementById("broadcast-form");
  const dialog = document.getElementById("broadcast-dialog");
  if (!form || !dialog) return;

  function chosen(name) {
    return Array.from(form.querySelectorAll('[data-collect="' + name + '"]'))
      .filter((box) => box.checked)
      .map((box) => box.dataset.label || box.value);
  }

  document.addEventListener("bs:confirm-open", (event) => {
    if (event.detail.form !== form) return;
    dialog.querySelector('[data-summary="title"]').textContent = form.elements.title.value;
    ["roles", "org_ids", "channels"].forEach((name) => {
      const cell = dialog.querySelector('[data-summary="' + name + '"]');
      const labels = chosen(name);
      cell.textContent = labels.length ? labels.join(", ") : cell.dataset.none;
    });
  });

  document.addEventListener("bs:api-success", (event) => {
    if (event.detail.form !== form) return;
    const data = (event.detail.result && event.detail.result.data) || {};
    const template = document.getElementById("broadcast-sent").content.textContent;
    document.getElementById("broadcast-result").textContent = template.replace("{n}", String(data.recipients));
    form.reset();
    window.BSDialogs.collectAll(form);
  });
})();
