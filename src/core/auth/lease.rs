//! The lease behind the cross-tab refresh lock where Web Locks are missing:
//! a record naming the tab that holds the lock and until when. It is taken
//! with an atomic read-modify-write (an IndexedDB transaction), so two tabs
//! can never both take a free lease; it expires, so a tab that died holding
//! it cannot block the others for longer than the lease.

/// Who holds the lock, and until when (epoch ms).
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(test, derive(Debug))]
pub struct Lease {
    /// The holder's random id.
    pub owner: String,
    /// When the lease lapses unless renewed.
    pub until: u64,
}

/// The lease `me` writes at `now` for `ttl` ms: `Some` when the lock is
/// free, lapsed, or already `me`'s (a renewal); `None` while another tab
/// holds it.
pub fn take(current: Option<&Lease>, me: &str, now: u64, ttl: u64) -> Option<Lease> {
    match current {
        Some(l) if l.owner != me && l.until > now => None,
        _ => Some(Lease {
            owner: me.into(),
            until: now.saturating_add(ttl),
        }),
    }
}

/// Whether `me` may delete the lease `current` (only its own).
pub fn may_release(current: Option<&Lease>, me: &str) -> bool {
    matches!(current, Some(l) if l.owner == me)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lease(owner: &str, until: u64) -> Lease {
        Lease {
            owner: owner.into(),
            until,
        }
    }

    #[test]
    fn free_lapsed_or_own() {
        assert_eq!(take(None, "a", 100, 50), Some(lease("a", 150)));
        assert_eq!(take(Some(&lease("b", 200)), "a", 100, 50), None);
        assert_eq!(
            take(Some(&lease("b", 100)), "a", 100, 50),
            Some(lease("a", 150))
        );
        assert_eq!(
            take(Some(&lease("a", 200)), "a", 100, 50),
            Some(lease("a", 150))
        );
        assert!(may_release(Some(&lease("a", 1)), "a"));
        assert!(!may_release(Some(&lease("b", 1)), "a"));
        assert!(!may_release(None, "a"));
    }

    proptest! {
        /// Applied one after another (as atomic transactions are), takes by
        /// several tabs never let two hold an unexpired lease at once.
        #[test]
        fn one_holder_at_a_time(ops in proptest::collection::vec((0u8..3, 0u64..100, any::<bool>()), 1..200)) {
            let ttl = 30;
            let mut now = 0;
            let mut stored: Option<Lease> = None;
            for (tab, dt, release) in ops {
                now += dt;
                let me = ["a", "b", "c"][tab as usize];
                if release {
                    if may_release(stored.as_ref(), me) {
                        stored = None;
                    }
                    continue;
                }
                let before = stored.clone();
                if let Some(l) = take(stored.as_ref(), me, now, ttl) {
                    // Taking is allowed only from nobody, a lapsed lease, or oneself.
                    if let Some(b) = &before {
                        prop_assert!(b.owner == me || b.until <= now);
                    }
                    stored = Some(l);
                }
            }
        }
    }
}
