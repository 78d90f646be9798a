// The outbox: every visit still on the phone, what is happening to it, and for a refused one
// the server's reason and what the helper can do. Also the phone's storage, and logging out.

import { outboxDiscard, outboxUpdate } from "../outbox.js";
import { logout, tokenUsable } from "../session.js";
import { askPersistence, megabytes } from "../storage.js";
import { requestSync, status } from "../sync.js";
import { formatDateTime, h, show, toast } from "../ui.js";

function progress(record) {
  const d = status.phase === "sending" && status.detail;
  if (!d || d.id !== record.id) return null;
  const text = d.photo
    ? `正在上传第 ${d.photo}/${d.total} 张照片` +
      (d.size ? `(${Math.floor((100 * d.loaded) / d.size)}%)` : "")
    : "照片已上传,正在提交走访";
  return h("p", { class: "progress" }, text);
}

function item(app, record) {
  const refused = record.state === "refused";
  const mine = app.session && record.owner === app.session.username;
  const error = record.lastError;
  return h(
    "li",
    { class: `card outbox-item ${record.state}`, dataset: { id: record.id, state: record.state } },
    h("strong", {}, record.title),
    h("span", { class: "muted small" }, ` ${record.subtitle || ""} · ${record.quarter || ""}`),
    h("p", { class: "small" }, `保存于 ${formatDateTime(record.savedAt)} · ${record.photoIds.length} 张照片`),
    mine ? null : h("p", { class: "note" }, `属于账号 ${record.owner},需用该账号登录后上传。`),
    refused
      ? [
          h("p", { class: "error reason" }, `被退回:${error.message}`),
          h("p", { class: "remedy" }, `怎么办:${error.remedy}`),
          h(
            "div",
            { class: "slot-actions" },
            h(
              "button",
              {
                class: "small primary retry",
                onclick: async () => {
                  await outboxUpdate(record.id, { state: "waiting" });
                  await app.update();
                  requestSync("manual");
                },
              },
              "重新提交",
            ),
            h(
              "button",
              {
                class: "small danger discard",
                onclick: async () => {
                  if (!confirm(`删除“${record.title}”这次走访?删除后手机上不再保留,无法恢复。`)) {
                    return;
                  }
                  await outboxDiscard(record.id);
                  await app.update();
                },
              },
              "删除此条",
            ),
          ),
        ]
      : [
          progress(record) ||
            h(
              "p",
              { class: "waiting" },
              mine ? "等待上传" : "等待该账号登录",
              record.photosSent
                ? `(照片已上传 ${record.photosSent}/${record.photoIds.length})`
                : "",
            ),
          error
            ? h(
                "p",
                { class: "muted small last-error" },
                `上次尝试 ${formatDateTime(error.at)}:${error.message}`,
              )
            : null,
        ],
  );
}

export async function outboxScreen(app) {
  const records = app.outbox;
  const space = app.space;
  const usable = tokenUsable(app.session);
  const syncButton = h(
    "button",
    {
      class: "primary wide",
      id: "sync-now",
      disabled: !usable || records.length === 0,
      onclick: () => requestSync("manual"),
    },
    usable ? "立即上传" : "请先重新登录",
  );
  show(
    h("a", { href: "#/", class: "back" }, "‹ 返回"),
    h("h1", {}, "待上传的走访"),
    h(
      "p",
      { class: "muted small" },
      "走访和照片先保存在手机上,服务器确认收到每张照片和走访后才从手机删除。联网时自动上传。",
    ),
    records.length
      ? h("ul", { class: "outbox", id: "outbox" }, records.map((r) => item(app, r)))
      : h("p", { class: "card empty", id: "outbox-empty" }, "没有待上传的走访。"),
    syncButton,
    h(
      "section",
      { class: "card", id: "storage" },
      h("h2", {}, "手机存储"),
      space
        ? [
            h(
              "p",
              {},
              space.persisted
                ? "已设为持久保存:浏览器清理空间时不会删除本应用的数据。"
                : "尚未获得持久保存授权:手机空间紧张时浏览器可能清理数据,请尽快联网上传。",
            ),
            h("p", { class: space.low ? "warn" : "muted" }, `已用 ${megabytes(space.usage)},可用约 ${megabytes(space.free)}`),
            space.persisted
              ? null
              : h(
                  "button",
                  {
                    class: "small",
                    onclick: async () => {
                      await askPersistence();
                      await app.update();
                    },
                  },
                  "申请持久保存",
                ),
          ]
        : h("p", { class: "muted" }, "此浏览器不提供存储空间信息。"),
    ),
    app.session
      ? h(
          "section",
          { class: "card" },
          h("h2", {}, "账号"),
          h("p", {}, `${app.session.me.name}(${app.session.username})`),
          h(
            "button",
            {
              class: "small",
              id: "logout",
              onclick: async () => {
                const waiting = app.mine().length;
                const warning = waiting
                  ? `退出后,手机上的 ${waiting} 条走访仍会保留,重新登录本账号后继续上传。确定退出?`
                  : "确定退出登录?";
                if (!confirm(warning)) return;
                await logout();
                toast("已退出登录");
                await app.update();
                app.navigate("#/login");
              },
            },
            "退出登录",
          ),
        )
      : null,
  );
}
