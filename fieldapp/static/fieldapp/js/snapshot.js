// The last copy of what the server said: the reporting window, my households (or my unit's
// weak villages) with this quarter's status, and my visits of the quarter with their flags.
// Kept on the phone so the app opens with no network; refreshed whenever the server answers.

import { request, requestAll } from "./api.js";
import { kvGet, kvSet } from "./db.js";

const KEY = "snapshot";

export const isUnit = (session) => session && session.me && session.me.role === "unit";

export async function loadSnapshot(session) {
  const snapshot = await kvGet(KEY);
  return snapshot && session && snapshot.username === session.username ? snapshot : null;
}

export async function refreshSnapshot(session) {
  const token = session.token;
  const { data: window } = await request("/visits/window", { token });
  const quarter = encodeURIComponent(window.quarter);
  const unit = isUnit(session);
  const [places, visits] = await Promise.all([
    requestAll(unit ? `/me/villages?quarter=${quarter}` : `/me/households?quarter=${quarter}`, {
      token,
    }),
    requestAll(unit ? `/me/village-visits?quarter=${quarter}` : `/me/visits?quarter=${quarter}`, {
      token,
    }),
  ]);
  const snapshot = {
    username: session.username,
    fetchedAt: new Date().toISOString(),
    window,
    places,
    visits,
  };
  await kvSet(KEY, snapshot);
  return snapshot;
}

// A household or village by its key in the app ("h:<id>" or "v:<code>").
export function placeKey(session, place) {
  return isUnit(session) ? `v:${place.village}` : `h:${place.id}`;
}

export function findPlace(session, snapshot, key) {
  if (!snapshot) return null;
  return snapshot.places.find((place) => placeKey(session, place) === key) || null;
}
