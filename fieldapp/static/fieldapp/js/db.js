// The phone's own store (IndexedDB): the session, the last copy of the server's lists, visits
// being written (drafts), the outbox of saved visits, and their photos as Blobs.
//
// Writes that hold a visit use `durability: "strict"`: the transaction completes only once the
// data is on disk, so a visit the app called saved survives the browser being killed.
// Upgrades add stores; they never drop the outbox or the photos.

const NAME = "relief-fieldapp";
const VERSION = 1;

let opening = null;

export function openDb() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(NAME, VERSION);
      request.onupgradeneeded = (event) => {
        const db = request.result;
        if (event.oldVersion < 1) {
          db.createObjectStore("kv");
          db.createObjectStore("drafts", { keyPath: "key" });
          db.createObjectStore("outbox", { keyPath: "id" });
          db.createObjectStore("photos", { keyPath: "id" }).createIndex("visitId", "visitId");
        }
      };
      request.onsuccess = () => {
        const db = request.result;
        // Another tab opened a newer version: let it upgrade, reopen on next use.
        db.onversionchange = () => {
          db.close();
          opening = null;
        };
        resolve(db);
      };
      request.onerror = () => {
        opening = null;
        reject(request.error);
      };
    });
  }
  return opening;
}

export function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// Run `work(stores)` in one transaction and resolve with its result once the transaction has
// committed. `work` may await only requests of this transaction (anything else lets it close).
export async function transact(names, mode, work) {
  const db = await openDb();
  const options = mode === "readwrite" ? { durability: "strict" } : undefined;
  const tx = db.transaction(names, mode, options);
  const committed = new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new DOMException("transaction aborted", "AbortError"));
  });
  const stores = Object.fromEntries(names.map((name) => [name, tx.objectStore(name)]));
  let result;
  try {
    result = await work(stores);
  } catch (error) {
    try {
      tx.abort();
    } catch {
      // already finished
    }
    await committed.catch(() => {});
    throw error;
  }
  await committed;
  return result;
}

export const kvGet = (key) => transact(["kv"], "readonly", (s) => done(s.kv.get(key)));
export const kvSet = (key, value) =>
  transact(["kv"], "readwrite", (s) => done(s.kv.put(value, key)));
export const kvDelete = (key) => transact(["kv"], "readwrite", (s) => done(s.kv.delete(key)));

export function isQuotaError(error) {
  return Boolean(error) && (error.name === "QuotaExceededError" || error.code === 22);
}
