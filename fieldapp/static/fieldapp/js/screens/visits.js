// My visits of this quarter as the server has them, with the flags it raised (a photo with no
// position, a capture far from home...), so a helper sees what the supervisors will see.

import { isUnit } from "../snapshot.js";
import { PHOTO_LABELS } from "../sync.js";
import { formatDateTime, h, show } from "../ui.js";
import { placeTitle } from "./home.js";

function flagLine(visit, flag) {
  const photo = flag.photo_id && visit.photos.find((p) => p.id === flag.photo_id);
  const where = photo ? `${PHOTO_LABELS[photo.kind] || photo.kind}:` : "";
  return h("li", { class: "flag", dataset: { kind: flag.kind } }, where + flag.label);
}

export async function visitsScreen(app) {
  const snapshot = app.snapshot;
  const unit = isUnit(app.session);
  const visits = snapshot ? snapshot.visits : [];
  const places = new Map((snapshot ? snapshot.places : []).map((p) => [unit ? p.village : p.id, p]));
  const rows = visits.map((visit) => {
    const place = places.get(unit ? visit.village : visit.household_id);
    const title = place ? placeTitle(app.session, place) : unit ? visit.village : visit.household_number;
    const flags = visit.flags || [];
    return h(
      "li",
      { class: "card visit", dataset: { id: visit.id, flags: String(flags.length) } },
      h("strong", {}, title),
      h("p", { class: "small muted" }, `${formatDateTime(visit.visited_at)} · ${visit.quarter}`),
      unit
        ? null
        : flags.length
          ? h("ul", { class: "flags" }, flags.map((f) => flagLine(visit, f)))
          : h("p", { class: "ok small" }, "无疑点"),
    );
  });
  show(
    h("a", { href: "#/", class: "back" }, "‹ 返回"),
    h("h1", {}, `本季度我的走访${snapshot ? `(${snapshot.window.quarter})` : ""}`),
    unit
      ? null
      : h(
          "p",
          { class: "muted small" },
          "疑点不影响走访有效,供督查核实参考。照片无位置、定位不准等,请下次走访时注意。",
        ),
    rows.length
      ? h("ul", { class: "visits", id: "visits" }, rows)
      : h("p", { class: "card empty" }, snapshot ? "本季度还没有已上传的走访。" : "联网后显示。"),
    snapshot ? h("p", { class: "muted small" }, `更新于 ${formatDateTime(snapshot.fetchedAt)}`) : null,
  );
}
