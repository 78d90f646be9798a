// A new visit: the photos (each taken with the camera, the gallery as a fallback, and the
// phone's position and clock read at each capture), the quarter's income with last quarter's
// beside it, the passbook check and notes. Everything typed or taken is kept in the draft at
// once; saving moves the visit into the outbox in one step, and the sync takes it from there.

import { capturePhoto, GEO_ERRORS, PositionTracker } from "../capture.js";
import { isQuotaError } from "../db.js";
import {
  CATEGORIES,
  checkAmount,
  formatYuan,
  VILLAGE_MAX_DIGITS,
  yearToDateWarning,
} from "../income.js";
import {
  draftDiscard,
  draftOpen,
  draftPutPhoto,
  draftSetFields,
  newId,
  outboxSave,
  photosOf,
} from "../outbox.js";
import { findPlace, isUnit } from "../snapshot.js";
import { askPersistence } from "../storage.js";
import { PHOTO_LABELS, requestSync } from "../sync.js";
import { h, show, toast } from "../ui.js";
import { placeTitle } from "./home.js";

const HOUSEHOLD_KINDS = ["location", "scene", "passbook", "handbook"];
const VILLAGE_KINDS = ["location", "scene"];
const PHOTO_HINTS = {
  location: "在户门口拍,能看清门牌或房屋",
  scene: "帮扶人与户主在一起",
  passbook: "一折通首页和今年的发放记录",
  handbook: "本次填写的帮扶手册页",
};
const NOTES_MAX = 2000;
const VILLAGE_INCOME = { key: "collective_income", label: "村集体收入(本季度)", signed: true };

function fixText(photo) {
  if (!photo) return "";
  if (photo.fix) return `已定位 ±${Math.round(photo.fix.accuracy)} 米`;
  return `未定位:${GEO_ERRORS[photo.fixError] || "无法读取位置"}`;
}

// The visit's position: where the location photo was taken, else the most accurate fix of
// any photo, else the phone's position now.
function visitPosition(photos, tracker) {
  const fixes = photos.filter((p) => p.fix);
  const location = fixes.find((p) => p.kind === "location");
  const best = location || fixes.sort((a, b) => a.fix.accuracy - b.fix.accuracy)[0];
  const fix = best ? best.fix : tracker.last;
  if (!fix) return null;
  return {
    lat: fix.lat.toFixed(6),
    lon: fix.lon.toFixed(6),
    accuracy_m: Math.min(fix.accuracy, 100000).toFixed(1),
    coord_system: "wgs84",
  };
}

