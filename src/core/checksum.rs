//! Checksums for stored records: 64-bit FNV-1a. Not cryptographic; it exists
//! to detect torn or tampered records, and is cheap enough to run on load.

const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// Incremental 64-bit FNV-1a hasher.
#[derive(Clone, Copy, Debug)]
pub struct Hasher(u64);

impl Default for Hasher {
    fn default() -> Self {
        Hasher(OFFSET)
    }
}

impl Hasher {
    /// Feeds `bytes` into the hash.
    pub fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        for &b in bytes {
            h ^= b as u64;
            h = h.wrapping_mul(PRIME);
        }
        self.0 = h;
    }

    /// Feeds a length-prefixed field, so that ("ab","c") and ("a","bc")
    /// hash differently.
    pub fn field(&mut self, bytes: &[u8]) {
        self.write(&(bytes.len() as u64).to_le_bytes());
        self.write(bytes);
    }

    /// Feeds a number.
    pub fn u64(&mut self, n: u64) {
        self.write(&n.to_le_bytes());
    }

    /// The hash so far.
    pub fn finish(&self) -> u64 {
        self.0
    }
}

/// The hash of `bytes`.
pub fn hash(bytes: &[u8]) -> u64 {
    let mut h = Hasher::default();
    h.write(bytes);
    h.finish()
}

/// A hash as 16 lowercase hex digits (JS numbers cannot hold 64 bits).
pub fn to_hex(n: u64) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(16);
    for i in (0..16).rev() {
        out.push(DIGITS[((n >> (i * 4)) & 0xf) as usize] as char);
    }
    out
}

/// Parses what [`to_hex`] wrote.
pub fn from_hex(s: &str) -> Option<u64> {
    if s.len() != 16 {
        return None;
    }
    u64::from_str_radix(s, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // Reference values of FNV-1a 64.
        assert_eq!(hash(b""), 0xcbf29ce484222325);
        assert_eq!(hash(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(hash(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn fields_are_length_prefixed() {
        let mut a = Hasher::default();
        a.field(b"ab");
        a.field(b"c");
        let mut b = Hasher::default();
        b.field(b"a");
        b.field(b"bc");
        assert_ne!(a.finish(), b.finish());
    }

    #[test]
    fn hex_round_trips() {
        for n in [0u64, 1, 0xdead_beef, u64::MAX] {
            assert_eq!(from_hex(&to_hex(n)), Some(n));
        }
        assert_eq!(from_hex("xyz"), None);
        assert_eq!(from_hex("000000000000000g"), None);
    }
}
