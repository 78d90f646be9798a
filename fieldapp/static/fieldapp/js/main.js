// The app: start-up, the state every screen reads, the router, and when to sync.

import { ApiError } from "./api.js";
import { outboxList } from "./outbox.js";
import { loginScreen } from "./screens/login.js";
import { homeScreen } from "./screens/home.js";
import { outboxScreen } from "./screens/outbox.js";
import { placeScreen } from "./screens/place.js";
import { visitScreen } from "./screens/visit.js";
import { visitsScreen } from "./screens/visits.js";
import { getSession, markExpired, tokenUsable } from "./session.js";
import { loadSnapshot, refreshSnapshot } from "./snapshot.js";
import { spaceStatus } from "./storage.js";
import { onSync, requestSync, status } from "./sync.js";
import { banner, h, show, toast } from "./ui.js";

export const app = {
  session: null,
  snapshot: null,
  outbox: [],
  space: null,
  refreshing: false,
  refreshError: null,
  leave: null, // what the current screen does when left (stop the GPS watch)
  installPrompt: null,

  mine() {
    return this.outbox.filter((r) => this.session && r.owner === this.session.username);
  },

  async reloadLocal() {
    this.session = await getSession();
    this.snapshot = this.session ? await loadSnapshot(this.session) : null;
    this.outbox = await outboxList();
  },

  // Ask the server for fresh lists; offline or refused, the phone's copy stays.
  async refresh() {
    if (!tokenUsable(this.session) || this.refreshing) return;
    this.refreshing = true;
    try {
      this.snapshot = await refreshSnapshot(this.session);
      this.refreshError = null;
    } catch (error) {
      if (error instanceof ApiError && error.unauthorized) {
        await markExpired();
        this.session = await getSession();
      }
      this.refreshError = error instanceof ApiError ? error : new ApiError(0, "local", String(error));
    } finally {
      this.refreshing = false;
    }
    await this.update();
  },

  // Local state changed: read it again and redraw what depends on it.
  async update() {
    await this.reloadLocal();
    this.space = await spaceStatus();
    drawStatus();
    drawBanners();
    if (current && current.live) route();
  },

  navigate(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
};

const ROUTES = [
  [/^#\/login$/, loginScreen, false],
  [/^#\/outbox$/, outboxScreen, true],
  [/^#\/visits$/, visitsScreen, true],
  [/^#\/place\/(.+)$/, placeScreen, true],
  [/^#\/visit\/(.+)$/, visitScreen, false], // a form: never redrawn under the helper's fingers
  [/^#?\/?$/, homeScreen, true],
];

let current = null;
let askedToLogIn = false;

async function route() {
  const hash = location.hash || "#/";
  if (!app.session && hash !== "#/login") {
    location.replace("#/login");
    return;
  }
  if (!askedToLogIn && !tokenUsable(app.session) && hash === "#/") {
    // The login ran out: ask once each time the app opens; the helper may still go on
    // offline (the list and the form work without a login, the outbox just waits).
    askedToLogIn = true;
    location.replace("#/login");
    return;
  }
  const [pattern, screen, live] = ROUTES.find(([p]) => p.test(hash)) || ROUTES.at(-1);
  const params = hash.match(pattern).slice(1).map(decodeURIComponent);
  if (current && current.hash !== hash && app.leave) {
    app.leave();
    app.leave = null;
  }
  current = { hash, live };
  drawBanners();
  try {
    await screen(app, ...params);
  } catch (error) {
    console.error(error);
    show(h("p", { class: "error" }, `页面出错:${error.message || error}`));
  }
}

function drawStatus() {
  const el = document.getElementById("sync-status");
  const mine = app.mine();
  const waiting = mine.filter((r) => r.state === "waiting").length;
  const refused = mine.filter((r) => r.state === "refused").length;
  let state = "done";
  let text = "全部已上传";
  if (status.phase === "sending" && status.detail) {
    const d = status.detail;
    state = "sending";
    text = d.photo
      ? `上传照片 ${d.photo}/${d.total}` +
        (d.size ? ` ${Math.floor((100 * d.loaded) / d.size)}%` : "")
      : "提交走访……";
  } else if (!app.session || !tokenUsable(app.session)) {
    state = app.session ? "login" : "idle";
    text = app.session ? `需重新登录 · ${waiting} 条待上传` : "";
  } else if (waiting) {
    state = navigator.onLine ? "waiting" : "offline";
    text = `${waiting} 条待上传` + (navigator.onLine ? "" : " · 离线");
  } else if (refused) {
    state = "refused";
    text = `${refused} 条被退回`;
  } else if (!navigator.onLine) {
    state = "offline";
    text = "离线";
  }
  el.textContent = text;
  el.dataset.state = state;
  el.dataset.waiting = String(waiting);
  el.dataset.refused = String(refused);
  el.onclick = () => app.navigate("#/outbox");
}

function drawBanners() {
  const session = app.session;
  if (session && !tokenUsable(session) && location.hash !== "#/login") {
    const waiting = app.mine().length;
    banner(
      "login",
      h(
        "span",
        {},
        "登录已过期。",
        waiting ? `手机上的 ${waiting} 条走访不会丢失,重新登录后继续上传。` : "",
        h("a", { href: "#/login", class: "button small" }, "重新登录"),
      ),
    );
  } else {
    banner("login", null);
  }
  banner(
    "offline",
    navigator.onLine ? null : "离线:可以照常录入走访,保存在手机上,联网后自动上传。",
    "info",
  );
  const space = app.space;
  banner(
    "space",
    space && space.low
      ? `手机存储空间不足(本应用可用约 ${Math.round(space.free / 1048576)} MB),可能存不下新的走访照片。请先联网上传,或清理手机空间。`
      : null,
  );
  const others = app.outbox.filter((r) => !session || r.owner !== session.username);
  banner(
    "others",
    others.length
      ? `手机上还有其他账号(${[...new Set(others.map((r) => r.owner))].join("、")})的 ${others.length} 条走访,需用该账号登录后上传。`
      : null,
    "info",
  );
}

function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  const hadController = Boolean(navigator.serviceWorker.controller);
  navigator.serviceWorker
    .register("/app/sw.js", { scope: "/app/", updateViaCache: "none" })
    .catch((error) => console.warn("service worker not registered", error));
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (!hadController) return; // the first install, not an update
    banner(
      "update",
      h(
        "span",
        {},
        "应用已更新。手机上的走访都在,",
        h("button", { class: "small", onclick: () => location.reload() }, "点此使用新版本"),
      ),
      "info",
    );
  });
}

async function start() {
  registerServiceWorker();
  await app.reloadLocal();
  app.space = await spaceStatus();
  onSync(async (event) => {
    if (event.type === "phase") drawStatus();
    if (event.type === "login-needed") {
      toast("登录已过期,请重新登录后继续上传", "warn");
      await app.update();
      // Ask at once, unless the helper is in the middle of a form.
      if (current && current.live) app.navigate("#/login");
    }
    if (event.type === "refused") toast(`有走访被退回:${event.error.message}`, "error");
    if (["confirmed", "refused", "changed", "drained"].includes(event.type)) {
      app.update();
    }
    if (event.type === "drained" && event.confirmed) {
      toast(`已上传 ${event.confirmed} 条走访`, "ok");
      app.refresh();
    }
  });
  window.addEventListener("hashchange", route);
  window.addEventListener("online", () => {
    app.update();
    requestSync("online");
    app.refresh();
  });
  window.addEventListener("offline", () => app.update());
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") requestSync("visible");
  });
  window.addEventListener("beforeinstallprompt", (event) => {
    event.preventDefault();
    app.installPrompt = event;
    if (current && current.live) route();
  });
  drawStatus();
  drawBanners();
  await route();
  requestSync("open");
  app.refresh();
}

start();
