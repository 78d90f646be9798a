// Sending the outbox: each photo as its own request under its own UUID, then the visit; a
// visit leaves the phone only when the server has answered 201 or 200 for every one of them.
//
// - No answer (network, timeout, 5xx, 429): the visit stays as it is, and the whole run stops
//   and tries again later, with back-off (the network is down for all visits alike).
// - 401: the token expired or was revoked; the run stops and the app asks to log in. Nothing
//   in the outbox changes.
// - Any other answer is a refusal: the visit stays on the phone, marked refused, with the
//   server's reason and what the helper can do; the other visits go on.
// One run at a time (across tabs too, with Web Locks), so nothing is sent twice at once; and
// a repeated request is harmless anyway: the server replays what it made under the same id.

import { ApiError, request, uploadPhoto } from "./api.js";
import {
  outboxConfirmed,
  outboxGet,
  outboxList,
  outboxUpdate,
  photoMarkSent,
  photosOf,
} from "./outbox.js";
import { getSession, markExpired, tokenUsable } from "./session.js";

const REMEDIES = {
  window_closed: "录入时间已过。请联系乡镇扶贫办为您办理延期,获批后点“重新提交”。",
  not_paired:
    "系统里您在走访当天与该户(村)没有结对关系。请联系乡镇扶贫办核对结对信息,改正后点“重新提交”。",
  not_helper: "当前账号不能提交入户走访。请用帮扶责任人账号登录后再上传。",
  not_unit: "当前账号不能提交薄弱村走访。请用帮扶单位账号登录后再上传。",
  visited_in_future: "手机时间不正确。请把手机时间设为“自动”,然后删除此条并重新录入。",
  photo_used: "照片已用于另一次走访。请删除此条,重新拍照录入。",
  photo_kind_missing: "照片不全。请删除此条,重新拍照录入。",
  photo_wrong_kind: "照片类别不对。请删除此条,重新拍照录入。",
  too_large: "照片太大,服务器不收。请删除此条,用相机重新拍摄。",
  too_many_pixels: "照片像素过高,服务器不收。请删除此条,用相机重新拍摄。",
  not_an_image: "照片文件已损坏。请删除此条,重新拍照录入。",
  unsupported_format: "照片格式不支持(只收 JPEG、PNG、HEIC)。请删除此条,用相机重新拍摄。",
  idempotency_conflict: "此条与服务器上已有的记录冲突。请截图本页并联系乡镇扶贫办。",
  photo_id_conflict: "照片与服务器上已有的照片冲突。请截图本页并联系乡镇扶贫办。",
  photo_missing_on_phone: "手机上找不到此条的照片。请删除此条后重新录入。",
};
const DEFAULT_REMEDY = "请按上面的原因处理;如有疑问,请截图本页并联系乡镇扶贫办。";
// Refusals worth asking about again each time the app opens: the office may have granted an
// extension or corrected the pairing in the meantime.
const RECHECK_ON_OPEN = new Set(["window_closed", "not_paired"]);
// A photo the server found cut short was most likely cut in transit: try again a few times.
const RETRY_A_FEW = new Set(["truncated"]);
const BACKOFF_MS = [5000, 15000, 30000, 60000, 120000, 300000, 600000];

export function remedy(code) {
  return REMEDIES[code] || DEFAULT_REMEDY;
}

const listeners = new Set();
export const status = { phase: "idle", detail: null, nextAt: null, failures: 0 };

