//! The JS shape of stored records. A context record is
//! `{ f, schema, rev, at, sum, w, ws, keys: [], stamps: [], vals: [] }`
//! (`w`, `ws`: the tab that wrote it and its write number) with `vals`
//! holding each value's JSON text (`null` for a deleted key): IndexedDB
//! clones a few strings instead of a deep object, and the checksum covers
//! exactly the text that is stored.

use js_sys::Array;
use wasm_bindgen::{JsCast, JsValue};

use crate::core::checksum;
use crate::core::clock::Stamp;
use crate::core::doc::{Doc, Entry};
use crate::core::error::{Code, Error, Result};
use crate::core::keymap::KeyMap;
use crate::core::options::Options;
use crate::core::record::{self, Digest, Header, FORMAT};
use crate::core::snapshots::{Info, Source};
use crate::platform::js;
use crate::platform::value::Value;

/// Who wrote a record: a tab id and that tab's write number.
pub type Writer<'a> = (&'a str, u64);

/// A decoded, verified context record.
pub struct Record {
    /// Its header.
    pub header: Header,
    /// Its entries, tombstones included.
    pub entries: KeyMap<Entry<Value>>,
}

impl Record {
    /// Stored size of its live entries.
    pub fn bytes(&self) -> usize {
        self.entries.values().map(|e| e.size).sum()
    }
}

/// Whether the stored record `v` is the one `writer` wrote last (then
/// nobody else wrote since, and it need not be merged).
pub fn written_by(v: &JsValue, writer: Writer) -> bool {
    js::get(v, "w").as_string().as_deref() == Some(writer.0)
        && js::get(v, "ws").as_f64() == Some(writer.1 as f64)
}

/// The writer a record (or `head`) names.
pub fn writer_of(v: &JsValue) -> Option<(String, u64)> {
    let w = js::get(v, "w").as_string()?;
    let ws = js::get(v, "ws").as_f64()?;
    Some((w, ws as u64))
}

/// The write head record: the backup ring's next slot, and who wrote the
/// context record stored with it.
pub fn encode_head(next: u32, writer: Writer) -> JsValue {
    js::object([
        ("next", next.into()),
        ("w", writer.0.into()),
        ("ws", (writer.1 as f64).into()),
    ])
}

/// The record of the persisted keys of `doc`, and its size in bytes.
pub fn encode(doc: &Doc<Value>, opts: &Options, now: u64, writer: Writer) -> (JsValue, usize) {
    let header = Header {
        format: FORMAT,
        schema: opts.version,
        revision: doc.revision(),
        saved_at: now,
    };
    let keys = Array::new();
    let stamps = Array::new();
    let vals = Array::new();
    convert_new_stamps(doc, opts);
    let mut sum = record::Summer::new(&header);
    let mut stamp = String::new();
    let mut bytes = 0;
    for (k, e) in doc.entries().filter(|(k, _)| opts.persist.persists(k)) {
        stamp.clear();
        e.stamp.write_to(&mut stamp);
        match &e.value {
            Some(v) => {
                keys.push(&v.key);
                stamps.push(&v.stamp_js(&stamp));
                vals.push(&v.json);
            }
            None => {
                // Tombstones are few and hold no value to cache in.
                keys.push(&JsValue::from_str(k));
                stamps.push(&JsValue::from_str(&stamp));
                vals.push(&JsValue::NULL);
            }
        }
        bytes += e.size;
        sum.entry(Digest {
            key: k,
            stamp: &stamp,
            value_hash: e.value.as_ref().map(|v| v.hash),
        });
    }
    let sum = sum.finish();
    let obj = js::object([
        ("f", FORMAT.into()),
        ("schema", header.schema.into()),
        ("rev", (header.revision as f64).into()),
        ("at", (now as f64).into()),
        ("sum", checksum::to_hex(sum).into()),
        ("w", writer.0.into()),
        ("ws", (writer.1 as f64).into()),
        ("keys", keys.into()),
        ("stamps", stamps.into()),
        ("vals", vals.into()),
    ]);
    (obj, bytes)
}

/// Gives every held value whose stamp has no JS string yet (those changed
/// since the last save) one, converting all their texts in one crossing:
/// one string joined by newlines, split in JS (a conversion per value costs
/// about a microsecond each; 5 ms when every key of a 1 MB context changed).
fn convert_new_stamps(doc: &Doc<Value>, opts: &Options) {
    let mut joined = String::new();
    let mut count = 0u32;
    let mut stamp = String::new();
    let pending = || {
        doc.entries()
            .filter(|(k, _)| opts.persist.persists(k))
            .filter_map(|(_, e)| e.value.as_ref().map(|v| (v, &e.stamp)))
            .filter(|(v, _)| v.needs_stamp_js())
    };
    for (_, s) in pending() {
        stamp.clear();
        s.write_to(&mut stamp);
        if stamp.contains('\n') {
            return; // a stamp from elsewhere with a newline: convert one by one
        }
        if count > 0 {
            joined.push('\n');
        }
        joined.push_str(&stamp);
        count += 1;
    }
    if count < 2 {
        return;
    }
    let parts = js_sys::JsString::from(joined.as_str()).split("\n");
    if parts.length() != count {
        return;
    }
    for (i, (v, _)) in pending().enumerate() {
        v.set_stamp_js(parts.get(i as u32));
    }
}

