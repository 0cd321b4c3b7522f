// Omnifin's service worker: the app shell only, so the app opens (and can be installed) on a
// phone. It never caches what the server answers about a person: /api, /v1, /admin and anything
// else that is not the shell pass straight to the network, untouched.
//
// - Pages (navigations): the network first, so a deploy shows at once; the cached shell
//   (index.html) only when the network is unreachable.
// - /assets/*: Vite names them after their content, so a cached copy is never stale.
// - The manifest and icons: cached at install.

const CACHE = "omnifin-shell-v1";
const SHELL = ["/index.html", "/manifest.webmanifest", "/favicon.svg", "/icon-192.png", "/icon-512.png"];
const MAX_ASSETS = 80;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((path) => new Request(path, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

function isShell(url) {
  return url.pathname.startsWith("/assets/") || SHELL.includes(url.pathname);
}

async function fromCacheOrNetwork(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && response.type === "basic") {
    await cache.put(request, response.clone());
    const keys = await cache.keys();
    const assets = keys.filter((key) => new URL(key.url).pathname.startsWith("/assets/"));
    for (const old of assets.slice(0, Math.max(0, assets.length - MAX_ASSETS))) await cache.delete(old);
  }
  return response;
}

async function pageOrShell(request) {
  try {
    return await fetch(request);
  } catch (error) {
    const shell = await caches.match("/index.html", { cacheName: CACHE });
    if (shell) return shell;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    // The server's own pages (back office, API docs) are never the app's shell.
    if (/^\/(api|v1|admin|docs|redoc)(\/|$)/.test(url.pathname)) return;
    event.respondWith(pageOrShell(request));
    return;
  }
  if (isShell(url)) event.respondWith(fromCacheOrNetwork(request));
});
