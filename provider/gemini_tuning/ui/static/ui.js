// Gemini Tuning plugin: refresh a running job's status in place (no page reload).
// The server renders the fragment (escaped HTML); this only swaps it in while the job runs.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live) return;
  var src = live.getAttribute("data-src");
  var seconds = Math.max(2, parseFloat(live.getAttribute("data-interval")) || 30);

  function finished() {
    var section = live.querySelector("section.live");
    return !section || section.getAttribute("data-final") === "true";
  }

  function refresh() {
    if (finished()) return;
    fetch(src, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        live.innerHTML = html;
        live.removeAttribute("data-refresh-error");
      })
      .catch(function (error) {
        live.setAttribute("data-refresh-error", String(error));
      })
      .then(function () {
        if (!finished()) window.setTimeout(refresh, seconds * 1000);
      });
  }

  window.setTimeout(refresh, seconds * 1000);
})();
