/* geomap field app: the inspector's day. One result form at a time, kept in an IndexedDB outbox with a
   client-made id, sent when the network is there (online event + retry), each applied once by the server.
   No framework; the words come from the page's data block (Vietnamese or English). */
(function () {
  "use strict";
  var MAX_PHOTOS = 5, MAX_SIDE = 1600, QUALITY = 0.8, RETRY_MS = 15000, PARALLEL = 4;
  var dataEl = document.getElementById("field-data");
  if (!dataEl) return;
  var DATA = JSON.parse(dataEl.textContent);
  var S = DATA.strings;
  var shell = window.geomapField || { setOutbox: function () {}, csrfToken: function () { return ""; } };
  var form = document.getElementById("visit-form");
  var notice = document.getElementById("visit-notice");
  var syncing = false, retryTimer = null, openCard = null, lastSaved = null;

  /* --- IndexedDB: outbox (waiting to be sent) and results (what the server answered) --- */
  var dbPromise = null;
  function idb() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var req = indexedDB.open("geomap-field", 1);
        req.onupgradeneeded = function () {
          var db = req.result;
          db.createObjectStore("outbox", { keyPath: "client_id" });
          db.createObjectStore("results", { keyPath: "client_id" });
        };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { reject(req.error); };
      });
    }
    return dbPromise;
  }
  function store(name, mode, work) {
    return idb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(name, mode), req = work(tx.objectStore(name));
        tx.oncomplete = function () { resolve(req ? req.result : undefined); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error); };
      });
    });
  }
  function all(name) { return store(name, "readonly", function (s) { return s.getAll(); }); }
  function put(name, value) { return store(name, "readwrite", function (s) { return s.put(value); }); }
  function remove(name, key) { return store(name, "readwrite", function (s) { return s.delete(key); }); }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16)), h = [];
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    for (var i = 0; i < 16; i++) h.push((b[i] + 256).toString(16).slice(1));
    return h.slice(0, 4).join("") + "-" + h.slice(4, 6).join("") + "-" + h.slice(6, 8).join("") + "-" +
      h.slice(8, 10).join("") + "-" + h.slice(10).join("");
  }

  function say(text) {
    if (!notice) return;
    notice.textContent = text;
    notice.hidden = !text;
  }

  /* --- what the page shows: counter, queued stops, results needing a look --- */
  function refresh() {
    return Promise.all([all("outbox"), all("results")]).then(function (got) {
      var outbox = got[0], results = got[1];
      shell.setOutbox(outbox.length);
      var queued = {};
      outbox.forEach(function (item) { queued[item.payload.establishment_id] = true; });
      var sent = {}, review = {};
      results.forEach(function (r) {
        if (r.status === "applied") sent[r.establishment_id] = true;
        else if (!r.seen) review[r.establishment_id] = true;
      });
      DATA.stops.forEach(function (s) {
        var card = document.getElementById("stop-" + s.n), state = document.getElementById("state-" + s.n);
        if (!card) return;
        card.classList.toggle("queued", !!queued[s.establishment_id]);
        if (queued[s.establishment_id]) state.textContent = "⏳ " + S.pending;
        else if (review[s.establishment_id]) state.textContent = "⚠ " + S.review;
        else if (sent[s.establishment_id]) {
          card.classList.add("done");
          if (!s.recorded || state.textContent.indexOf("⏳") === 0) state.textContent = "✓ " + S.sent;
        } else if (state.textContent.indexOf("⏳") === 0) state.textContent = "";
      });
      var list = document.getElementById("review-list"), section = document.getElementById("review");
      if (!list) return;
      results.forEach(function (r) {
        if (r.status === "applied" || r.seen) return;
        if (list.querySelector('[data-client="' + r.client_id + '"]')) return;
        var li = document.createElement("li");
        li.className = r.status;
        li.setAttribute("data-client", r.client_id);
        li.textContent = (r.name ? r.name + ": " : "") + r.message;
        var ok = document.createElement("button");
        ok.type = "button";
        ok.textContent = S.dismiss;
        ok.addEventListener("click", function () {
          r.seen = true;
          put("results", r).then(function () { li.remove(); });
        });
        li.appendChild(document.createElement("br"));
        li.appendChild(ok);
        list.appendChild(li);
      });
      section.hidden = !list.children.length;
    });
  }

  /* --- sending the outbox --- */
  function expired() {
    var box = document.getElementById("session-expired");
    if (!box) return;
    box.querySelector("span").textContent = S.expired;
    box.querySelector("a").textContent = S.signin;
    box.hidden = false;
  }

  function later() {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(sync, RETRY_MS);
  }

  function send(item, token) {
    var body = new FormData();
    var payload = Object.assign({}, item.payload, { sent_at: new Date().toISOString() });
    body.append("payload", JSON.stringify(payload));
    (item.photos || []).forEach(function (p) { body.append("photos", p.blob, p.name); });
    return fetch("/field/visits", {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRF-Token": token, "Accept": "application/json" }
    }).then(function (response) {
      if (response.status === 401) return "expired";
      if (response.status === 403) return "token";
      if (response.status !== 200 && response.status !== 422) return "retry";
      return response.json().then(function (answer) {
        answer.name = item.name;
        answer.establishment_id = item.payload.establishment_id;
        if (item.client_id === lastSaved) say(answer.message);
        return put("results", answer).then(function () { return remove("outbox", item.client_id); })
          .then(function () { return "done"; });
      });
    });
  }

  // send the outbox PARALLEL at a time, oldest first, never two results of one establishment at once
  // (they arrive in the order they were made); stops at the first answer that is not "done"
  function drain(items, token) {
    return new Promise(function (resolve) {
      var busy = {}, running = 0, stopped = null;
      function next() {
        if (stopped && running === 0) return resolve(stopped);
        if (!items.length && running === 0) return resolve("done");
        while (!stopped && running < PARALLEL) {
          var k = -1;
          for (var i = 0; i < items.length; i++) {
            if (!busy[items[i].payload.establishment_id]) { k = i; break; }
          }
          if (k < 0) break;
          start(items.splice(k, 1)[0]);
        }
      }
      function start(item) {
        var key = item.payload.establishment_id;
        busy[key] = true;
        running++;
        send(item, token).then(function (state) { return state; }, function () { return "retry"; })
          .then(function (state) {
            running--;
            busy[key] = false;
            if (state !== "done" && !stopped) stopped = state;
            next();
          });
      }
      next();
    });
  }

  function sync() {
    if (syncing) return Promise.resolve();
    syncing = true;
    return all("outbox").then(function (items) {
      if (!items.length) return null;
      items.sort(function (a, b) { return a.created - b.created; });
      return fetch("/field/visits/token", { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          if (response.status === 401) return "expired";
          if (!response.ok) return "retry";
          return response.json().then(function (t) {
            var box = document.getElementById("session-expired");
            if (box) box.hidden = true;
            return drain(items, t.csrf_token);
          });
        });
    }).then(function (state) {
      if (state === "expired") expired();
      else if (state && state !== "done") later();
    }, function () { later(); }).then(function () {
      syncing = false;
      return refresh();
    });
  }

  /* --- the phone's position and photos at the moment of saving --- */
  function position() {
    return new Promise(function (resolve) {
      if (!navigator.geolocation) return resolve({ position: null, error: "unavailable" });
      navigator.geolocation.getCurrentPosition(function (p) {
        resolve({ position: { lat: p.coords.latitude, lon: p.coords.longitude, accuracy: p.coords.accuracy },
                  error: null });
      }, function (err) {
        resolve({ position: null, error: err && err.code === 1 ? "denied" : "unavailable" });
      }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 30000 });
    });
  }

  function shrink(file) {
    return new Promise(function (resolve) {
      var url = URL.createObjectURL(file), img = new Image();
      img.onload = function () {
        var k = Math.min(1, MAX_SIDE / Math.max(img.naturalWidth, img.naturalHeight));
        var canvas = document.createElement("canvas");
        canvas.width = Math.max(1, Math.round(img.naturalWidth * k));
        canvas.height = Math.max(1, Math.round(img.naturalHeight * k));
        canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
        URL.revokeObjectURL(url);
        canvas.toBlob(function (blob) {
          resolve(blob ? { name: file.name.replace(/\.[^.]*$/, "") + ".jpg", blob: blob } : { name: file.name, blob: file });
        }, "image/jpeg", QUALITY);
      };
      // not something the browser can draw: sent as it is, the server says what is wrong with it
      img.onerror = function () { URL.revokeObjectURL(url); resolve({ name: file.name, blob: file }); };
      img.src = url;
    });
  }

  /* --- one form at a time --- */
  function stopOf(n) {
    for (var i = 0; i < DATA.stops.length; i++) if (DATA.stops[i].n === n) return DATA.stops[i];
    return null;
  }

  function fail(text) {
    var box = document.getElementById("visit-error");
    box.textContent = text;
    box.hidden = !text;
  }

  function open(n) {
    var s = stopOf(n), card = document.getElementById("stop-" + n);
    if (!s || !card) return;
    if (openCard) openCard.classList.remove("open");
    form.reset();
    fail("");
    say("");
    form.elements.establishment_id.value = s.establishment_id;
    form.elements.version.value = s.version;
    form.elements.n.value = n;
    card.querySelector(".slot").appendChild(form);
    card.classList.add("open");
    openCard = card;
    form.hidden = false;
    toggleViolations();
    card.scrollIntoView({ block: "start" });
  }

  function close() {
    if (openCard && document.getElementById("stops").children.length > 1) {
      openCard.classList.remove("open");
      form.hidden = true;
      openCard = null;
    }
  }

  function toggleViolations() {
    var checked = form.querySelector('input[name="result"]:checked');
    document.getElementById("violations").hidden = !(checked && checked.value === "violation");
  }

  function save(event) {
    event.preventDefault();
    fail("");
    var checked = form.querySelector('input[name="result"]:checked');
    if (!checked) return fail(S.choose_result);
    var result = checked.value, violations = [];
    if (result === "violation") {
      form.querySelectorAll('input[name="v"]:checked').forEach(function (box) {
        var sev = form.querySelector('input[name="sev-' + box.value + '"]:checked');
        violations.push({ code: box.value, severity: sev ? parseInt(sev.value, 10) : null });
      });
      if (!violations.length) return fail(S.choose_violation);
    }
    var files = Array.prototype.slice.call(form.elements.photos.files || []);
    if (files.length > MAX_PHOTOS) return fail(S.too_many_photos);
    var n = parseInt(form.elements.n.value, 10), s = stopOf(n);
    var button = document.getElementById("visit-save");
    button.disabled = true;
    document.getElementById("visit-position").textContent = S.locating;
    var phoneTime = new Date().toISOString();
    Promise.all([position(), Promise.all(files.map(shrink))]).then(function (got) {
      var pos = got[0], id = uuid();
      var item = {
        client_id: id, created: Date.now(), name: s ? s.name : "", n: n, photos: got[1],
        payload: {
          client_id: id, establishment_id: parseInt(form.elements.establishment_id.value, 10), day: DATA.day,
          version: parseInt(form.elements.version.value, 10), result: result, kind: form.elements.kind.value,
          violations: violations, note: form.elements.note.value || null, position: pos.position,
          position_error: pos.error, phone_time: phoneTime
        }
      };
      document.getElementById("visit-position").textContent = pos.position
        ? S.accuracy.replace("{m}", Math.round(pos.position.accuracy)) : S.no_position;
      lastSaved = id;
      return put("outbox", item);
    }).then(function () {
      button.disabled = false;
      say(S.queued);
      close();
      return refresh().then(sync);
    }, function (err) {
      button.disabled = false;
      fail(String(err && err.message || err));
    });
  }

  if (form) {
    form.addEventListener("submit", save);
    form.addEventListener("change", function (e) { if (e.target.name === "result") toggleViolations(); });
    document.getElementById("visit-close").addEventListener("click", close);
    var single = document.getElementById("stops").children.length === 1 && !form.hidden;
    if (single) {
      openCard = document.getElementById("stops").children[0];
      toggleViolations();
    }
    document.querySelectorAll(".stop-head").forEach(function (head) {
      head.addEventListener("click", function (e) {
        if (single) return;
        e.preventDefault();
        var n = parseInt(head.getAttribute("data-n"), 10);
        if (openCard && openCard.id === "stop-" + n) close(); else open(n);
      });
    });
  }

  window.addEventListener("online", function () { sync(); });
  // the service worker refreshed this page behind the cached copy: signed out means say so now
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.addEventListener("message", function (event) {
      var d = event.data || {};
      if (!d.refreshed) return;
      window.geomapVisits.refreshed = d;
      if (d.signedOut) expired();
    });
  }
  // keep this page for offline use (the service worker keeps it fresh after this first time)
  if ("serviceWorker" in navigator && navigator.onLine) {
    navigator.serviceWorker.ready.then(function (reg) {
      if (reg.active) reg.active.postMessage({ keep: location.pathname + location.search });
    }).catch(function () {});
  }
  window.geomapVisits = { sync: sync, refresh: refresh, outbox: function () { return all("outbox"); } };
  // the stops can be tapped from here on (measured by bench/bench_field.py from the navigation's start)
  if (window.performance && performance.mark) performance.mark("field-ready");
  refresh().then(sync);
})();
