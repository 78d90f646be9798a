// Who is logged in on this phone: the API token (until it expires), and the account it
// belongs to. Logging in again after expiry keeps everything on the phone; logging out drops
// the cached lists (personal data) but never the outbox: its visits wait for their account.

import { request } from "./api.js";
import { kvDelete, kvGet, kvSet } from "./db.js";

const KEY = "session";
const SNAPSHOT = "snapshot";

export async function getSession() {
  return (await kvGet(KEY)) || null;
}

export function tokenUsable(session) {
  return Boolean(session && session.token && Date.parse(session.expiresAt) > Date.now());
}

// The phone as the token list will show it to an office ("Android 14 · Pixel 7 · Chrome").
export async function deviceName() {
  const parts = [];
  const data = navigator.userAgentData;
  if (data && data.getHighEntropyValues) {
    try {
      const values = await data.getHighEntropyValues(["model", "platformVersion"]);
      parts.push(`${data.platform || ""} ${values.platformVersion || ""}`.trim());
      if (values.model) parts.push(values.model);
      const brand = (data.brands || []).find((b) => !/Not.?A.?Brand|Chromium/i.test(b.brand));
      if (brand) parts.push(brand.brand);
    } catch {
      // fall back to the user agent below
    }
  }
  if (parts.length === 0) {
    const ua = navigator.userAgent;
    const android = ua.match(/Android [\d.]+(?:; ([^;)]+))?/);
    if (android) parts.push(android[0].replace(/;.*/, ""), android[1] || "");
    else if (/iPhone|iPad/.test(ua)) parts.push(/iPad/.test(ua) ? "iPad" : "iPhone");
    else parts.push(navigator.platform || "浏览器");
  }
  return `${parts.filter(Boolean).join(" · ")} · 扶贫走访App`.slice(0, 100);
}

export async function login(username, password) {
  const name = username.trim();
  const { data } = await request("/auth/token", {
    method: "POST",
    json: { username: name, password, device_name: await deviceName() },
  });
  const { data: me } = await request("/me", { token: data.token });
  const previous = await getSession();
  if (previous && previous.username !== me.username) {
    // Another account's lists must not show under this one.
    await kvDelete(SNAPSHOT);
  }
  const session = {
    token: data.token,
    expiresAt: data.expires_at,
    username: me.username,
    me,
    loggedInAt: new Date().toISOString(),
  };
  await kvSet(KEY, session);
  return session;
}

// The server said the token is no longer valid (expired or revoked): forget the token only.
export async function markExpired() {
  const session = await getSession();
  if (session && session.token) {
    await kvSet(KEY, { ...session, token: null, expiredAt: new Date().toISOString() });
  }
}

export async function logout() {
  const session = await getSession();
  if (session && session.token) {
    try {
      await request("/auth/token", { method: "DELETE", token: session.token, timeoutMs: 5000 });
    } catch {
      // Offline: the token simply runs out; it is forgotten here either way.
    }
  }
  await kvDelete(KEY);
  await kvDelete(SNAPSHOT);
}
