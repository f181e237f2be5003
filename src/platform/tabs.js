// Tab presence through Web Locks: each open session holds a lock named for
// its tab, released by the browser when the tab goes away. Lets a tab know
// whether any other tab is alive (and so worth asking for unsaved state),
// and detect a duplicated tab that copied our tab id from sessionStorage.

const releases = new Map();
const lockName = (name, tabId) => `session-persist:${name}:tab:${tabId}`;

/** Resolves true once this tab holds its lock, false if another live tab holds it. */
export function claimTab(name, tabId) {
  const locks = globalThis.navigator?.locks;
  if (!locks) return Promise.resolve(true);
  const key = lockName(name, tabId);
  return new Promise((resolve) => {
    locks
      .request(key, { ifAvailable: true }, (lock) => {
        if (!lock) return resolve(false);
        resolve(true);
        return new Promise((release) => releases.set(key, release));
      })
      .catch(() => resolve(true));
  });
}

/** Releases what claimTab took. */
export function releaseTab(name, tabId) {
  const key = lockName(name, tabId);
  releases.get(key)?.();
  releases.delete(key);
}

/** How many other tabs hold a session of `name`; -1 when it cannot be known. */
export async function countOtherTabs(name, tabId) {
  const locks = globalThis.navigator?.locks;
  if (!locks) return -1;
  try {
    const prefix = lockName(name, "");
    const { held = [] } = await locks.query();
    return held.filter((l) => l.name?.startsWith(prefix) && l.name !== prefix + tabId).length;
  } catch {
    return -1;
  }
}
