// The cross-tab refresh lock through Web Locks: held from the grant until
// release() is called, or until the tab goes away (the browser frees it).

/** null where Web Locks are missing; else a promise of the release function. */
export function requestLock(name) {
  const locks = globalThis.navigator?.locks;
  if (typeof locks?.request !== "function") return null;
  return new Promise((granted, failed) => {
    locks.request(name, () => new Promise((release) => granted(release))).catch(failed);
  });
}
