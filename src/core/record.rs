//! The stored form of a context, independent of where it is stored.
//!
//! A record is a header plus parallel lists of keys, stamps and encoded
//! values (JSON text; tombstones have none). Its checksum covers the header
//! and every entry, so a torn, truncated or edited record is detected on
//! load. Values are hashed once when they are encoded, so a save does not
//! re-hash the whole context.

use super::checksum::{self, Hasher};
use super::error::{Code, Error, Result};

/// The record layout written by this version. Bump it when the layout
/// changes; readers refuse layouts newer than they know.
pub const FORMAT: u32 = 1;

/// What a record says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Record layout version ([`FORMAT`]).
    pub format: u32,
    /// The app's schema version of the context (`SessionOptions.version`).
    pub schema: u32,
    /// The context revision that was saved.
    pub revision: u64,
    /// When it was saved (ms since the epoch).
    pub saved_at: u64,
}

/// One entry as the checksum sees it.
#[derive(Clone, Copy, Debug)]
pub struct Digest<'a> {
    /// The key.
    pub key: &'a str,
    /// The stamp, encoded.
    pub stamp: &'a str,
    /// Hash of the encoded value; `None` for a tombstone.
    pub value_hash: Option<u64>,
}

/// The checksum of a record with `header` and `entries` (in stored order).
pub fn checksum<'a>(header: &Header, entries: impl IntoIterator<Item = Digest<'a>>) -> u64 {
    let mut sum = Summer::new(header);
    for e in entries {
        sum.entry(e);
    }
    sum.finish()
}

/// [`checksum`] fed one entry at a time, so a writer need not keep every
/// entry's stamp text alive until the end.
pub struct Summer(Hasher);

impl Summer {
    /// Starts the checksum of a record with `header`.
    pub fn new(header: &Header) -> Self {
        let mut h = Hasher::default();
        h.u64(header.format as u64);
        h.u64(header.schema as u64);
        h.u64(header.revision);
        h.u64(header.saved_at);
        Summer(h)
    }

    /// Adds the next entry.
    pub fn entry(&mut self, e: Digest) {
        let h = &mut self.0;
        h.field(e.key.as_bytes());
        h.field(e.stamp.as_bytes());
        match e.value_hash {
            Some(v) => {
                h.u64(1);
                h.u64(v);
            }
            None => h.u64(0),
        }
    }

    /// The checksum.
    pub fn finish(&self) -> u64 {
        self.0.finish()
    }
}

/// Checks a loaded record: a layout this version can read and a checksum
/// that matches. The error says what is wrong, for the `recovered` event.
pub fn verify<'a>(
    header: &Header,
    stored_sum: &str,
    entries: impl IntoIterator<Item = Digest<'a>>,
) -> Result<()> {
    if header.format == 0 || header.format > FORMAT {
        return Err(Error::new(
            Code::StorageUnavailable,
            format!(
                "stored record has layout {} but this version reads up to {}; update session-persist",
                header.format, FORMAT
            ),
        ));
    }
    let expected = checksum::from_hex(stored_sum).ok_or_else(|| {
        Error::new(
            Code::StorageUnavailable,
            "stored record has no valid checksum",
        )
    })?;
    if checksum(header, entries) != expected {
        return Err(Error::new(
            Code::StorageUnavailable,
            "stored record does not match its checksum (torn write or edited storage)",
        ));
    }
    Ok(())
}

/// What to do with a stored record of schema `stored` in an app of schema
/// `ours`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaCheck {
    /// Same version: use it.
    Current,
    /// Older: migrate it (or use it as it is, if the app gives no `migrate`).
    Older,
    /// Newer: written by a newer app. Neither load nor overwrite it.
    Newer,
}

/// Compares a stored schema version with the app's.
pub fn check_schema(stored: u32, ours: u32) -> SchemaCheck {
    match stored.cmp(&ours) {
        std::cmp::Ordering::Equal => SchemaCheck::Current,
        std::cmp::Ordering::Less => SchemaCheck::Older,
        std::cmp::Ordering::Greater => SchemaCheck::Newer,
    }
}

/// Of the candidate records (index, header if it verified), the one to
/// recover from: the newest valid, by save time, then revision.
pub fn newest_valid(candidates: &[(usize, Option<Header>)]) -> Option<usize> {
    candidates
        .iter()
        .filter_map(|(i, h)| h.as_ref().map(|h| (h.saved_at, h.revision, *i)))
        .max()
        .map(|(_, _, i)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            format: FORMAT,
            schema: 2,
            revision: 7,
            saved_at: 1000,
        }
    }

    fn entries() -> Vec<Digest<'static>> {
        vec![
            Digest {
                key: "a",
                stamp: "1.0.t",
                value_hash: Some(checksum::hash(b"1")),
            },
            Digest {
                key: "gone",
                stamp: "2.0.t",
                value_hash: None,
            },
        ]
    }

    #[test]
    fn a_matching_record_verifies() {
        let sum = checksum::to_hex(checksum(&header(), entries()));
        assert!(verify(&header(), &sum, entries()).is_ok());
    }

    #[test]
    fn any_change_is_detected() {
        let sum = checksum::to_hex(checksum(&header(), entries()));
        let mut h = header();
        h.revision = 8;
        assert!(verify(&h, &sum, entries()).is_err());
        let mut e = entries();
        e[0].value_hash = Some(checksum::hash(b"2"));
        assert!(verify(&header(), &sum, e).is_err());
        let mut e = entries();
        e[1].value_hash = Some(0);
        assert!(verify(&header(), &sum, e).is_err());
        assert!(verify(&header(), &sum, entries().into_iter().take(1)).is_err());
        assert!(verify(&header(), "nope", entries()).is_err());
    }

    #[test]
    fn schema_versions_compare() {
        assert_eq!(check_schema(1, 1), SchemaCheck::Current);
        assert_eq!(check_schema(0, 2), SchemaCheck::Older);
        assert_eq!(check_schema(3, 2), SchemaCheck::Newer);
    }

    #[test]
    fn recovery_picks_the_newest_valid_record() {
        let h = |saved_at, revision| {
            Some(Header {
                format: FORMAT,
                schema: 0,
                revision,
                saved_at,
            })
        };
        assert_eq!(
            newest_valid(&[(0, h(10, 1)), (1, None), (2, h(30, 3)), (3, h(20, 9))]),
            Some(2)
        );
        assert_eq!(newest_valid(&[(0, h(10, 1)), (1, h(10, 2))]), Some(1));
        assert_eq!(newest_valid(&[(0, None), (1, None)]), None);
        assert_eq!(newest_valid(&[]), None);
    }

    #[test]
    fn newer_layouts_are_refused() {
        let mut h = header();
        h.format = FORMAT + 1;
        let sum = checksum::to_hex(checksum(&h, entries()));
        let err = verify(&h, &sum, entries()).unwrap_err();
        assert!(err.message.contains("update session-persist"));
    }
}
