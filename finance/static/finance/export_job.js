// Follows an export job: polls its status URL and moves the <progress> bar; when the job is
// finished, reloads the page, which then shows the download or the error. Without JavaScript a
// <meta refresh> in <noscript> reloads the page instead.
(function () {
  "use strict";
  var box = document.getElementById("export-job-progress");
  if (!box || !window.fetch) {
    return;
  }
  var bar = box.querySelector("progress");
  var text = box.querySelector(".export-job-text");

  function show(status) {
    if (bar) {
      bar.max = status.rows_total || 1;
      if (status.rows_done) {
        bar.value = status.rows_done;
      } else {
        bar.removeAttribute("value"); // nothing counted yet: a bar that moves without a value
      }
      bar.textContent = status.percent + " %";
    }
    if (text) {
      var total = status.rows_total === null ? "?" : status.rows_total;
      text.textContent = status.status_label.charAt(0).toUpperCase() + status.status_label.slice(1) + ": " +
        (status.rows_done ? status.rows_done + " of " + total + " rows." : total + " rows to write.");
    }
  }

  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (status) {
        show(status);
        if (status.finished) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        window.setTimeout(poll, 5000);
      });
  }

  window.setTimeout(poll, 1000);
})();
