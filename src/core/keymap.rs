//! A map from string keys to values, kept as one vector sorted by key.
//!
//! Used instead of `BTreeMap`/`HashMap` because it compiles to a fraction of
//! their code (the wasm size budget), and contexts are small enough (tens to
//! thousands of keys) that a binary search plus a vector shift is as fast.
//! Records are stored in key order, so building one from storage only
//! appends.

/// String keys to `V`, iterated in key order.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyMap<V> {
    items: Vec<(String, V)>,
}

impl<V> Default for KeyMap<V> {
    fn default() -> Self {
        KeyMap { items: Vec::new() }
    }
}

impl<V> KeyMap<V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        // Appending in key order (loading a record) skips the search.
        match self.items.last() {
            Some((last, _)) if last.as_str() < key => Err(self.items.len()),
            _ => self.items.binary_search_by(|(k, _)| k.as_str().cmp(key)),
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.find(key).ok().map(|i| &self.items[i].1)
    }

    /// The value of `key`, to change it.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.find(key).ok().map(|i| &mut self.items[i].1)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value`; returns the value it replaces.
    pub fn insert(&mut self, key: String, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.items[i].1, value)),
            Err(i) => {
                self.items.insert(i, (key, value));
                None
            }
        }
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<V> {
        self.find(key).ok().map(|i| self.items.remove(i).1)
    }

    /// Keeps the entries for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &mut V) -> bool) {
        self.items.retain_mut(|(k, v)| keep(k, v));
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.items.iter().map(|(k, v)| (k, v))
    }

    /// Values in key order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.items.iter().map(|(_, v)| v)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl<V> IntoIterator for KeyMap<V> {
    type Item = (String, V);
    type IntoIter = std::vec::IntoIter<(String, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a, V> IntoIterator for &'a KeyMap<V> {
    type Item = (&'a String, &'a V);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, V)>,
        fn(&'a (String, V)) -> (&'a String, &'a V),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter().map(|(k, v)| (k, v))
    }
}

impl<V> FromIterator<(String, V)> for KeyMap<V> {
    /// Later duplicates of a key replace earlier ones, as with `BTreeMap`.
    fn from_iter<I: IntoIterator<Item = (String, V)>>(iter: I) -> Self {
        let mut map = KeyMap::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

/// Sorts `v` in place by `less`, not stably (callers break ties).
/// A heap sort: a few hundred bytes of wasm where `slice::sort_by` costs
/// kilobytes per element type.
pub fn sort_by<T>(v: &mut [T], less: impl Fn(&T, &T) -> bool) {
    fn sift<T>(v: &mut [T], mut root: usize, end: usize, less: &impl Fn(&T, &T) -> bool) {
        loop {
            let mut child = 2 * root + 1;
            if child >= end {
                return;
            }
            if child + 1 < end && less(&v[child], &v[child + 1]) {
                child += 1;
            }
            if !less(&v[root], &v[child]) {
                return;
            }
            v.swap(root, child);
            root = child;
        }
    }
    let n = v.len();
    for i in (0..n / 2).rev() {
        sift(v, i, n, &less);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift(v, 0, end, &less);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_keys_sorted_and_unique() {
        let mut m = KeyMap::new();
        for (k, v) in [("b", 1), ("a", 2), ("c", 3), ("b", 4)] {
            m.insert(k.to_string(), v);
        }
        let items: Vec<_> = m.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(items, [("a", 2), ("b", 4), ("c", 3)]);
        assert_eq!(m.get("b"), Some(&4));
        assert_eq!(m.get("z"), None);
        assert_eq!(m.remove("a"), Some(2));
        assert!(!m.contains_key("a"));
        m.retain(|k, _| k != "c");
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn matches_a_btreemap_for_any_operations() {
        use std::collections::BTreeMap;
        let mut s = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let mut ours = KeyMap::new();
        let mut theirs = BTreeMap::new();
        for _ in 0..5000 {
            let key = format!("k{}", next() % 60);
            match next() % 3 {
                0 => assert_eq!(ours.remove(&key), theirs.remove(&key)),
                _ => {
                    let v = next();
                    assert_eq!(ours.insert(key.clone(), v), theirs.insert(key, v));
                }
            }
        }
        let a: Vec<_> = ours.into_iter().collect();
        let b: Vec<_> = theirs.into_iter().collect();
        assert_eq!(a, b);
    }

    #[test]
    fn heap_sort_sorts() {
        let mut s = 7u64;
        for n in 0..200 {
            let mut v: Vec<u64> = (0..n)
                .map(|_| {
                    s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
                    s >> 58
                })
                .collect();
            let mut want = v.clone();
            want.sort();
            sort_by(&mut v, |a, b| a < b);
            assert_eq!(v, want);
        }
    }
}
