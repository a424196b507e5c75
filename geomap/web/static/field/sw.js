/* geomap field app service worker (scope /field/): the day's pages and assets work with no network.
   Pages and assets: answered from the cache at once when held, refreshed from the network behind
   (stale-while-revalidate), so a reopen is instant online and works offline. Sign-in, sign-out and
   the visits API always go to the network (the outbox in IndexedDB keeps what could not be sent). */
"use strict";
var CACHE = "geomap-field-v1";
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

function refresh(request, cache) {
  return fetch(request).then(function (response) {
    // a redirect (to sign in) or an error page is never kept in place of the day's page
    if (response.ok && !response.redirected && response.type === "basic") cache.put(request, response.clone());
    return response;
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (!cacheable(url)) return;
  event.respondWith(caches.open(CACHE).then(function (cache) {
    return cache.match(request).then(function (hit) {
      var fresh = refresh(request, cache);
      if (hit) {
        event.waitUntil(fresh.catch(function () {}));
        return hit;
      }
      return fresh.catch(function () {
        return new Response("<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>" +
          "<p>Không có mạng và trang này chưa được lưu trên điện thoại. / Offline, and this page is not saved " +
          "on the phone.</p><p><a href='/field/today'>Hôm nay / Today</a></p>",
          {status: 503, headers: {"Content-Type": "text/html; charset=utf-8"}});
      });
    });
  }));
});
