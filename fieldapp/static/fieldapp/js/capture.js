// Where the phone is when a photo is taken. Phones strip GPS from photos handed to a web page,
// so the app reads the device's own position (high accuracy, with its accuracy and time) at
// each capture and sends it with that photo. A watch runs while the visit form is open, so a
// capture usually finds a fresh fix at once instead of waiting for the GPS.

const FRESH_MS = 30000; // a fix older than this is not "where the photo was taken"
const WAIT_MS = 15000; // how long a capture waits for a new fix before saving without one

export const GEO_ERRORS = {
  1: "未允许使用位置信息:请在浏览器设置中允许本应用定位",
  2: "暂时无法定位:请到室外或打开 GPS",
  3: "定位超时:请到开阔处稍等后重拍",
  unsupported: "此浏览器不支持定位",
};

function toFix(position) {
  const c = position.coords;
  return { lat: c.latitude, lon: c.longitude, accuracy: c.accuracy, at: position.timestamp };
}

export class PositionTracker {
  constructor() {
    this.last = null;
    this.error = null;
    this.watchId = null;
    this.listeners = new Set();
  }

  start() {
    if (!("geolocation" in navigator)) {
      this.error = "unsupported";
      return;
    }
    if (this.watchId !== null) return;
    this.watchId = navigator.geolocation.watchPosition(
      (position) => {
        this.last = toFix(position);
        this.error = null;
        this.notify();
      },
      (error) => {
        this.error = error.code;
        this.notify();
      },
      { enableHighAccuracy: true, maximumAge: 0, timeout: 60000 },
    );
  }

  stop() {
    if (this.watchId !== null) navigator.geolocation.clearWatch(this.watchId);
    this.watchId = null;
    this.listeners.clear();
  }

  onChange(listener) {
    this.listeners.add(listener);
  }

  notify() {
    for (const listener of this.listeners) listener(this);
  }

  // The position now: the watch's last fix if fresh, else a new reading (or null, with
  // `error` saying why).
  fixNow() {
    if (this.last && Date.now() - this.last.at < FRESH_MS) return Promise.resolve(this.last);
    if (!("geolocation" in navigator)) return Promise.resolve(null);
    return new Promise((resolve) => {
      navigator.geolocation.getCurrentPosition(
        (position) => {
          this.last = toFix(position);
          this.notify();
          resolve(this.last);
        },
        (error) => {
          this.error = error.code;
          this.notify();
          resolve(null);
        },
        { enableHighAccuracy: true, maximumAge: FRESH_MS, timeout: WAIT_MS },
      );
    });
  }
}

// A photo as the outbox keeps it: the file itself (untouched: its bytes are the evidence), the
// phone's clock when the app received it, and the position read then.
export async function capturePhoto(file, kind, tracker, newId) {
  const takenAt = new Date().toISOString();
  const fix = await tracker.fixNow();
  return {
    id: newId(),
    kind,
    blob: file,
    name: file.name || "",
    size: file.size,
    takenAt,
    fix,
    fixError: fix ? null : tracker.error || "unsupported",
  };
}
