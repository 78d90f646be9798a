// Talking to /api/v1: every answer becomes data or an ApiError in the API's one error shape
// ({code, message, detail}); a request that got no answer at all is status 0, "network".

const BASE = "/api/v1";

export class ApiError extends Error {
  constructor(status, code, message, detail = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.detail = detail || {};
  }

  // Worth trying again by itself: no answer, a timeout, throttling, the server unavailable.
  get transient() {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }

  get unauthorized() {
    return this.status === 401;
  }
}

const NO_ANSWER = "网络不通或服务器没有应答,稍后自动重试";

function errorFrom(status, body) {
  if (body && typeof body === "object" && body.code) {
    return new ApiError(status, body.code, body.message || body.code, body.detail);
  }
  if (status >= 500) return new ApiError(status, "server_error", "服务器暂时出错,稍后自动重试");
  return new ApiError(status, `http_${status}`, `服务器返回 ${status}`);
}

function headers(token, extra = {}) {
  // The app speaks Chinese whatever the phone's language: so do the server's messages.
  const out = { Accept: "application/json", "Accept-Language": "zh-Hans", ...extra };
  if (token) out.Authorization = `Bearer ${token}`;
  return out;
}

// A JSON request. Resolves {status, data}; rejects with ApiError.
export async function request(path, { method = "GET", token, json, timeoutMs = 20000 } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    let response;
    try {
      response = await fetch(BASE + path, {
        method,
        headers: headers(token, json === undefined ? {} : { "Content-Type": "application/json" }),
        body: json === undefined ? undefined : JSON.stringify(json),
        signal: controller.signal,
        cache: "no-store",
        credentials: "omit", // the token alone: no session cookie, so no CSRF question
      });
    } catch {
      throw new ApiError(0, "network", NO_ANSWER);
    }
    let data = null;
    try {
      data = response.status === 204 ? null : await response.json();
    } catch {
      // A cut in the middle of the answer: for a success we do not know what the server
      // said, so it counts as no answer (the retry is safe: the ids make it a replay).
      if (response.ok) throw new ApiError(0, "network", NO_ANSWER);
    }
    if (!response.ok) throw errorFrom(response.status, data);
    return { status: response.status, data };
  } finally {
    clearTimeout(timer);
  }
}

// Every page of a paginated list.
export async function requestAll(path, { token, pageSize = 200 } = {}) {
  const items = [];
  const join = path.includes("?") ? "&" : "?";
  for (let page = 1; page < 1000; page += 1) {
    const { data } = await request(`${path}${join}page=${page}&page_size=${pageSize}`, { token });
    items.push(...data.items);
    if (items.length >= data.count || data.items.length === 0) break;
  }
  return items;
}

// One photo, multipart, with upload progress (which fetch cannot report). The timeout grows
// with the size: a 7 MB photo over a weak 2G-class link (~16 kB/s) still gets its minutes.
export function uploadPhoto({ token, fields, blob, filename, onProgress }) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) {
      if (value !== undefined && value !== null) form.append(name, String(value));
    }
    form.append("file", blob, filename);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${BASE}/photos`);
    for (const [name, value] of Object.entries(headers(token))) xhr.setRequestHeader(name, value);
    xhr.timeout = 30000 + Math.ceil(blob.size / 16);
    if (onProgress) xhr.upload.onprogress = (e) => onProgress(e.loaded, e.total || blob.size);
    xhr.onload = () => {
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        data = null;
      }
      if (xhr.status === 200 || xhr.status === 201) {
        if (data === null) reject(new ApiError(0, "network", NO_ANSWER));
        else resolve({ status: xhr.status, data });
      } else {
        reject(errorFrom(xhr.status, data));
      }
    };
    const noAnswer = () => reject(new ApiError(0, "network", NO_ANSWER));
    xhr.onerror = noAnswer;
    xhr.ontimeout = noAnswer;
    xhr.onabort = noAnswer;
    xhr.send(form);
  });
}
