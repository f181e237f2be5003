//! Snapshot bookkeeping: the index entry of each snapshot and the retention
//! rule. Snapshot contents are records (see [`super::record`]).

/// Why a snapshot exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Taken by `createSnapshot`.
    Manual,
    /// Taken by the library to keep data it would otherwise replace.
    Auto,
    /// Taken just before a restore, so the restore can be undone.
    PreRestore,
}

impl Source {
    /// The string exposed to JS.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Manual => "manual",
            Source::Auto => "auto",
            Source::PreRestore => "pre-restore",
        }
    }

    /// Parses [`Source::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Source> {
        match s {
            "manual" => Some(Source::Manual),
            "auto" => Some(Source::Auto),
            "pre-restore" => Some(Source::PreRestore),
            _ => None,
        }
    }
}

/// What the snapshot index holds about one snapshot.
#[derive(Clone, Debug, PartialEq)]
pub struct Info {
    /// Unique id.
    pub id: String,
    /// Name given by the app (may be empty).
    pub name: String,
    /// When it was taken (ms since the epoch).
    pub created_at: u64,
    /// Why it was taken.
    pub source: Source,
    /// Stored size of its context, in bytes.
    pub bytes: usize,
}

/// How many snapshots to keep and for how long.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Retention {
    /// Keep at most this many (newest first).
    pub max_count: usize,
    /// Drop snapshots older than this many days (0: no age limit).
    pub max_age_days: f64,
}

const DAY_MS: f64 = 86_400_000.0;

/// Applies `retention` at time `now` to an index sorted newest first.
/// Returns the ids that must be deleted; `index` keeps the rest.
pub fn retain(index: &mut Vec<Info>, retention: Retention, now: u64) -> Vec<String> {
    sort_newest_first(index);
    let oldest_allowed = if retention.max_age_days > 0.0 {
        now as f64 - retention.max_age_days * DAY_MS
    } else {
        f64::NEG_INFINITY
    };
    let mut evicted = Vec::new();
    let mut kept = Vec::with_capacity(index.len());
    for info in index.drain(..) {
        if kept.len() < retention.max_count && info.created_at as f64 >= oldest_allowed {
            kept.push(info);
        } else {
            evicted.push(info.id);
        }
    }
    *index = kept;
    evicted
}

/// Newest first; ties broken by id so the order is stable.
pub fn sort_newest_first(index: &mut [Info]) {
    super::keymap::sort_by(index, |a, b| (b.created_at, &b.id) < (a.created_at, &a.id));
}

/// A snapshot id: time-ordered, with `random` bits so that two tabs taking
/// one in the same millisecond do not collide.
pub fn new_id(now: u64, random: u64) -> String {
    let mut id = String::from("s");
    id.push_str(&radix36(now));
    id.push('-');
    id.push_str(&radix36(random & 0xffff_ffff_ffff));
    id
}

fn radix36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str, created_at: u64) -> Info {
        Info {
            id: id.into(),
            name: String::new(),
            created_at,
            source: Source::Manual,
            bytes: 1,
        }
    }

    #[test]
    fn keeps_the_newest_by_count() {
        let mut idx: Vec<_> = (0..12).map(|i| info(&format!("s{i:02}"), i)).collect();
        let evicted = retain(
            &mut idx,
            Retention {
                max_count: 10,
                max_age_days: 0.0,
            },
            100,
        );
        assert_eq!(evicted, ["s01", "s00"]);
        assert_eq!(idx.len(), 10);
        assert_eq!(idx[0].id, "s11");
    }

    #[test]
    fn drops_by_age() {
        let now = 40 * DAY_MS as u64;
        let mut idx = vec![info("old", 0), info("new", now - 1)];
        let evicted = retain(
            &mut idx,
            Retention {
                max_count: 10,
                max_age_days: 30.0,
            },
            now,
        );
        assert_eq!(evicted, ["old"]);
        assert_eq!(idx, [info("new", now - 1)]);
    }

    #[test]
    fn sources_round_trip() {
        for s in [Source::Manual, Source::Auto, Source::PreRestore] {
            assert_eq!(Source::parse(s.as_str()), Some(s));
        }
        assert_eq!(Source::parse("x"), None);
    }

    #[test]
    fn ids_are_distinct_and_time_ordered_in_length_then_text() {
        let a = new_id(1_700_000_000_000, 1);
        let b = new_id(1_700_000_000_000, 2);
        let c = new_id(1_700_000_000_001, 1);
        assert_ne!(a, b);
        assert!(a < c);
        assert!(a.starts_with('s'));
    }
}
