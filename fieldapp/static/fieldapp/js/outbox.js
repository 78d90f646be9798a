// Visits on the phone: the one being written (a draft, saved with every photo taken, because
// phones often kill the page while the camera is open) and the saved ones waiting in the
// outbox until the server has confirmed each photo and the visit.
//
// A visit's id (a UUID) is made when its draft starts and never changes: saving twice writes
// the same outbox record, and sending twice is a replay the server recognises.

import { done, transact } from "./db.js";

export function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// --- Drafts ---------------------------------------------------------------------------------
// One draft per account and household (or village): another account on the same phone never
// continues, or sends, someone else's.

export const draftKey = (owner, placeKey) => `${owner}|${placeKey}`;

export const draftGet = (key) => transact(["drafts"], "readonly", (s) => done(s.drafts.get(key)));

export function draftOpen(owner, placeKey) {
  const key = draftKey(owner, placeKey);
  return transact(["drafts"], "readwrite", async (s) => {
    const existing = await done(s.drafts.get(key));
    if (existing) return existing;
    const draft = {
      key,
      owner,
      placeKey,
      visitId: newId(),
      startedAt: new Date().toISOString(),
      photos: {},
      fields: {},
    };
    await done(s.drafts.put(draft));
    return draft;
  });
}

export function draftSetFields(key, fields) {
  return transact(["drafts"], "readwrite", async (s) => {
    const draft = await done(s.drafts.get(key));
    if (!draft) return null;
    draft.fields = { ...draft.fields, ...fields };
    await done(s.drafts.put(draft));
    return draft;
  });
}

// Keep a photo just taken (replacing the one of its kind), in the same transaction as the
// draft that names it.
export function draftPutPhoto(key, photo) {
  return transact(["drafts", "photos"], "readwrite", async (s) => {
    const draft = await done(s.drafts.get(key));
    if (!draft) throw new Error("draft gone");
    const previous = draft.photos[photo.kind];
    if (previous) await done(s.photos.delete(previous));
    await done(s.photos.put({ ...photo, visitId: draft.visitId, sent: false }));
    draft.photos = { ...draft.photos, [photo.kind]: photo.id };
    await done(s.drafts.put(draft));
    return draft;
  });
}

export function photosOf(visitId) {
  return transact(["photos"], "readonly", (s) =>
    done(s.photos.index("visitId").getAll(IDBKeyRange.only(visitId))),
  );
}

export function draftDiscard(key) {
  return transact(["drafts", "photos"], "readwrite", async (s) => {
    const draft = await done(s.drafts.get(key));
    if (!draft) return;
    for (const id of Object.values(draft.photos)) await done(s.photos.delete(id));
    await done(s.drafts.delete(key));
  });
}

// --- The outbox -----------------------------------------------------------------------------

// The draft becomes a saved visit in one transaction: it is in the outbox, or still a draft.
export function outboxSave(key, record) {
  return transact(["drafts", "outbox", "photos"], "readwrite", async (s) => {
    const draft = await done(s.drafts.get(key));
    if (!draft || draft.visitId !== record.id) throw new Error("draft gone");
    const ids = Object.values(draft.photos);
    for (const id of ids) {
      if (!(await done(s.photos.get(id)))) throw new Error(`photo ${id} missing`);
    }
    const saved = {
      ...record,
      owner: draft.owner,
      placeKey: draft.placeKey,
      photoIds: ids,
      savedAt: new Date().toISOString(),
      state: "waiting",
      attempts: 0,
      lastError: null,
    };
    await done(s.outbox.put(saved));
    await done(s.drafts.delete(key));
    return saved;
  });
}

export async function outboxList() {
  const records = await transact(["outbox"], "readonly", (s) => done(s.outbox.getAll()));
  return records.sort((a, b) => a.savedAt.localeCompare(b.savedAt));
}

export const outboxGet = (id) => transact(["outbox"], "readonly", (s) => done(s.outbox.get(id)));

export function outboxUpdate(id, changes) {
  return transact(["outbox"], "readwrite", async (s) => {
    const record = await done(s.outbox.get(id));
    if (!record) return null;
    const updated = { ...record, ...changes };
    await done(s.outbox.put(updated));
    return updated;
  });
}

export function photoMarkSent(id, sent) {
  return transact(["photos"], "readwrite", async (s) => {
    const photo = await done(s.photos.get(id));
    if (!photo) return;
    await done(s.photos.put({ ...photo, sent, sentAt: sent ? new Date().toISOString() : null }));
  });
}

// The server confirmed the visit: it leaves the phone, with its photos, in one transaction.
export function outboxConfirmed(id) {
  return transact(["outbox", "photos"], "readwrite", async (s) => {
    const record = await done(s.outbox.get(id));
    if (!record) return;
    for (const photoId of record.photoIds) await done(s.photos.delete(photoId));
    await done(s.outbox.delete(id));
  });
}

// Only a visit the server refused may be thrown away, and only by the helper.
export function outboxDiscard(id) {
  return transact(["outbox", "photos"], "readwrite", async (s) => {
    const record = await done(s.outbox.get(id));
    if (!record || record.state !== "refused") return false;
    for (const photoId of record.photoIds) await done(s.photos.delete(photoId));
    await done(s.outbox.delete(id));
    return true;
  });
}
