/* The app's service worker: keeps the app shell on the phone so the app opens with no network.

   It caches only the shell (the page, its scripts, styles and icons), in a cache named after
   the version; it never touches the visits waiting on the phone: those live in IndexedDB,
   which a new worker does not delete, so an update loses nothing (enketo#986 lost cached
   forms when its worker changed). API calls are never answered from a cache.
*/
"use strict";

const VERSION = "{{ version }}";
const CACHE = "fieldapp-" + VERSION;
const PRECACHE = {{ precache|safe }};
const PAGE = PRECACHE[0];

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // `no-cache`: every file checked with the server, never a stale copy from the HTTP
      // cache, yet a file the page has just loaded comes back as a 304 rather than again
      // (on a first install that halves the bytes). All or nothing: a failed download
      // leaves the running version in place.
      await cache.addAll(PRECACHE.map((url) => new Request(url, { cache: "no-cache" })));
      // The new shell is complete: take over at once. The running page keeps its modules
      // (all loaded at start) and is told, through `controllerchange`, to reload when idle.
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("fieldapp-") && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  if (request.mode === "navigate" && url.pathname === PAGE) {
    // The shell first: the app opens at once, offline or on a weak signal; a new version
    // arrives through the worker's own update.
    event.respondWith(fromCache(PAGE, request));
    return;
  }
  if (PRECACHE.includes(url.pathname)) event.respondWith(fromCache(url.pathname, request));
});

async function fromCache(key, request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(key);
  return hit || fetch(request);
}

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "version" && event.ports[0]) {
    event.ports[0].postMessage({ version: VERSION });
  }
});
