//! The context document: key → value, each key with the stamp of the write
//! that set it. Deleted keys stay as tombstones (value `None`) so that a
//! stale copy of the key, arriving later from storage or another tab, cannot
//! bring it back.
//!
//! `V` is the value as the platform holds it (a JS value in the browser, a
//! string in native tests); the document never looks inside it.

use super::checksum::hash;
use super::clock::{Clock, Stamp};
use super::keymap::KeyMap;

/// One key's state.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry<V> {
    /// The value, or `None` for a deleted key.
    pub value: Option<V>,
    /// The write that produced this state.
    pub stamp: Stamp,
    /// Stored size in bytes (key plus encoded value); 0 for a tombstone.
    pub size: usize,
}

/// A change to one key.
#[derive(Clone, Debug, PartialEq)]
pub enum Op<V> {
    /// Set the key to a value of the given stored size.
    Set(V, usize),
    /// Remove the key.
    Delete,
}

/// The context: entries plus a revision that grows with every change.
#[derive(Clone, Debug)]
pub struct Doc<V> {
    entries: KeyMap<Entry<V>>,
    revision: u64,
    bytes: usize,
}

impl<V> Default for Doc<V> {
    fn default() -> Self {
        Doc {
            entries: KeyMap::new(),
            revision: 0,
            bytes: 0,
        }
    }
}

impl<V: Clone> Doc<V> {
    /// An empty document at revision 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// A document holding `entries` (as loaded from storage) at `revision`.
    pub fn from_entries(entries: KeyMap<Entry<V>>, revision: u64) -> Self {
        let bytes = entries.values().map(|e| e.size).sum();
        Doc {
            entries,
            revision,
            bytes,
        }
    }

    /// Grows by one with every change that altered the document.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Stored size of the live keys, in bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The live value of `key`.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.entries.get(key).and_then(|e| e.value.as_ref())
    }

    /// Every entry, tombstones included, in key order.
    pub fn entries(&self) -> impl Iterator<Item = (&String, &Entry<V>)> {
        self.entries.iter()
    }

    /// The live keys and values, in key order.
    pub fn live(&self) -> impl Iterator<Item = (&String, &V)> {
        self.entries
            .iter()
            .filter_map(|(k, e)| e.value.as_ref().map(|v| (k, v)))
    }

    /// How many keys are live.
    pub fn len(&self) -> usize {
        self.live().count()
    }

    /// Whether no key is live.
    pub fn is_empty(&self) -> bool {
        self.live().next().is_none()
    }

    /// The size the document would have after `ops`, without applying them.
    pub fn bytes_after(&self, ops: &[(String, Op<V>)]) -> usize {
        let op_size = |op: &Op<V>| match op {
            Op::Set(_, size) => *size as isize,
            Op::Delete => 0,
        };
        let mut bytes = self.bytes as isize;
        if has_duplicate_keys(ops) {
            // Rare: a key given twice counts once, with its last op.
            let mut seen: KeyMap<usize> = KeyMap::new();
            for (key, op) in ops {
                let before = seen
                    .get(key)
                    .copied()
                    .unwrap_or_else(|| self.entries.get(key).map_or(0, |e| e.size));
                bytes += op_size(op) - before as isize;
                seen.insert(key.clone(), op_size(op) as usize);
            }
        } else {
            for (key, op) in ops {
                bytes += op_size(op) - self.entries.get(key).map_or(0, |e| e.size) as isize;
            }
        }
        bytes.max(0) as usize
    }

    /// Applies local changes, each stamped by `clock` at wall time `now`.
    /// Returns the keys whose live state changed (deleting an absent key is
    /// no change), in the order given.
    pub fn apply_local(
        &mut self,
        ops: Vec<(String, Op<V>)>,
        clock: &mut Clock,
        now: u64,
    ) -> Vec<String> {
        let duplicates = has_duplicate_keys(&ops);
        let mut changed = Vec::with_capacity(ops.len());
        for (key, op) in ops {
            let live = self.get(&key).is_some();
            if matches!(op, Op::Delete) && !live {
                continue;
            }
            let stamp = clock.tick(now);
            let entry = match op {
                Op::Set(v, size) => Entry {
                    value: Some(v),
                    stamp,
                    size,
                },
                Op::Delete => Entry {
                    value: None,
                    stamp,
                    size: 0,
                },
            };
            self.put(key.clone(), entry);
            if !duplicates || !changed.contains(&key) {
                changed.push(key);
            }
        }
        if !changed.is_empty() {
            self.revision += 1;
        }
        changed
    }

    /// Merges an entry written elsewhere: it wins only if its stamp is
    /// larger than the one held. Returns whether the live state changed.
    pub fn merge(&mut self, key: String, entry: Entry<V>) -> bool {
        if let Some(held) = self.entries.get(&key) {
            if held.stamp >= entry.stamp {
                return false;
            }
        }
        let was_live = self.get(&key).is_some();
        let is_live = entry.value.is_some();
        self.put(key, entry);
        let changed = was_live || is_live;
        if changed {
            self.revision += 1;
        }
        changed
    }

    /// Drops tombstones written before `wall` (ms), bounding their number.
    pub fn prune_tombstones(&mut self, wall: u64) {
        self.entries
            .retain(|_, e| e.value.is_some() || e.stamp.wall >= wall);
    }

    fn put(&mut self, key: String, entry: Entry<V>) {
        let old = self.entries.get(&key).map_or(0, |e| e.size);
        self.bytes = self.bytes + entry.size - old;
        self.entries.insert(key, entry);
    }
}