export function onSync(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function emit(event) {
  for (const listener of listeners) {
    try {
      listener(event);
    } catch (error) {
      console.error(error);
    }
  }
}

function setPhase(phase, detail = null) {
  status.phase = phase;
  status.detail = detail;
  emit({ type: "phase", phase, detail });
}

let running = null;
let again = null;
let timer = null;

// Start a run now (an open, the network back, a save, a tap); while one runs, one more follows.
export function requestSync(reason = "auto") {
  if (running) {
    again = again || reason;
    return running;
  }
  running = (async () => {
    try {
      await runOnce(reason);
    } catch (error) {
      console.error("sync failed", error);
      schedule();
    } finally {
      running = null;
    }
    if (again) {
      const next = again;
      again = null;
      await requestSync(next);
    }
  })();
  return running;
}

function schedule() {
  clearTimeout(timer);
  status.failures += 1;
  const base = BACKOFF_MS[Math.min(status.failures, BACKOFF_MS.length) - 1];
  const delay = Math.round(base * (0.8 + Math.random() * 0.4)); // spread the phones out
  status.nextAt = Date.now() + delay;
  timer = setTimeout(() => requestSync("timer"), delay);
}

async function runOnce(reason) {
  clearTimeout(timer);
  timer = null;
  status.nextAt = null;
  const session = await getSession();
  const mine = (await outboxList()).filter((r) => session && r.owner === session.username);
  if (reason === "open") {
    for (const record of mine) {
      if (record.state === "refused" && RECHECK_ON_OPEN.has(record.lastError?.code)) {
        await outboxUpdate(record.id, { state: "waiting" });
        record.state = "waiting";
      }
    }
  }
  const ids = mine.filter((r) => r.state === "waiting").map((r) => r.id);
  if (ids.length === 0) {
    status.failures = 0;
    setPhase("idle");
    return;
  }
  if (!tokenUsable(session)) {
    setPhase("login");
    emit({ type: "login-needed" });
    return;
  }
  const drain = () => drainAll(session, ids);
  if (navigator.locks) await navigator.locks.request("relief-fieldapp-sync", drain);
  else await drain();
}

function describe(error, photo) {
  const kind = photo ? `${PHOTO_LABELS[photo.kind] || photo.kind}:` : "";
  return {
    status: error.status,
    code: error.code,
    message: kind + error.message,
    remedy: remedy(error.code),
    detail: error.detail,
    at: new Date().toISOString(),
  };
}

async function drainAll(session, ids) {
  const queue = [...ids];
  let confirmed = 0;
  while (queue.length) {
    const id = queue.shift();
    const record = await outboxGet(id); // fresh: another tab may have sent it meanwhile
    if (!record || record.state !== "waiting") continue;
    let failedPhoto = null;
    try {
      await send(record, session, (photo) => {
        failedPhoto = photo;
      });
      confirmed += 1;
      emit({ type: "confirmed", id });
      continue;
    } catch (caught) {
      const error =
        caught instanceof ApiError ? caught : new ApiError(0, "local", `手机出错:${caught}`);
      const attempts = (record.attempts || 0) + 1;
      const lastError = describe(error, failedPhoto);
      if (error.unauthorized) {
        await markExpired();
        setPhase("login");
        emit({ type: "login-needed" });
        return;
      }
      if (error.transient || (RETRY_A_FEW.has(error.code) && attempts < 3)) {
        await outboxUpdate(id, { attempts, lastError, lastTriedAt: lastError.at });
        schedule();
        setPhase("waiting-network", { error: lastError });
        emit({ type: "changed" });
        return;
      }
      const unknown = error.code === "photo_unknown" ? error.detail.photo_ids || [] : [];
      if (unknown.length && !record.photosResent) {
        // The server lacks photos the phone thought were sent (a restored database, say):
        // send them again, once.
        for (const photoId of unknown) await photoMarkSent(photoId, false);
        await outboxUpdate(id, { photosResent: true, attempts });
        queue.push(id);
        continue;
      }
      await outboxUpdate(id, { state: "refused", attempts, lastError, refusedAt: lastError.at });
      emit({ type: "refused", id, error: lastError });
    }
  }
  status.failures = 0;
  setPhase("idle");
  emit({ type: "drained", confirmed });
}

export const PHOTO_LABELS = {
  location: "定位照片",
  scene: "走访场景",
  passbook: "存折/一折通",
  handbook: "明白卡/手册",
};

const EXTENSIONS = { "image/jpeg": "jpg", "image/png": "png", "image/heic": "heic" };

function photoFields(photo) {
  const fields = { id: photo.id, kind: photo.kind, client_taken_at: photo.takenAt };
  if (photo.fix) {
    Object.assign(fields, {
      client_lat: photo.fix.lat.toFixed(7),
      client_lon: photo.fix.lon.toFixed(7),
      client_accuracy_m: photo.fix.accuracy.toFixed(1),
      client_coord_system: "wgs84", // the Geolocation API's system
    });
  }
  return fields;
}

async function send(record, session, onPhoto) {
  const photos = new Map((await photosOf(record.id)).map((p) => [p.id, p]));
  const total = record.photoIds.length;
  const confirmed = () => [...photos.values()].filter((p) => p.sent).length;
  for (const [index, photoId] of record.photoIds.entries()) {
    const photo = photos.get(photoId);
    onPhoto(photo || null);
    if (!photo) throw new ApiError(-1, "photo_missing_on_phone", "手机上找不到照片");
    if (photo.sent) continue;
    const detail = { id: record.id, title: record.title, photo: index + 1, total, loaded: 0 };
    setPhase("sending", detail);
    await uploadPhoto({
      token: session.token,
      fields: photoFields(photo),
      blob: photo.blob,
      filename: `${photo.kind}.${EXTENSIONS[photo.blob.type] || "jpg"}`,
      onProgress: (loaded, size) => {
        setPhase("sending", { ...detail, loaded, size });
      },
    });
    await photoMarkSent(photo.id, true);
    photo.sent = true;
    await outboxUpdate(record.id, { photosSent: confirmed() });
    status.failures = 0; // the server answers again: the next failure starts the back-off anew
  }
  onPhoto(null);
  setPhase("sending", { id: record.id, title: record.title, photo: null, total });
  await request(record.endpoint, {
    method: "POST",
    token: session.token,
    json: record.body,
    timeoutMs: 60000,
  });
  await outboxConfirmed(record.id);
}
