/* Console reports and depots pages: dialogs (reject with a reason), the reject reason's minimum
 * length and the credit adjustment of a team's cleaning report. Approve,
 * reject, release and resolve are data-api forms sent by api.js. */
(function () {
  "use strict";

  // <button data-open-dialog="id"> opens a modal <dialog>; Esc and [data-close-dialog] close it.
  document.addEventListener("click", (event) => {
    const opener = event.target.closest("[data-open-dialog]");
    if (opener) {
      const dialog = document.getElementById(opener.dataset.openDialog);
      if (dialog && typeof dialog.showModal === "function") {
        dialog.showModal();
        const first = dialog.querySelector("textarea, input:not([type=hidden]), select");
        if (first) first.focus();
      }
      return;
    }
    const closer = event.target.closest("[data-close-dialog]");
    if (closer) {
      const dialog = closer.closest("dialog");
      if (dialog) dialog.close();
    }
  });

  // A link to "#reject" (the list's reject action) opens the reject dialog at once.
  if (window.location.hash === "#reject") {
    const opener = document.querySelector('[data-open-dialog="reject-dialog"]');
    if (opener) opener.click();
  }

  // The reject reason: required, at least data-min characters (G-16); checked before api.js sends it.
  document.querySelectorAll("form[data-min]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      const field = form.querySelector("textarea[name], input[name=reason]");
      form.querySelectorAll(".field-error").forEach((e) => e.remove());
      if (!field) return;
      const min = Number.parseInt(form.dataset.min, 10) || 1;
      if (field.value.trim().length >= min) {
        field.removeAttribute("aria-invalid");
        return;
      }
      event.preventDefault();
      event.stopPropagation();
      const message = document.createElement("p");
      message.className = "field-error";
      message.id = field.id + "-error";
      message.textContent = form.dataset.minMessage || "";
      field.setAttribute("aria-invalid", "true");
      field.setAttribute("aria-describedby", message.id);
      field.insertAdjacentElement("afterend", message);
      field.focus();
    });
  });

  // Credit weights of a team cleaning report → PATCH /api/reports/{id}/credits {weights: {user_id: w}}.
  const credits = document.querySelector("form[data-credits]");
  if (credits) {
    credits.addEventListener("submit", async (event) => {
      event.preventDefault();
      credits.querySelectorAll(".field-error").forEach((e) => e.remove());
      const weights = {};
      credits.querySelectorAll("input[data-user-id]").forEach((input) => {
        input.removeAttribute("aria-invalid");
        weights[input.dataset.userId] = Number(input.value);
      });
      const button = credits.querySelector('[type="submit"]');
      if (button) button.disabled = true;
      try {
        await window.BS.api("PATCH", credits.dataset.credits, { weights });
        window.BS.toast(credits.dataset.message || "OK", "success");
        window.location.reload();
      } catch (error) {
        const details = (error && error.details) || [];
        details.forEach((detail) => {
          const id = String(detail.field || "").split(".").pop();
          const input = credits.querySelector('input[data-user-id="' + CSS.escape(id) + '"]') ||
            credits.querySelector("input[data-user-id]");
          if (!input) return;
          const p = document.createElement("p");
          p.className = "field-error";
          p.textContent = detail.message;
          input.setAttribute("aria-invalid", "true");
          input.insertAdjacentElement("afterend", p);
        });
        window.BS.toast(String((error && error.message) || error), "error");
      } finally {
        if (button) button.disabled = false;
      }
    });
  }
})();
