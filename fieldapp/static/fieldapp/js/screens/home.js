// Home: the quarter's window in the server's own words, and my households (or my unit's weak
// villages) with this quarter's status, searchable by name, number or village.

import { isUnit, placeKey } from "../snapshot.js";
import { tokenUsable } from "../session.js";
import { formatDate, formatDateTime, h, show } from "../ui.js";

const DAY_MS = 86400000;

export const STATUS_LABELS = {
  visited: "已走访",
  waiting: "待上传",
  refused: "被退回",
  todo: "未走访",
};

export function placeStatus(app, place) {
  const key = placeKey(app.session, place);
  const records = app.mine().filter((r) => r.placeKey === key);
  if (records.some((r) => r.state === "refused")) return "refused";
  if (records.length) return "waiting";
  return place.visited ? "visited" : "todo";
}

export function placeTitle(session, place) {
  return isUnit(session) ? place.village_name : `${place.head_name}户`;
}

function windowCard(app) {
  const snapshot = app.snapshot;
  if (!snapshot) {
    return h(
      "section",
      { class: "card window", id: "window", dataset: { state: "unknown" } },
      tokenUsable(app.session) ? "正在读取录入时间……" : "尚无录入时间信息:联网并登录后显示。",
    );
  }
  const w = snapshot.window;
  const now = Date.now();
  const closes = Date.parse(w.closes_at);
  const opens = Date.parse(w.opens_at);
  let state;
  let headline;
  if (w.allowed && w.open_now) {
    const days = Math.max(0, Math.ceil((closes - now) / DAY_MS));
    state = "open";
    headline = days <= 1 ? "录入开放中 · 今天截止" : `录入开放中 · 还有 ${days} 天截止`;
  } else if (w.allowed) {
    state = "extended";
    headline = "已延期,可以录入";
  } else if (now < opens) {
    state = "not-yet";
    headline = `尚未开放 · ${Math.max(1, Math.ceil((opens - now) / DAY_MS))} 天后开始录入`;
  } else {
    state = "closed";
    headline = "录入已截止";
  }
  return h(
    "section",
    { class: `card window ${state}`, id: "window", dataset: { state } },
    h("strong", {}, headline),
    h("p", {}, w.label),
    w.reason && w.reason !== w.label ? h("p", { class: "reason" }, w.reason) : null,
    state === "closed" || state === "not-yet"
      ? h("p", { class: "muted" }, "不在录入时间内保存的走访会被退回;如需补录,请联系乡镇扶贫办办理延期。")
      : null,
    h("p", { class: "muted small" }, `信息更新于 ${formatDateTime(snapshot.fetchedAt)}`),
  );
}

function matches(place, query) {
  if (!query) return true;
  const text = [place.head_name, place.number, place.village_name, place.village]
    .filter(Boolean)
    .join(" ")
    .toLowerCase();
  return query
    .toLowerCase()
    .split(/\s+/)
    .every((word) => text.includes(word));
}

function placeRow(app, place) {
  const status = placeStatus(app, place);
  const key = placeKey(app.session, place);
  const unit = isUnit(app.session);
  return h(
    "li",
    {},
    h(
      "a",
      {
        class: "place",
        href: `#/place/${encodeURIComponent(key)}`,
        dataset: { key, status },
      },
      h(
        "span",
        { class: "who" },
        h("strong", {}, placeTitle(app.session, place)),
        h(
          "span",
          { class: "muted small" },
          unit ? place.village : `${place.number} · ${place.village_name}`,
        ),
      ),
      h("span", { class: `chip ${status}` }, STATUS_LABELS[status]),
    ),
  );
}

let query = "";

const FIELD_ROLES = ["helper", "unit"];

export async function homeScreen(app) {
  const me = app.session ? app.session.me : null;
  if (me && !FIELD_ROLES.includes(me.role)) {
    show(
      h("h1", {}, "此账号不使用手机走访"),
      h(
        "p",
        { class: "card" },
        `${me.name}(${me.role_label})的工作请在网页上办理:`,
        h("a", { href: "/" }, "打开网页"),
        "。帮扶责任人、帮扶单位请用自己的账号登录本应用。",
      ),
      h("a", { href: "#/outbox", class: "button" }, "退出登录"),
    );
    return;
  }
  const snapshot = app.snapshot;
  const places = snapshot ? snapshot.places : [];
  const list = h("ul", { class: "places", id: "places" });
  const counter = h("p", { class: "muted small", id: "places-count" });
  const fill = () => {
    const shown = places.filter((p) => matches(p, query));
    list.replaceChildren(...shown.map((p) => placeRow(app, p)));
    const done = places.filter((p) => placeStatus(app, p) === "visited").length;
    counter.textContent = `共 ${places.length} ${isUnit(app.session) ? "个村" : "户"},本季度已走访 ${done}` +
      (query ? `;找到 ${shown.length}` : "");
  };
  const search = h("input", {
    type: "search",
    id: "search",
    placeholder: isUnit(app.session) ? "搜索村名或代码" : "搜索户主姓名、户编号或村名",
    value: query,
    oninput: (event) => {
      query = event.target.value.trim();
      fill();
    },
  });
  fill();
  const mine = app.mine();
  show(
    h(
      "p",
      { class: "hello" },
      me ? `${me.name} · ${me.role_label}${me.unit ? ` · ${me.unit.name}` : ""}` : "",
    ),
    windowCard(app),
    h(
      "nav",
      { class: "links" },
      h("a", { href: "#/outbox", class: "button", id: "to-outbox" }, `待上传 (${mine.length})`),
      h(
        "a",
        { href: "#/visits", class: "button", id: "to-visits" },
        `本季度我的走访 (${snapshot ? snapshot.visits.length : 0})`,
      ),
    ),
    h("h2", {}, isUnit(app.session) ? "挂钩的经济薄弱村" : "我的帮扶户"),
    search,
    counter,
    snapshot
      ? list
      : h("p", { class: "muted" }, "还没有帮扶户名单:请联网,名单下载后无网络也能打开。"),
    app.installPrompt
      ? h(
          "button",
          {
            class: "wide",
            onclick: async () => {
              app.installPrompt.prompt();
              app.installPrompt = null;
            },
          },
          "安装到手机桌面",
        )
      : null,
    h(
      "p",
      { class: "muted small" },
      snapshot ? `名单更新于 ${formatDate(snapshot.fetchedAt)} ` : "",
      h("a", { href: "#/outbox" }, "存储与上传"),
    ),
  );
}
