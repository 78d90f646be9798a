// Logging in with the helper's (or unit's) account. The outbox is never touched here: visits
// saved under an expired login are sent once the same account logs in again.

import { ApiError } from "../api.js";
import { login, tokenUsable } from "../session.js";
import { askPersistence } from "../storage.js";
import { requestSync } from "../sync.js";
import { h, show } from "../ui.js";

export async function loginScreen(app) {
  const session = app.session;
  const expired = session && !tokenUsable(session);
  const waiting = app.outbox.length;
  const error = h("p", { class: "error", id: "login-error", role: "alert", hidden: true });
  const username = h("input", {
    name: "username",
    autocomplete: "username",
    autocapitalize: "none",
    required: true,
    value: session ? session.username : "",
  });
  const password = h("input", {
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const submit = h("button", { type: "submit", class: "primary wide" }, "登录");
  const form = h(
    "form",
    { class: "card", id: "login-form" },
    h("label", {}, "用户名", username),
    h("label", {}, "密码", password),
    error,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    submit.disabled = true;
    submit.textContent = "正在登录……";
    try {
      await login(username.value, password.value);
      askPersistence();
      await app.update();
      app.navigate("#/");
      requestSync("login");
      app.refresh();
    } catch (caught) {
      error.textContent =
        caught instanceof ApiError
          ? caught.status === 0
            ? "网络不通,无法登录。联网后再试(已保存的走访仍在手机上)。"
            : caught.message
          : `登录失败:${caught}`;
      error.hidden = false;
    } finally {
      submit.disabled = false;
      submit.textContent = "登录";
    }
  });
  show(
    h("h1", {}, expired ? "登录已过期,请重新登录" : "帮扶走访登录"),
    expired || waiting
      ? h(
          "p",
          { class: "note", id: "login-outbox-note" },
          `手机上有 ${waiting} 条走访待上传,不会因重新登录而丢失;登录后自动继续上传。`,
        )
      : null,
    form,
    expired
      ? h("p", {}, h("a", { href: "#/", id: "continue-offline" }, "暂不登录,继续离线录入 ›"))
      : null,
    h(
      "p",
      { class: "muted" },
      "帮扶责任人、帮扶单位用本单位发放的账号登录。乡镇、县扶贫办等工作人员请从",
      h("a", { href: "/login/" }, "网页"),
      "登录。",
    ),
  );
  if (!username.value) username.focus();
}
