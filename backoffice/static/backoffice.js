// BackOffice: small enhancements only — dialogs, the Manuell export progress bar, BAS suggestions
// and "Lägg till konto". Every page works as plain forms without this file, except opening dialogs.
"use strict";

(function () {
  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function postJSON(url, body) {
    return fetch(url, {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" },
      body: body,
      credentials: "same-origin",
    });
  }

  // The page's menu behind a button on narrow screens (CSS shows the button only with this file).
  document.documentElement.classList.add("js");

  // Where focus goes back to when a dialog or a menu closes: the button that opened it (a button
  // inside the three-dot menu is hidden once the menu closes, so its menu's own button).
  function visibleOpener(element) {
    const menu = element && element.closest("details");
    return menu && !menu.open ? menu.querySelector("summary") : element;
  }

  function closeMenus(except) {
    document.querySelectorAll("details.kebab[open]").forEach(function (menu) {
      if (menu !== except) menu.open = false;
    });
  }

  // Esc: closes the three-dot menu or the page's menu and gives focus back to its button.
  // (An open modal dialog closes on Esc by itself; its "close" handler below returns the focus.)
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || document.querySelector("dialog[open]")) return;
    const menu = document.querySelector("details.kebab[open]");
    if (menu) {
      menu.open = false;
      menu.querySelector("summary").focus();
      event.preventDefault();
      return;
    }
    const bar = document.querySelector(".topbar.open");
    if (bar) {
      bar.classList.remove("open");
      const toggle = bar.querySelector("[data-menu-toggle]");
      toggle.setAttribute("aria-expanded", "false");
      toggle.focus();
      event.preventDefault();
    }
  });

  document.addEventListener("close", function (event) {
    const dialog = event.target;
    if (!(dialog instanceof HTMLDialogElement) || !dialog.returnFocusTo) return;
    const opener = visibleOpener(dialog.returnFocusTo);
    dialog.returnFocusTo = null;
    if (opener && document.contains(opener)) opener.focus();
  }, true);

  // Dialogs: <button data-open-dialog="id">, <button data-close-dialog>.
  document.addEventListener("click", function (event) {
    const toggle = event.target.closest("[data-menu-toggle]");
    if (toggle) {
      const bar = toggle.closest(".topbar");
      const open = bar.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      return;
    }
    closeMenus(event.target.closest("details.kebab"));
    const opener = event.target.closest("[data-open-dialog]");
    if (opener) {
      const dialog = document.getElementById(opener.dataset.openDialog);
      if (dialog) {
        const menu = opener.closest("details");
        if (menu) menu.open = false;
        if (opener.dataset.target) dialog.dataset.target = opener.dataset.target;
        dialog.returnFocusTo = opener;
        dialog.showModal();
        event.preventDefault();
      }
      return;
    }
    const closer = event.target.closest("[data-close-dialog]");
    if (closer) {
      const dialog = closer.closest("dialog");
      if (dialog) dialog.close();
      if (closer.dataset.reload !== undefined) window.location.reload();
      event.preventDefault();
      return;
    }
    const suggest = event.target.closest("[data-suggest]");
    if (suggest) {
      const input = document.getElementById(suggest.dataset.target);
      if (input) {
        input.value = suggest.dataset.suggest;
        input.dispatchEvent(new Event("input", { bubbles: true }));
        input.focus();
      }
      event.preventDefault();
    }
  });

  // Manuell export: Bekräfta posts with fetch, then the progress bar polls until the run is done.
  function pollProgress(dialog, url) {
    const bar = dialog.querySelector("progress");
    const text = dialog.querySelector("[data-progress-text]");
    const close = dialog.querySelector("[data-progress-close]");
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (progress) {
        bar.max = Math.max(progress.total, 1);
        bar.value = progress.total === 0 ? 1 : progress.total - progress.pending;
        bar.setAttribute("aria-valuenow", String(progress.percent));
        text.textContent = progress.text;
        if (progress.done) {
          dialog.dataset.state = "done";
          close.hidden = false;
          close.focus();
        } else {
          window.setTimeout(function () { pollProgress(dialog, url); }, 500);
        }
      })
      .catch(function () { window.setTimeout(function () { pollProgress(dialog, url); }, 2000); });
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.matches("form[data-manual-export]")) {
      event.preventDefault();
      const dialog = form.closest("dialog");
      postJSON(form.action, new FormData(form))
        .then(function (response) { return response.json().then(function (data) { return [response, data]; }); })
        .then(function ([response, data]) {
          if (!response.ok) {
            dialog.querySelector("[data-error]").textContent = data.error || "Exporten kunde inte startas.";
            return;
          }
          dialog.querySelector("[data-confirm]").hidden = true;
          dialog.querySelector("[data-progress]").hidden = false;
          dialog.dataset.state = "running";
          pollProgress(dialog, data.progress_url);
        });
      return;
    }
    if (form.matches("form[data-add-account]")) {
      event.preventDefault();
      const dialog = form.closest("dialog");
      const errors = dialog.querySelector("[data-error]");
      postJSON(form.action, new FormData(form))
        .then(function (response) { return response.json().then(function (data) { return [response, data]; }); })
        .then(function ([response, data]) {
          if (!response.ok) {
            errors.textContent = (data.errors || ["Kontot kunde inte skapas."]).join(" ");
            return;
          }
          errors.textContent = "";
          const list = document.getElementById("fortnox-accounts");
          if (list) {
            const option = document.createElement("option");
            option.value = String(data.number);
            option.textContent = data.number + " – " + data.description;
            list.appendChild(option);
          }
          const input = document.getElementById(dialog.dataset.target || "");
          if (input) {
            input.value = String(data.number);
            input.dispatchEvent(new Event("input", { bubbles: true }));
          }
          form.reset();
          if (input) dialog.returnFocusTo = input;  // the field that got the new account, not the button
          dialog.close();
        });
    }
  });

  // The chosen account's name beside its field, from the list of Fortnox accounts.
  document.addEventListener("input", function (event) {
    const input = event.target;
    if (!input.matches("input[list='fortnox-accounts']")) return;
    const name = document.querySelector('[data-name-for="' + input.id + '"]');
    if (!name) return;
    const number = (input.value.match(/^\s*(\d{4})/) || [])[1];
    const option = number && document.querySelector('#fortnox-accounts option[value="' + number + '"]');
    name.textContent = option ? option.textContent.replace(/^\d{4}\s*–\s*/, "") : "";
  });

  document.addEventListener("DOMContentLoaded", function () {
    // Back from a Manuell export started without JavaScript (?run=…): show its progress.
    const running = document.querySelector("dialog[data-run]");
    if (running) {
      running.querySelector("[data-confirm]").hidden = true;
      running.querySelector("[data-progress]").hidden = false;
      running.showModal();
      pollProgress(running, running.dataset.run);
    }
    // A deep link's field ("Åtgärda detta"): bring it into view.
    const highlighted = document.querySelector(".account-row.highlight");
    if (highlighted) highlighted.scrollIntoView({ block: "center" });
  });
})();

