/* geomap field app shell: the service-worker hook and the outbox counter (no framework). */
(function () {
  "use strict";
  var root = document.documentElement;
  // the service worker (/field/sw.js) is the offline part's; register it when the page allows
  if (root.getAttribute("data-sw") === "on" && "serviceWorker" in navigator) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/field/sw.js", { scope: "/field/" }).catch(function () {});
    });
  }
  // the outbox counter: any script may call geomapField.setOutbox(n) (0 hides it)
  var badge = document.getElementById("outbox-count");
  function setOutbox(n) {
    if (!badge) return;
    badge.hidden = !(n > 0);
    badge.textContent = n > 0 ? n + " " + (badge.getAttribute("data-label") || "") : "";
  }
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  window.geomapField = { setOutbox: setOutbox, csrfToken: csrfToken, lang: root.getAttribute("lang") || "vi" };
})();
