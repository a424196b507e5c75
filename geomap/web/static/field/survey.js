/* survey mode: the phone's position for the worklist and "pin here" (no framework, no inline script).
   Without this script every form still works: lon/lat/accuracy are ordinary inputs. */
(function () {
  "use strict";
  var LIMIT = 30;
  function locate(ok, fail) {
    if (!navigator.geolocation) { fail(); return; }
    navigator.geolocation.getCurrentPosition(ok, fail, { enableHighAccuracy: true, timeout: 20000, maximumAge: 10000 });
  }
  function round(v, n) { return Number(v).toFixed(n); }

  // the worklist: sort from where the phone is (reload once with lon/lat/acc in the address)
  var where = document.getElementById("survey-where");
  if (where) {
    var refresh = document.getElementById("survey-refresh");
    var note = document.getElementById("survey-position-note");
    var go = function () {
      if (note) note.textContent = where.getAttribute("data-locating");
      locate(function (p) {
        var q = new URLSearchParams(window.location.search);
        q.set("lon", round(p.coords.longitude, 6)); q.set("lat", round(p.coords.latitude, 6));
        q.set("acc", round(p.coords.accuracy, 0)); q.delete("page");
        window.location.replace(window.location.pathname + "?" + q.toString());
      }, function () { if (note) note.textContent = where.getAttribute("data-denied"); });
    };
    if (refresh && navigator.geolocation) { refresh.hidden = false; refresh.addEventListener("click", go); }
    if (where.getAttribute("data-has-position") === "no" && navigator.geolocation) go();
  }

  // the forms: fill lon/lat/accuracy, show the accuracy, ask for a confirmation when worse than 30 m
  var box = document.getElementById("survey-position");
  if (box) {
    var lat = document.getElementById("lat"), lon = document.getElementById("lon"),
        acc = document.getElementById("accuracy"), status = document.getElementById("position-status"),
        confirmRow = document.getElementById("confirm-row"), button = document.getElementById("get-position"),
        pin = document.getElementById("pin");
    LIMIT = Number(box.getAttribute("data-limit")) || LIMIT;
    var show = function () {
      var a = parseFloat(acc.value);
      if (!lat.value || !lon.value) { status.textContent = ""; if (confirmRow) confirmRow.hidden = true; return; }
      var weak = isNaN(a) || a > LIMIT;
      status.textContent = round(lat.value, 6) + ", " + round(lon.value, 6) +
        (isNaN(a) ? "" : " · ±" + round(a, 0) + " m") + (weak ? " — " + box.getAttribute("data-weak") : "");
      status.className = weak ? "hint weak" : "hint";
      if (confirmRow) confirmRow.hidden = !weak;
    };
    var get = function () {
      status.textContent = box.getAttribute("data-locating");
      locate(function (p) {
        lat.value = round(p.coords.latitude, 7); lon.value = round(p.coords.longitude, 7);
        acc.value = round(p.coords.accuracy, 1);
        if (pin) pin.checked = true;
        show();
      }, function () { status.textContent = box.getAttribute("data-denied"); if (pin) pin.checked = false; });
    };
    [lat, lon, acc].forEach(function (el) { el.addEventListener("change", show); });
    if (navigator.geolocation) { button.hidden = false; button.addEventListener("click", get); get(); } else { show(); }
  }
})();
