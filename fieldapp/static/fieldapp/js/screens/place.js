// One household's (or weak village's) card: the registered home, the last visit's date, last
// quarter's income for reference, this quarter's status, and the way to a new visit.

import { CATEGORIES, formatYuan } from "../income.js";
import { draftGet, draftKey } from "../outbox.js";
import { findPlace, isUnit } from "../snapshot.js";
import { formatDate, h, show } from "../ui.js";
import { placeStatus, placeTitle, STATUS_LABELS } from "./home.js";

function row(label, value) {
  return h("div", { class: "row" }, h("dt", {}, label), h("dd", {}, value ?? "—"));
}

function incomeTable(income) {
  if (!income) return h("p", { class: "muted" }, "无记录");
  return h(
    "dl",
    { class: "figures" },
    CATEGORIES.map((c) => row(c.label, formatYuan(income[c.key]))),
    row("合计", formatYuan(income.total)),
  );
}

export async function placeScreen(app, key) {
  const place = findPlace(app.session, app.snapshot, key);
  if (!place) {
    show(h("p", { class: "error" }, "名单中没有这一户(村)。"), h("a", { href: "#/" }, "返回"));
    return;
  }
  const unit = isUnit(app.session);
  const status = placeStatus(app, place);
  const draft = await draftGet(draftKey(app.session.username, key));
  const details = unit
    ? [
        row("村(居)代码", place.village),
        row("上次走访", formatDate(place.last_visited_at)),
        row("本季度村集体收入", place.quarter_income ? `${formatYuan(place.quarter_income)} 元` : "—"),
      ]
    : [
        row("户编号", place.number),
        row("村(居)", place.village_name),
        row("家庭人口", `${place.members} 人`),
        row("登记住址", place.address || "—"),
        row(
          "住址位置",
          place.home_lat ? `${place.home_lat}, ${place.home_lon}` : "未登记",
        ),
        row("上次走访", formatDate(place.last_visited_at)),
      ];
  show(
    h("a", { href: "#/", class: "back" }, "‹ 返回名单"),
    h(
      "h1",
      { id: "place-title" },
      placeTitle(app.session, place),
      h("span", { class: `chip ${status}`, id: "place-status" }, STATUS_LABELS[status]),
    ),
    h("dl", { class: "card details" }, details),
    unit
      ? null
      : h(
          "section",
          { class: "card" },
          h("h2", {}, `上季度收入(${place.previous_quarter},供参考)`),
          incomeTable(place.previous_income),
        ),
    h(
      "a",
      { class: "button primary wide", id: "start-visit", href: `#/visit/${encodeURIComponent(key)}` },
      draft ? "继续填写走访" : "新增走访",
    ),
    status === "visited"
      ? h("p", { class: "muted small" }, "本季度已走访;如有需要,可以再次走访录入。")
      : null,
  );
}
