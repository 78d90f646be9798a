// The phone's space for the outbox. Browsers may evict a site's data under storage pressure
// unless it is "persistent": the app asks for that at login and on each save, and warns when
// the space left would not hold another visit's photos (4 photos of 2-7 MB each).

const LOW_BYTES = 100 * 1024 * 1024;

export async function askPersistence() {
  if (!navigator.storage || !navigator.storage.persist) return null;
  try {
    if (await navigator.storage.persisted()) return true;
    return await navigator.storage.persist();
  } catch {
    return null;
  }
}

// {persisted, usage, quota, free, low} where the browser says; null where it does not.
export async function spaceStatus() {
  if (!navigator.storage || !navigator.storage.estimate) return null;
  try {
    const [{ usage = 0, quota = 0 }, persisted] = await Promise.all([
      navigator.storage.estimate(),
      navigator.storage.persisted ? navigator.storage.persisted() : Promise.resolve(null),
    ]);
    const free = Math.max(0, quota - usage);
    return { persisted, usage, quota, free, low: quota > 0 && free < LOW_BYTES };
  } catch {
    return null;
  }
}

export function megabytes(bytes) {
  return `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MB`;
}