// Avstämning: "Läs från Fortnox" posts with fetch, then the progress bar polls until the run ends
// and the page is shown again with the new result.
(function () {
  "use strict";
  function poll(box, url) {
    const bar = box.querySelector("progress");
    const text = box.querySelector("[data-progress-text]");
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (run) {
        bar.value = run.percent;
        bar.setAttribute("aria-valuenow", String(run.percent));
        text.textContent = run.text;
        if (run.done) {
          box.dataset.state = run.state;
          window.setTimeout(function () { window.location.reload(); }, 300);
        } else {
          window.setTimeout(function () { poll(box, url); }, 500);
        }
      })
      .catch(function () { window.setTimeout(function () { poll(box, url); }, 2000); });
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.matches("form[data-reconcile]")) return;
    event.preventDefault();
    const box = document.querySelector("[data-reconcile-progress]");
    const token = document.querySelector('meta[name="csrf-token"]');
    form.querySelector("button").disabled = true;
    fetch(form.action, {
      method: "POST",
      headers: { "X-CSRFToken": token ? token.content : "", "Accept": "application/json" },
      body: new FormData(form),
      credentials: "same-origin",
    })
      .then(function (response) { return response.json().then(function (data) { return [response, data]; }); })
      .then(function ([response, data]) {
        box.hidden = false;
        if (!response.ok) {
          box.querySelector("[data-progress-text]").textContent = data.error;
          box.dataset.state = "refused";
          form.querySelector("button").disabled = false;
          return;
        }
        poll(box, data.progress_url);
      });
  });

  document.addEventListener("DOMContentLoaded", function () {
    const box = document.querySelector("[data-reconcile-progress][data-url]");
    if (box) poll(box, box.dataset.url);
  });
})();
