// Live updates of a command page: the server says "changed" (it LISTENs on the command's
// channel) and the page fetches its moving part again. No polling, no inline script.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.EventSource) { return; }
  var source = null;
  function finished() { return live.getAttribute("data-finished") === "true"; }
  function refresh() {
    fetch(live.getAttribute("data-fragment"), { credentials: "same-origin" })
      .then(function (answer) {
        if (answer.redirected || !answer.ok) { return null; }
        return answer.text();
      })
      .then(function (html) {
        if (html === null) { return; }
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var next = holder.querySelector("#live");
        if (!next) { return; }
        live.replaceWith(next);
        live = next;
        if (finished() && source) { source.close(); }
      });
  }
  if (finished()) { return; }
  source = new EventSource(live.getAttribute("data-events"));
  source.addEventListener("changed", refresh);
  // an event recorded between the page's render and the stream's LISTEN is read here
  source.addEventListener("ready", refresh);
})();
