/* geomap field app service worker (scope /field/): the day's pages and assets work with no network.
   Pages: answered from the cache at once when held, refreshed from the network a moment later
   (stale-while-revalidate, after the page has drawn), so a reopen is instant online and works offline.
   Assets: from the cache; the server names the cache after a hash of the assets (/field/sw.js), so a
   changed asset is a new worker that fetches them anew. Sign-in, sign-out and the visits API always
   go to the network (the outbox in IndexedDB keeps what could not be sent). */
"use strict";
var CACHE = "geomap-field-v1";  // replaced by "geomap-field-<hash of the assets>" when served
var REVALIDATE_AFTER_MS = 1000;
var SHELL = ["/field/static/field.css", "/field/static/field.js", "/field/static/visit.css",
             "/field/static/visit.js", "/field/static/icon.svg", "/field/manifest.webmanifest"];

self.addEventListener("install", function (event) {
  self.skipWaiting();
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(SHELL.map(function (url) { return cache.add(url).catch(function () {}); }));
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf("geomap-field-") === 0 && k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function cacheable(url) {
  if (url.origin !== self.location.origin) return false;
  var p = url.pathname;
  return p === "/field/" || p === "/field/today" || p.indexOf("/field/stop/") === 0 ||
         p.indexOf("/field/static/") === 0 || p === "/field/manifest.webmanifest";
}

function isPage(url) {
  return url.pathname === "/field/" || url.pathname === "/field/today" || url.pathname.indexOf("/field/stop/") === 0;
}

// a page asks to be kept (its first open happened before this worker was there)
self.addEventListener("message", function (event) {
  var url = event.data && event.data.keep;
  if (typeof url !== "string" || url.charAt(0) !== "/" || !cacheable(new URL(url, self.location.origin))) return;
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.match(url).then(function (hit) { return hit || refresh(new Request(url), cache); });
  }).catch(function () {}));
});

function refresh(request, cache) {
  return fetch(request).then(function (response) {
    // a redirect (to sign in) or an error page is never kept in place of the day's page
    if (response.ok && !response.redirected && response.type === "basic") cache.put(request, response.clone());
    return response;
  });
}

// tell the open pages what a background refresh of a page found (signed out: the page says so at once)
function told(url, response) {
  // a page's request keeps its redirects to itself (an opaque redirect); the only redirect of a page is to sign in
  var signedOut = !!(response && (response.type === "opaqueredirect" ||
    (response.redirected && new URL(response.url).pathname === "/field/signin")));
  return self.clients.matchAll({ type: "window" }).then(function (clients) {
    clients.forEach(function (c) { c.postMessage({ refreshed: url.pathname, signedOut: signedOut }); });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (!cacheable(url)) return;
  event.respondWith(caches.open(CACHE).then(function (cache) {
    return cache.match(request).then(function (hit) {
      if (hit) {
        if (isPage(url)) {
          event.waitUntil(new Promise(function (done) { setTimeout(done, REVALIDATE_AFTER_MS); })
            .then(function () { return refresh(request, cache); })
            .then(function (response) { return told(url, response); }, function () { return told(url, null); }));
        }
        return hit;
      }
      return refresh(request, cache).catch(function () {
        return new Response("<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>" +
          "<p>Không có mạng và trang này chưa được lưu trên điện thoại. / Offline, and this page is not saved " +
          "on the phone.</p><p><a href='/field/today'>Hôm nay / Today</a></p>",
          {status: 503, headers: {"Content-Type": "text/html; charset=utf-8"}});
      });
    });
  }));
});
