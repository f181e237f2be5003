//! Session options with their documented defaults, and the checks that turn
//! a bad option into an error a person can act on.

use super::error::{Code, Error, Result};
use super::snapshots::Retention;

/// Which storage to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageChoice {
    /// IndexedDB, else localStorage, else memory.
    Auto,
    /// IndexedDB (degrades like `Auto` if it cannot open).
    IndexedDb,
    /// localStorage (degrades to memory).
    LocalStorage,
    /// Memory only: nothing survives a reload.
    Memory,
}

impl StorageChoice {
    /// Parses the `storage` option.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(StorageChoice::Auto),
            "indexeddb" => Ok(StorageChoice::IndexedDb),
            "localstorage" => Ok(StorageChoice::LocalStorage),
            "memory" => Ok(StorageChoice::Memory),
            other => Err(Error::new(
                Code::InvalidArgument,
                format!("storage must be \"auto\", \"indexeddb\", \"localstorage\" or \"memory\", not \"{other}\""),
            )),
        }
    }
}

/// Which keys are written to storage. Keys not persisted still live in the
/// context of this tab.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PersistFilter {
    /// If set, only these keys are persisted.
    pub include: Option<Vec<String>>,
    /// These keys are never persisted.
    pub exclude: Vec<String>,
}

impl PersistFilter {
    /// Whether `key` is written to storage.
    pub fn persists(&self, key: &str) -> bool {
        if self.exclude.iter().any(|k| k == key) {
            return false;
        }
        match &self.include {
            Some(keys) => keys.iter().any(|k| k == key),
            None => true,
        }
    }
}

/// All options of `openSession`, defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Namespace: one database, key prefix and channel per name.
    pub name: String,
    /// Requested storage.
    pub storage: StorageChoice,
    /// Cap on how long a change waits to be written, ms (0: no cap).
    pub auto_save_interval: u64,
    /// Quiet period after a change before it is written, ms.
    pub save_debounce: u64,
    /// Share changes with other tabs.
    pub cross_tab: bool,
    /// Schema version of the context.
    pub version: u32,
    /// Keys to persist.
    pub persist: PersistFilter,
    /// Snapshot retention.
    pub snapshots: Retention,
    /// Earlier saved versions to keep.
    pub backups: u32,
    /// Largest context accepted, in bytes.
    pub max_context_bytes: usize,
    /// Load the stored context on open.
    pub restore_on_open: bool,
    /// A snapshot to restore on open.
    pub initial_snapshot_id: Option<String>,
}

/// Default `saveDebounce`, ms.
pub const DEFAULT_SAVE_DEBOUNCE: u64 = 300;
/// Default `autoSaveInterval`, ms.
pub const DEFAULT_AUTO_SAVE_INTERVAL: u64 = 30_000;
/// Default `maxContextBytes`: 1 MiB.
pub const DEFAULT_MAX_CONTEXT_BYTES: usize = 1 << 20;

impl Default for Options {
    fn default() -> Self {
        Options {
            name: "default".into(),
            storage: StorageChoice::Auto,
            auto_save_interval: DEFAULT_AUTO_SAVE_INTERVAL,
            save_debounce: DEFAULT_SAVE_DEBOUNCE,
            cross_tab: true,
            version: 0,
            persist: PersistFilter::default(),
            snapshots: Retention {
                max_count: 10,
                max_age_days: 30.0,
            },
            backups: 5,
            max_context_bytes: DEFAULT_MAX_CONTEXT_BYTES,
            restore_on_open: true,
            initial_snapshot_id: None,
        }
    }
}

/// Checks a numeric option: a finite, non-negative whole number no larger
/// than `max`.
pub fn whole_number(name: &str, value: f64, max: f64) -> Result<f64> {
    if !value.is_finite() || value < 0.0 || value.fract() != 0.0 || value > max {
        return Err(Error::new(
            Code::InvalidArgument,
            format!(
                "{name} must be a whole number from 0 to {}, not {}",
                max as u64,
                describe(value)
            ),
        ));
    }
    Ok(value)
}

/// A number for an error message, without float formatting (which would
/// add about 15 KB of wasm for this one message).
fn describe(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if value.fract() != 0.0 {
        "a fraction".into()
    } else {
        (value as i64).to_string()
    }
}

/// Checks the `name` option: non-empty, at most 100 characters, so it can
/// name a database and prefix storage keys.
pub fn check_name(name: &str) -> Result<()> {
    // Counts UTF-8 lead bytes: characters, without `chars().count()`'s code.
    if name.is_empty() || name.bytes().filter(|b| b & 0xc0 != 0x80).count() > 100 {
        return Err(Error::new(
            Code::InvalidArgument,
            "name must be a non-empty string of at most 100 characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let o = Options::default();
        assert_eq!(o.name, "default");
        assert_eq!(o.auto_save_interval, 30_000);
        assert_eq!(
            o.snapshots,
            Retention {
                max_count: 10,
                max_age_days: 30.0
            }
        );
        assert_eq!(o.backups, 5);
        assert_eq!(o.max_context_bytes, 1_048_576);
        assert!(o.restore_on_open && o.cross_tab);
    }

    #[test]
    fn storage_choice_parses_or_explains() {
        assert_eq!(
            StorageChoice::parse("memory").unwrap(),
            StorageChoice::Memory
        );
        let e = StorageChoice::parse("disk").unwrap_err();
        assert_eq!(e.code, Code::InvalidArgument);
        assert!(e.message.contains("\"disk\""));
    }

    #[test]
    fn persist_filter_include_and_exclude() {
        let all = PersistFilter::default();
        assert!(all.persists("x"));
        let f = PersistFilter {
            include: Some(vec!["a".into(), "b".into()]),
            exclude: vec!["b".into()],
        };
        assert!(f.persists("a"));
        assert!(!f.persists("b"));
        assert!(!f.persists("c"));
    }

    #[test]
    fn numbers_must_be_whole_and_in_range() {
        assert_eq!(whole_number("x", 5.0, 10.0).unwrap(), 5.0);
        for bad in [-1.0, 0.5, f64::NAN, f64::INFINITY, 11.0] {
            assert_eq!(
                whole_number("x", bad, 10.0).unwrap_err().code,
                Code::InvalidArgument
            );
        }
    }

    #[test]
    fn names_must_be_short_and_non_empty() {
        assert!(check_name("demo").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name(&"x".repeat(101)).is_err());
    }
}