export async function visitScreen(app, key) {
  const session = app.session;
  const place = findPlace(session, app.snapshot, key);
  if (!session || !place) {
    show(h("p", { class: "error" }, "名单中没有这一户(村)。"), h("a", { href: "#/" }, "返回"));
    return;
  }
  const unit = isUnit(session);
  const kinds = unit ? VILLAGE_KINDS : HOUSEHOLD_KINDS;
  const quarter = app.snapshot.window.quarter;
  let draft = await draftOpen(session.username, key);
  const photos = new Map((await photosOf(draft.visitId)).map((p) => [p.kind, p]));
  const urls = [];
  const tracker = new PositionTracker();
  tracker.start();
  app.leave = () => {
    tracker.stop();
    urls.forEach((url) => URL.revokeObjectURL(url));
  };

  // --- Position, live while the form is open ---
  const gps = h("p", { class: "gps", id: "gps", "aria-live": "polite" }, "正在定位……");
  const drawGps = () => {
    if (tracker.last) {
      gps.textContent = `当前定位 ±${Math.round(tracker.last.accuracy)} 米`;
      gps.dataset.state = tracker.last.accuracy > 100 ? "weak" : "ok";
    } else if (tracker.error) {
      gps.textContent = GEO_ERRORS[tracker.error] || "无法定位";
      gps.dataset.state = "error";
    }
  };
  tracker.onChange(drawGps);
  drawGps();

  // --- Photos ---
  const slots = kinds.map((kind) => {
    const thumb = h("div", { class: "thumb" });
    const note = h("p", { class: "small" });
    const draw = () => {
      const photo = photos.get(kind);
      if (photo) {
        const url = URL.createObjectURL(photo.blob);
        urls.push(url);
        thumb.replaceChildren(h("img", { src: url, alt: PHOTO_LABELS[kind], decoding: "async" }));
      } else {
        thumb.replaceChildren(h("span", { class: "muted" }, "未拍"));
      }
      note.textContent = photo ? fixText(photo) : PHOTO_HINTS[kind];
      note.className = photo && !photo.fix ? "small warn" : "small muted";
      slot.dataset.taken = photo ? "yes" : "no";
    };
    const onFile = async (event) => {
      const file = event.target.files && event.target.files[0];
      event.target.value = "";
      if (!file) return;
      note.textContent = "正在读取位置……";
      try {
        const photo = await capturePhoto(file, kind, tracker, newId);
        draft = await draftPutPhoto(draft.key, photo);
        photos.set(kind, photo);
      } catch (error) {
        toast(
          isQuotaError(error)
            ? "手机存储空间不足,照片没有保存。请清理手机空间后重拍。"
            : `照片没有保存:${error.message || error}`,
          "error",
        );
      }
      draw();
    };
    const camera = h("input", {
      type: "file",
      accept: "image/*",
      capture: "environment",
      class: "camera",
      "aria-label": `${PHOTO_LABELS[kind]}:拍照`,
      onchange: onFile,
    });
    const gallery = h("input", {
      type: "file",
      accept: "image/*",
      class: "gallery",
      "aria-label": `${PHOTO_LABELS[kind]}:从相册选`,
      onchange: onFile,
    });
    const slot = h(
      "div",
      { class: "slot", dataset: { kind } },
      thumb,
      h(
        "div",
        { class: "slot-body" },
        h("strong", {}, PHOTO_LABELS[kind]),
        note,
        h(
          "div",
          { class: "slot-actions" },
          h("label", { class: "button small primary" }, "拍照", camera),
          h("label", { class: "button small" }, "相册", gallery),
        ),
      ),
    );
    draw();
    return slot;
  });

  // --- Income ---
  const fields = draft.fields || {};
  const categories = unit ? [VILLAGE_INCOME] : CATEGORIES;
  const maxDigits = unit ? VILLAGE_MAX_DIGITS : undefined;
  const previous = unit ? null : place.previous_income;
  const ytd = h("p", { class: "warn", id: "ytd-warning", hidden: true, role: "alert" });
  const inputs = {};
  const errors = {};
  let saveTimer = null;
  const keep = () => {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => {
      const values = Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.value]));
      draftSetFields(draft.key, {
        ...values,
        passbook: passbook.checked,
        notes: notes.value,
      });
    }, 300);
  };
  const checkIncome = () => {
    const values = {};
    for (const c of categories) {
      const result = checkAmount(inputs[c.key].value, c, maxDigits);
      errors[c.key].textContent = inputs[c.key].value.trim() === "" ? "" : result.error || "";
      values[c.key] = result.value;
    }
    const complete = Object.values(values).every((v) => v !== undefined);
    const warning = !unit && complete ? yearToDateWarning(values, place, quarter) : null;
    ytd.textContent = warning || "";
    ytd.hidden = !warning;
    return values;
  };
  const incomeRows = categories.map((c) => {
    inputs[c.key] = h("input", {
      name: c.key,
      inputmode: c.signed ? "text" : "decimal",
      autocomplete: "off",
      placeholder: "0.00",
      value: fields[c.key] || "",
      oninput: () => {
        checkIncome();
        keep();
      },
    });
    errors[c.key] = h("span", { class: "field-error" });
    const flip = c.signed
      ? h(
          "button",
          {
            type: "button",
            class: "small sign",
            title: "正负号",
            onclick: () => {
              const v = inputs[c.key].value.trim();
              inputs[c.key].value = v.startsWith("-") ? v.slice(1) : `-${v}`;
              checkIncome();
              keep();
            },
          },
          "±",
        )
      : null;
    return h(
      "label",
      { class: "money" },
      h("span", {}, c.label, c.hint ? h("span", { class: "muted small" }, `(${c.hint})`) : null),
      h("span", { class: "money-input" }, inputs[c.key], h("span", {}, "元"), flip),
      previous
        ? h("span", { class: "muted small" }, `上季度 ${formatYuan(previous[c.key])}`)
        : null,
      errors[c.key],
    );
  });

  const passbook = h("input", {
    type: "checkbox",
    name: "passbook",
    checked: Boolean(fields.passbook),
    onchange: keep,
  });
  const notes = h("textarea", {
    name: "notes",
    rows: 3,
    maxlength: NOTES_MAX,
    placeholder: "走访情况、存在问题等(可不填)",
    oninput: keep,
  });
  notes.value = fields.notes || "";
  const problems = h("ul", { class: "error", id: "form-errors", hidden: true, role: "alert" });
  const saveButton = h("button", { type: "button", class: "primary wide", id: "save-visit" }, "保存");

  saveButton.addEventListener("click", async () => {
    const values = checkIncome();
    const taken = kinds.map((k) => photos.get(k));
    const issues = [];
    kinds.forEach((k, i) => {
      if (!taken[i]) issues.push(`请拍${PHOTO_LABELS[k]}`);
    });
    for (const c of categories) {
      if (values[c.key] === undefined) issues.push(`${c.label}:${checkAmount(inputs[c.key].value, c, maxDigits).error}`);
    }
    const position = visitPosition(taken.filter(Boolean), tracker);
    if (!position && taken.every(Boolean)) {
      issues.push("没有定位:请允许本应用使用位置信息,到室外重拍定位照片");
    }
    if (notes.value.length > NOTES_MAX) issues.push(`备注不能超过 ${NOTES_MAX} 字`);
    problems.replaceChildren(...issues.map((text) => h("li", {}, text)));
    problems.hidden = issues.length === 0;
    if (issues.length) {
      problems.scrollIntoView({ block: "center" });
      return;
    }
    const times = taken.map((p) => p.takenAt).sort();
    const common = {
      id: draft.visitId,
      visited_at: times[0], // when the visit began: its first photo
      position,
      photo_ids: taken.map((p) => p.id),
      notes: notes.value.trim(),
    };
    const body = unit
      ? { ...common, village: place.village, collective_income: values.collective_income }
      : {
          ...common,
          household_id: place.id,
          income: Object.fromEntries(CATEGORIES.map((c) => [c.key, values[c.key]])),
          passbook_checked: passbook.checked,
        };
    saveButton.disabled = true;
    try {
      clearTimeout(saveTimer);
      await outboxSave(draft.key, {
        id: draft.visitId,
        kind: unit ? "village" : "household",
        endpoint: unit ? "/village-visits" : "/visits",
        title: placeTitle(session, place),
        subtitle: unit ? place.village : `${place.number} · ${place.village_name}`,
        quarter,
        body,
      });
    } catch (error) {
      saveButton.disabled = false;
      toast(
        isQuotaError(error) ? "手机存储空间不足,没有保存。请清理手机空间后再保存。" : `没有保存:${error.message || error}`,
        "error",
      );
      return;
    }
    askPersistence();
    toast("已保存到手机,联网后自动上传", "ok");
    await app.update();
    app.navigate("#/");
    requestSync("saved");
  });

  const discard = h(
    "button",
    {
      type: "button",
      class: "link danger",
      onclick: async () => {
        if (!confirm("放弃这次填写?已拍的照片将从手机删除。")) return;
        await draftDiscard(draft.key);
        app.navigate(`#/place/${encodeURIComponent(key)}`);
      },
    },
    "放弃填写",
  );

  show(
    h("a", { href: `#/place/${encodeURIComponent(key)}`, class: "back" }, "‹ 返回"),
    h("h1", {}, `走访 ${placeTitle(session, place)}`),
    h("p", { class: "muted small" }, `${quarter} · 填写内容随时保存在手机上`),
    gps,
    h("section", { class: "card", id: "photos" }, h("h2", {}, "照片"), slots),
    h(
      "section",
      { class: "card", id: "income" },
      h("h2", {}, unit ? "村集体收入" : `本季度收入(${quarter},只填本季度,不填累计)`),
      incomeRows,
      ytd,
    ),
    h(
      "section",
      { class: "card" },
      unit ? null : h("label", { class: "check" }, passbook, "已核对一折通发放记录"),
      h("label", {}, "备注", notes),
    ),
    problems,
    saveButton,
    discard,
  );
  checkIncome();
}