fn bad(what: &str) -> Error {
    Error::new(
        Code::StorageUnavailable,
        format!("stored record is malformed: {what}"),
    )
}

fn array(v: &JsValue, field: &str) -> Result<Array> {
    js::get(v, field)
        .dyn_into::<Array>()
        .map_err(|_| bad(field))
}

fn number(v: &JsValue, field: &str) -> Result<f64> {
    js::get(v, field)
        .as_f64()
        .filter(|n| n.is_finite() && *n >= 0.0)
        .ok_or_else(|| bad(field))
}

/// Reads and verifies a context record.
pub fn decode(v: &JsValue) -> Result<Record> {
    if !v.is_object() {
        return Err(bad("not an object"));
    }
    let header = Header {
        format: number(v, "f")? as u32,
        schema: number(v, "schema")? as u32,
        revision: number(v, "rev")? as u64,
        saved_at: number(v, "at")? as u64,
    };
    let sum = js::get(v, "sum").as_string().ok_or_else(|| bad("sum"))?;
    let (keys, stamps, vals) = (array(v, "keys")?, array(v, "stamps")?, array(v, "vals")?);
    let n = keys.length();
    if stamps.length() != n || vals.length() != n {
        return Err(bad("lists of different lengths"));
    }
    let mut rows = Vec::with_capacity(n as usize);
    for i in 0..n {
        let key_js = keys.get(i);
        let key = key_js.as_string().ok_or_else(|| bad("key"))?;
        let stamp_js = stamps.get(i);
        let stamp_text = stamp_js.as_string().ok_or_else(|| bad("stamp"))?;
        let stamp = Stamp::decode(&stamp_text).ok_or_else(|| bad("stamp"))?;
        let val = vals.get(i);
        let value = if val.is_null() {
            None
        } else {
            let value = Value::decode(&key, key_js, val).ok_or_else(|| bad("value is not JSON"))?;
            value.0.set_stamp_js(stamp_js);
            Some(value)
        };
        rows.push((key, stamp_text, stamp, value));
    }
    let digests = rows.iter().map(|(k, s, _, v)| Digest {
        key: k,
        stamp: s,
        value_hash: v.as_ref().map(|(v, _)| v.hash),
    });
    record::verify(&header, &sum, digests)?;
    let entries = rows
        .into_iter()
        .map(|(k, _, stamp, v)| {
            let (value, size) = match v {
                Some((v, size)) => (Some(v), size),
                None => (None, 0),
            };
            (k, Entry { value, stamp, size })
        })
        .collect();
    Ok(Record { header, entries })
}

/// The metadata record.
pub fn encode_meta(restore_count: u32, last_restored_at: Option<u64>) -> JsValue {
    js::object([
        ("restoreCount", restore_count.into()),
        (
            "lastRestoredAt",
            js::opt_num(last_restored_at.map(|t| t as f64)),
        ),
    ])
}

/// Reads the metadata record; tolerant, since it is only informational.
pub fn decode_meta(v: &JsValue) -> (u32, Option<u64>) {
    let count = js::get(v, "restoreCount").as_f64().unwrap_or(0.0).max(0.0) as u32;
    let at = js::get(v, "lastRestoredAt").as_f64().map(|t| t as u64);
    (count, at)
}

/// A snapshot's info as the JS `SnapshotInfo` object.
pub fn info_to_js(i: &Info) -> JsValue {
    js::object([
        ("id", i.id.as_str().into()),
        ("name", i.name.as_str().into()),
        ("createdAt", (i.created_at as f64).into()),
        ("source", i.source.as_str().into()),
        ("bytes", (i.bytes as f64).into()),
    ])
}

/// The snapshot index record.
pub fn encode_index(list: &[Info]) -> JsValue {
    list.iter().map(info_to_js).collect::<Array>().into()
}

/// Reads the snapshot index, skipping malformed entries.
pub fn decode_index(v: &JsValue) -> Vec<Info> {
    let Some(arr) = v.dyn_ref::<Array>() else {
        return Vec::new();
    };
    arr.iter()
        .filter_map(|e| {
            Some(Info {
                id: js::get(&e, "id").as_string()?,
                name: js::get(&e, "name").as_string().unwrap_or_default(),
                created_at: js::get(&e, "createdAt").as_f64()? as u64,
                source: Source::parse(&js::get(&e, "source").as_string()?)?,
                bytes: js::get(&e, "bytes").as_f64().unwrap_or(0.0) as usize,
            })
        })
        .collect()
}
