/* Console helpers of the jobs, notifications and statistics pages (see docs/clients.md):
 * - [data-open-dialog="id"] opens <dialog id>; [data-close-dialog] closes its dialog (Esc too,
 *   natively); focus returns to the opener.
 * - checkboxes [data-collect="name"] fill the hidden <input name="name" data-type="json"> of their
 *   form with the JSON array of the checked values (numbers when they are digits), or leave it
 *   empty when none is checked (api.js then leaves the field out: the API's default applies).
 * - <form data-confirm-dialog="id">: the first submit opens the confirmation <dialog id> instead;
 *   its [data-confirm-submit] button sends the form for real (through api.js).
 */
(function () {
  "use strict";
  const openers = new WeakMap();

  function open(dialog, opener) {
    if (!dialog || dialog.open) return;
    openers.set(dialog, opener || document.activeElement);
    dialog.showModal();
    const first = dialog.querySelector("[autofocus], input:not([type=hidden]), select, textarea, button");
    if (first) first.focus();
  }

  function close(dialog) {
    if (dialog && dialog.open) dialog.close();
  }

  document.addEventListener("close", (event) => {
    const dialog = event.target;
    if (!(dialog instanceof HTMLDialogElement)) return;
    const opener = openers.get(dialog);
    if (opener && typeof opener.focus === "function") opener.focus();
  }, true);

  document.addEventListener("click", (event) => {
    const opener = event.target.closest("[data-open-dialog]");
    if (opener) {
      event.preventDefault();
      open(document.getElementById(opener.dataset.openDialog), opener);
      return;
    }
    const closer = event.target.closest("[data-close-dialog]");
    if (closer) {
      event.preventDefault();
      close(closer.closest("dialog"));
    }
  });

  function collect(form, name) {
    const target = form.querySelector('input[type="hidden"][name="' + CSS.escape(name) + '"]');
    if (!target) return;
    const values = Array.from(form.querySelectorAll('[data-collect="' + CSS.escape(name) + '"]'))
      .filter((box) => box.checked)
      .map((box) => (/^\d+$/.test(box.value) ? Number(box.value) : box.value));
    target.value = values.length ? JSON.stringify(values) : "";
  }

  function collectAll(form) {
    const names = new Set(Array.from(form.querySelectorAll("[data-collect]")).map((box) => box.dataset.collect));
    names.forEach((name) => collect(form, name));
  }

  document.addEventListener("change", (event) => {
    const box = event.target.closest("[data-collect]");
    if (box && box.form) collect(box.form, box.dataset.collect);
  });
  document.querySelectorAll("form").forEach((form) => { if (form.querySelector("[data-collect]")) collectAll(form); });

  // Confirmation dialogs: runs before api.js (which listens on the document).
  document.querySelectorAll("form[data-confirm-dialog]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      collectAll(form);
      if (form.dataset.confirmed === "yes") { delete form.dataset.confirmed; return; }
      event.preventDefault();
      event.stopPropagation();
      const dialog = document.getElementById(form.dataset.confirmDialog);
      document.dispatchEvent(new CustomEvent("bs:confirm-open", { detail: { form, dialog } }));
      open(dialog, event.submitter || document.activeElement);
    });
  });
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-confirm-submit]");
    if (!button) return;
    const dialog = button.closest("dialog");
    const form = document.getElementById(button.dataset.confirmSubmit);
    if (!form) return;
    form.dataset.confirmed = "yes";
    close(dialog);
    form.requestSubmit();
  });

  window.BSDialogs = { open, close, collectAll };
})();
