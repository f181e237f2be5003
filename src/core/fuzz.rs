//! Fuzzing of the pure decoders and checks, natively with proptest: every
//! input, however malformed, gives an answer (never a panic), and whatever
//! decodes re-encodes to itself. `PROPTEST_CASES` scales the runs (CI uses
//! the default of these tests; a long run is `PROPTEST_CASES=200000`).

use proptest::prelude::*;

use super::checksum::{self, from_hex, to_hex};
use super::clock::Stamp;
use super::record::{self, Digest, Header, FORMAT};

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    ProptestConfig::with_cases(cases)
}

/// Strings near the stamp grammar: digits, dots, and a few hostile characters.
fn stampish() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9.]{0,30}",
        "[0-9]{1,25}\\.[0-9]{1,12}\\.[a-z0-9.~-]{0,12}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn stamp_decode_never_panics_and_round_trips(s in stampish()) {
        if let Some(stamp) = Stamp::decode(&s) {
            prop_assert_eq!(Stamp::decode(&stamp.encode()), Some(stamp));
        }
    }

    #[test]
    fn hex_decode_never_panics_and_round_trips(s in "[0-9a-fA-Fx+-]{0,20}") {
        if let Some(n) = from_hex(&s) {
            prop_assert_eq!(from_hex(&to_hex(n)), Some(n));
        }
    }

    #[test]
    fn verify_accepts_exactly_the_matching_checksum(
        schema in any::<u32>(),
        revision in any::<u64>(),
        saved_at in any::<u64>(),
        entries in prop::collection::vec((any::<String>(), stampish(), prop::option::of(any::<u64>())), 0..8),
        flip in any::<u64>(),
        format in prop_oneof![Just(FORMAT), any::<u32>()],
    ) {
        let header = Header { format, schema, revision, saved_at };
        let digests: Vec<Digest> = entries
            .iter()
            .map(|(k, s, v)| Digest { key: k, stamp: s, value_hash: *v })
            .collect();
        let sum = record::checksum(&header, digests.iter().copied());
        let ok = record::verify(&header, &to_hex(sum), digests.iter().copied());
        prop_assert_eq!(ok.is_ok(), format >= 1 && format <= FORMAT);
        // Any other checksum is refused (flip != 0 changes it).
        if flip != 0 {
            prop_assert!(record::verify(&header, &to_hex(sum ^ flip), digests.iter().copied()).is_err());
        }
        // Garbage in the checksum field is refused, not a panic.
        prop_assert!(record::verify(&header, "not hex at all!!", digests.iter().copied()).is_err());
    }

    #[test]
    fn hashing_is_stable_and_sensitive(bytes in prop::collection::vec(any::<u8>(), 0..256), i in any::<usize>()) {
        let h = checksum::hash(&bytes);
        prop_assert_eq!(h, checksum::hash(&bytes));
        if !bytes.is_empty() {
            let mut changed = bytes.clone();
            let i = i % changed.len();
            changed[i] ^= 0x55;
            prop_assert_ne!(h, checksum::hash(&changed));
        }
    }
}