/// Whether a key may appear twice in `ops` (a patch from one JS object never
/// repeats one). Compares 64-bit hashes of the keys, which is cheap to sort;
/// a hash collision only sends the caller down its slower exact path.
fn has_duplicate_keys<V>(ops: &[(String, Op<V>)]) -> bool {
    if ops.len() < 2 {
        return false;
    }
    let mut hashes: Vec<u64> = ops.iter().map(|(k, _)| hash(k.as_bytes())).collect();
    super::keymap::sort_by(&mut hashes, |a, b| a < b);
    hashes.windows(2).any(|w| w[0] == w[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(k: &str, v: &str) -> (String, Op<String>) {
        (k.to_string(), Op::Set(v.to_string(), k.len() + v.len()))
    }

    fn del(k: &str) -> (String, Op<String>) {
        (k.to_string(), Op::Delete)
    }

    #[test]
    fn apply_sets_deletes_and_counts_revisions() {
        let mut d = Doc::new();
        let mut c = Clock::new("t");
        assert_eq!(
            d.apply_local(vec![set("a", "1"), set("b", "22")], &mut c, 1),
            ["a", "b"]
        );
        assert_eq!(d.revision(), 1);
        assert_eq!(d.bytes(), 2 + 3);
        assert_eq!(d.apply_local(vec![del("a"), del("zz")], &mut c, 2), ["a"]);
        assert_eq!(d.revision(), 2);
        assert_eq!(d.get("a"), None);
        assert_eq!(d.bytes(), 3);
        // Deleting an absent key changes nothing, not even the revision.
        assert!(d.apply_local(vec![del("a")], &mut c, 3).is_empty());
        assert_eq!(d.revision(), 2);
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn bytes_after_predicts_without_changing() {
        let mut d = Doc::new();
        let mut c = Clock::new("t");
        d.apply_local(vec![set("a", "1234")], &mut c, 1);
        let ops = vec![set("a", "1"), set("b", "1"), del("a")];
        assert_eq!(d.bytes_after(&ops), 2);
        assert_eq!(d.bytes(), 5);
        d.apply_local(ops, &mut c, 2);
        assert_eq!(d.bytes(), 2);
    }

    #[test]
    fn merge_keeps_the_larger_stamp() {
        let mut d: Doc<String> = Doc::new();
        let mut c = Clock::new("a");
        d.apply_local(vec![set("k", "mine")], &mut c, 10);
        let older = Entry {
            value: Some("old".into()),
            stamp: Stamp {
                wall: 5,
                counter: 0,
                node: "b".into(),
            },
            size: 4,
        };
        assert!(!d.merge("k".into(), older));
        assert_eq!(d.get("k").map(String::as_str), Some("mine"));
        let newer = Entry {
            value: Some("new".into()),
            stamp: Stamp {
                wall: 11,
                counter: 0,
                node: "b".into(),
            },
            size: 4,
        };
        assert!(d.merge("k".into(), newer));
        assert_eq!(d.get("k").map(String::as_str), Some("new"));
    }

    #[test]
    fn a_tombstone_stops_a_stale_value_coming_back() {
        let mut d: Doc<String> = Doc::new();
        let mut c = Clock::new("a");
        d.apply_local(vec![set("k", "v")], &mut c, 10);
        let stale = d.entries().next().unwrap().1.clone();
        d.apply_local(vec![del("k")], &mut c, 11);
        assert!(!d.merge("k".into(), stale));
        assert_eq!(d.get("k"), None);
    }

    #[test]
    fn prune_drops_only_old_tombstones() {
        let mut d: Doc<String> = Doc::new();
        let mut c = Clock::new("a");
        d.apply_local(
            vec![set("old", "1"), set("new", "1"), set("live", "1")],
            &mut c,
            10,
        );
        d.apply_local(vec![del("old")], &mut c, 20);
        d.apply_local(vec![del("new")], &mut c, 100);
        d.prune_tombstones(50);
        let keys: Vec<_> = d.entries().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["live", "new"]);
    }
}

/// Property tests of the merge rule: every tab that receives the same
/// writes, in any order and any number of times, ends with the same
/// document, and a delete is never undone by an older write.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod merge_properties {
    use super::*;
    use proptest::prelude::*;

    /// A write by `tab` (0..3) at wall time `t`: set `key` to `value`, or
    /// delete it.
    #[derive(Clone, Debug)]
    struct Write {
        tab: usize,
        t: u64,
        key: u8,
        value: Option<u16>,
    }

    fn writes() -> impl Strategy<Value = Vec<Write>> {
        prop::collection::vec(
            (0..3usize, 0..50u64, 0..6u8, prop::option::of(any::<u16>()))
                .prop_map(|(tab, t, key, value)| Write { tab, t, key, value }),
            1..60,
        )
    }

    /// What tabs broadcast: each changed key with its new entry.
    type Sent = Vec<(String, Entry<u16>)>;

    /// Each tab applies its own writes locally (in its own order) and
    /// produces the entries it would broadcast.
    fn run_locally(ws: &[Write]) -> (Vec<Doc<u16>>, Sent) {
        let mut docs: Vec<Doc<u16>> = (0..3).map(|_| Doc::new()).collect();
        let mut clocks: Vec<Clock> = (0..3).map(|i| Clock::new(format!("tab{i}"))).collect();
        let mut sent = Vec::new();
        for w in ws {
            let key = format!("k{}", w.key);
            let op = match w.value {
                Some(v) => Op::Set(v, 2),
                None => Op::Delete,
            };
            let changed = docs[w.tab].apply_local(vec![(key.clone(), op)], &mut clocks[w.tab], w.t);
            if !changed.is_empty() {
                let entry = docs[w.tab]
                    .entries()
                    .find(|(k, _)| **k == key)
                    .unwrap()
                    .1
                    .clone();
                sent.push((key, entry));
            }
        }
        (docs, sent)
    }

    fn state(d: &Doc<u16>) -> Vec<(String, Option<u16>, Stamp)> {
        d.entries()
            .map(|(k, e)| (k.clone(), e.value, e.stamp.clone()))
            .collect()
    }

    fn live(d: &Doc<u16>) -> Vec<(String, u16)> {
        d.live().map(|(k, v)| (k.clone(), *v)).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn every_delivery_order_converges(ws in writes(), seeds in prop::collection::vec(any::<u64>(), 3)) {
            let (mut docs, sent) = run_locally(&ws);
            for (i, doc) in docs.iter_mut().enumerate() {
                // A different order per tab, with some messages delivered twice.
                let mut order: Vec<usize> = (0..sent.len()).chain(0..sent.len() / 2).collect();
                let mut s = seeds[i] | 1;
                for j in (1..order.len()).rev() {
                    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                    order.swap(j, (s % (j as u64 + 1)) as usize);
                }
                for j in order {
                    let (k, e) = &sent[j];
                    doc.merge(k.clone(), e.clone());
                }
            }
            prop_assert_eq!(state(&docs[0]), state(&docs[1]));
            prop_assert_eq!(state(&docs[1]), state(&docs[2]));
            // Byte counts agree with the entries they hold.
            for d in &docs {
                prop_assert_eq!(d.bytes(), d.live().count() * 2);
            }
        }

        #[test]
        fn each_key_ends_with_its_latest_write(ws in writes()) {
            let (mut docs, sent) = run_locally(&ws);
            for (k, e) in &sent {
                docs[0].merge(k.clone(), e.clone());
            }
            // The winner of each key is the write with the largest stamp,
            // whatever it was: so a delete with the largest stamp stays deleted.
            let mut expected: std::collections::BTreeMap<String, (Stamp, Option<u16>)> = Default::default();
            for (k, e) in &sent {
                let better = expected.get(k).is_none_or(|(s, _)| e.stamp > *s);
                if better {
                    expected.insert(k.clone(), (e.stamp.clone(), e.value));
                }
            }
            let want: Vec<(String, u16)> = expected.into_iter().filter_map(|(k, (_, v))| v.map(|v| (k, v))).collect();
            prop_assert_eq!(live(&docs[0]), want);
        }

        #[test]
        fn merging_is_idempotent(ws in writes()) {
            let (mut docs, sent) = run_locally(&ws);
            for (k, e) in &sent {
                docs[1].merge(k.clone(), e.clone());
            }
            let once = state(&docs[1]);
            let rev = docs[1].revision();
            for (k, e) in &sent {
                prop_assert!(!docs[1].merge(k.clone(), e.clone()));
            }
            prop_assert_eq!(state(&docs[1]), once);
            prop_assert_eq!(docs[1].revision(), rev);
        }

        #[test]
        fn a_local_write_after_seeing_remote_ones_wins(ws in writes()) {
            // A tab whose clock observed every stamp it merged writes a stamp
            // larger than all of them, even if its wall clock is behind.
            let (_, sent) = run_locally(&ws);
            let mut doc: Doc<u16> = Doc::new();
            let mut clock = Clock::new("late");
            for (k, e) in &sent {
                clock.observe(&e.stamp);
                doc.merge(k.clone(), e.clone());
            }
            doc.apply_local(vec![("k0".into(), Op::Set(7, 2))], &mut clock, 0);
            let mine = doc.entries().find(|(k, _)| *k == "k0").unwrap().1.stamp.clone();
            prop_assert!(sent.iter().all(|(_, e)| e.stamp < mine));
        }
    }
}
