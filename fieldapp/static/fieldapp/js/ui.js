// Small DOM helpers. Text from the server is always set as text, never as HTML.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      el.className = value;
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "value") {
      el.value = value;
    } else if (key === "checked") {
      el.checked = Boolean(value);
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function show(...nodes) {
  const screen = document.getElementById("screen");
  screen.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false));
  window.scrollTo(0, 0);
}

const ZONE = "Asia/Shanghai";
const dateTime = new Intl.DateTimeFormat("zh-CN", {
  timeZone: ZONE,
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  hour12: false,
});
const dateOnly = new Intl.DateTimeFormat("zh-CN", {
  timeZone: ZONE,
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
});

export const formatDateTime = (iso) => (iso ? dateTime.format(new Date(iso)) : "—");
export const formatDate = (iso) => (iso ? dateOnly.format(new Date(iso)) : "—");

let toastTimer = null;
export function toast(text, kind = "info") {
  let el = document.getElementById("toast");
  if (!el) {
    el = h("div", { id: "toast", role: "status" });
    document.body.append(el);
  }
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    el.hidden = true;
  }, 4000);
}

// A banner above the screen, by key: setting it again replaces it, null removes it.
export function banner(key, content, kind = "warn") {
  const holder = document.getElementById("banners");
  const existing = holder.querySelector(`[data-banner="${key}"]`);
  if (!content) {
    if (existing) existing.remove();
    return;
  }
  const el = h("div", { class: `banner ${kind}`, dataset: { banner: key } }, content);
  if (existing) existing.replaceWith(el);
  else holder.append(el);
}
