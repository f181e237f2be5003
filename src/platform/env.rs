//! Time, randomness and per-tab identity.

use js_sys::Math;

/// Wall-clock time in ms since the epoch.
pub fn now() -> u64 {
    js_sys::Date::now() as u64
}

/// 52 random bits. Ids only need to be unlikely to collide, not secret.
pub fn random() -> u64 {
    let hi = (Math::random() * (1u64 << 26) as f64) as u64;
    let lo = (Math::random() * (1u64 << 26) as f64) as u64;
    (hi << 26) | lo
}

/// A short random id with `prefix`, e.g. `t3k9x2m1q`.
pub fn random_id(prefix: &str) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut n = random();
    let mut id = String::from(prefix);
    for _ in 0..10 {
        id.push(DIGITS[(n % 36) as usize] as char);
        n /= 36;
    }
    id
}

/// `window.localStorage`, if this page may use it (it throws when storage is
/// disabled, and in some sandboxed frames).
pub fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

const TAB_KEY: &str = "session-persist:tabId";

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.session_storage().ok().flatten())
}

/// This tab's id, kept in `sessionStorage` so it survives the tab's reloads
/// and no other tab sees it. Without `sessionStorage`, a new id per page.
pub fn tab_id() -> String {
    if let Some(s) = session_storage() {
        if let Ok(Some(id)) = s.get_item(TAB_KEY) {
            if !id.is_empty() {
                return id;
            }
        }
    }
    new_tab_id()
}

/// A new id for this tab, replacing the kept one: for a duplicated tab,
/// which starts with a copy of the original's `sessionStorage`.
pub fn new_tab_id() -> String {
    let storage = session_storage();
    let id = random_id("t");
    if let Some(s) = storage {
        let _ = s.set_item(TAB_KEY, &id);
    }
    id
}
