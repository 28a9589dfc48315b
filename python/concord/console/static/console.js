// Live updates of a command page: the server says "changed" (it LISTENs on the command's
// channel) and the page fetches its moving part again. No polling, no inline script.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.EventSource) { return; }
  var source = null;
  var signedOut = false;
  function finished() { return live.getAttribute("data-finished") === "true"; }
  function refresh() {
    fetch(live.getAttribute("data-fragment"), { credentials: "same-origin" })
      .then(function (answer) {
        if (answer.redirected) {
          // the session ended (sign-out, a revoked token, the server restarted)
          signedOut = true;
          if (source) { source.close(); }
          return null;
        }
        if (!answer.ok) { return null; }
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
  function follow() {
    if (finished() || signedOut) { return; }
    source = new EventSource(live.getAttribute("data-events"));
    source.addEventListener("changed", refresh);
    // an event recorded between the page's render and the stream's LISTEN is read here
    source.addEventListener("ready", refresh);
    source.addEventListener("error", function () {
      // an answer that is no stream (503 while the console cannot listen to the database,
      // a restarted server) closes an EventSource for good: follow again a little later
      if (source.readyState === EventSource.CLOSED) {
        source = null;
        window.setTimeout(function () { refresh(); follow(); }, 3000);
      }
    });
  }
  follow();
})();
