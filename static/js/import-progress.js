/* The import page's progress bar (templates/exchange/import_job.html): asks the
   progress endpoint every second and reloads the page once the import has finished.
   Without this file a <noscript> refresh reloads the page instead. Loaded as a file of
   the site (the Content Security Policy allows no inline script). */
(function () {
  "use strict";

  function poll(box) {
    var bar = box.querySelector("progress");
    var rows = box.querySelector("[data-import-rows]");
    var status = document.querySelector("[data-import-status]");
    fetch(box.getAttribute("data-import-progress"), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (progress) {
        if (!progress.running) {
          window.location.reload();
          return;
        }
        bar.value = progress.percent;
        rows.textContent = progress.rows + " row(s) read so far.";
        if (status) { status.textContent = progress.status_label; }
        window.setTimeout(function () { poll(box); }, 1000);
      })
      .catch(function () { window.setTimeout(function () { poll(box); }, 3000); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("[data-import-progress]");
    if (box) { poll(box); }
  });
})();
