//! Browser tests: the platform layer and the session engine in real headless
//! Chromium, against real IndexedDB and localStorage.
//!
//! Run: `cargo test --target wasm32-unknown-unknown --test browser`
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::future::TimeoutFuture;
use js_sys::{Array, Function, Object, Reflect};
use session_persist::core::error::Code;
use session_persist::core::options::{Options, StorageChoice};
use session_persist::core::snapshots::Source;
use session_persist::platform::storage::{self, Backend, Batch};
use session_persist::session::{Event, Hooks, Session};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", session_persist::platform::env::random_id(""))
}

fn opts(name: &str, storage: StorageChoice) -> Options {
    Options {
        name: name.to_string(),
        storage,
        ..Options::default()
    }
}

async fn open(o: Options) -> Session {
    Session::open(o, "sid".into(), Hooks::default())
        .await
        .expect("open")
}

fn json(v: &JsValue) -> String {
    js_sys::JSON::stringify(v)
        .map(String::from)
        .unwrap_or_default()
}

fn set(s: &Session, key: &str, value: JsValue) -> Result<(), Code> {
    s.update(vec![(key.to_string(), Some(value))])
        .map_err(|e| e.code)
}

fn parse(text: &str) -> JsValue {
    js_sys::JSON::parse(text).unwrap()
}

/// Counts calls of an `on(event)` handler.
fn counter(s: &Session, event: Event) -> Rc<RefCell<u32>> {
    let count = Rc::new(RefCell::new(0));
    let c = count.clone();
    let f = Closure::<dyn FnMut(JsValue)>::new(move |_| *c.borrow_mut() += 1);
    s.on(event, f.into_js_value().unchecked_into()).unwrap();
    count
}

async fn sleep(ms: u32) {
    TimeoutFuture::new(ms).await;
}

// ----- storage backends -----

async fn backend_round_trip(choice: StorageChoice, expect: Backend) {
    let name = unique("backend");
    let (store, degraded) = storage::open(&name, choice).await;
    assert_eq!(store.backend(), expect);
    assert_eq!(degraded, None);
    store
        .write(Batch {
            puts: vec![
                ("a".into(), parse(r#"{"x":1}"#)),
                ("b".into(), "two".into()),
            ],
            deletes: vec![],
        })
        .await
        .unwrap();
    store
        .write(Batch {
            puts: vec![],
            deletes: vec!["b".into(), "never-written".into()],
        })
        .await
        .unwrap();
    let (got, _) = store.read(&["a", "b", "c"], "").await.unwrap();
    assert_eq!(json(got[0].as_ref().unwrap()), r#"{"x":1}"#);
    assert!(got[1].is_none());
    assert!(got[2].is_none());

    // Prefix reads return exactly the keys under the prefix, in key order.
    store
        .write(Batch {
            puts: vec![
                ("p:b".into(), 2.into()),
                ("p:a".into(), 1.into()),
                ("q:x".into(), 3.into()),
            ],
            deletes: vec![],
        })
        .await
        .unwrap();
    let (got, prefixed) = store.read(&["a"], "p:").await.unwrap();
    assert!(got[0].is_some());
    let keys: Vec<&str> = prefixed.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["p:a", "p:b"]);
    assert_eq!(prefixed[1].1.as_f64(), Some(2.0));

    // Concurrent read-modify-writes never lose one another's change.
    let writes: Vec<_> = (0..20)
        .map(|_| {
            store.update(
                &["n"],
                "",
                Box::new(|(found, _)| {
                    let n = found[0].as_ref().and_then(|v| v.as_f64()).unwrap_or(0.0);
                    Batch {
                        puts: vec![("n".into(), (n + 1.0).into())],
                        deletes: vec![],
                    }
                }),
            )
        })
        .collect();
    for w in writes {
        w.await.unwrap();
    }
    let (got, _) = store.read(&["n"], "").await.unwrap();
    assert_eq!(got[0].as_ref().and_then(|v| v.as_f64()), Some(20.0));
}

#[wasm_bindgen_test]
async fn indexeddb_backend_writes_reads_and_deletes() {
    backend_round_trip(StorageChoice::IndexedDb, Backend::IndexedDb).await;
}

#[wasm_bindgen_test]
async fn localstorage_backend_writes_reads_and_deletes() {
    backend_round_trip(StorageChoice::LocalStorage, Backend::LocalStorage).await;
}

#[wasm_bindgen_test]
async fn memory_backend_writes_reads_and_deletes() {
    backend_round_trip(StorageChoice::Memory, Backend::Memory).await;
}

#[wasm_bindgen_test]
async fn auto_picks_indexeddb_in_chromium() {
    let (store, degraded) = storage::open(&unique("auto"), StorageChoice::Auto).await;
    assert_eq!(store.backend(), Backend::IndexedDb);
    assert_eq!(degraded, None);
}

#[wasm_bindgen_test]
async fn localstorage_batch_over_quota_changes_nothing() {
    let name = unique("quota");
    let (store, _) = storage::open(&name, StorageChoice::LocalStorage).await;
    store
        .write(Batch {
            puts: vec![("a".into(), "old".into())],
            deletes: vec![],
        })
        .await
        .unwrap();
    // Chromium allows about 5 MB (in UTF-16 units) per origin.
    let huge: JsValue = "x".repeat(6 * 1024 * 1024).into();
    let err = store
        .write(Batch {
            puts: vec![("a".into(), "new".into()), ("big".into(), huge)],
            deletes: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::QuotaExceeded, "{}", err.message);
    let (got, _) = store.read(&["a", "big"], "").await.unwrap();
    assert_eq!(got[0].as_ref().unwrap().as_string().unwrap(), "old");
    assert!(got[1].is_none());
}

// ----- session: values and errors -----

#[wasm_bindgen_test]
async fn default_session_uses_indexeddb_and_round_trips_values() {
    let name = unique("values");
    let s = open(opts(&name, StorageChoice::Auto)).await;
    assert_eq!(s.info().backend, Backend::IndexedDb);
    set(&s, "theme", "dark".into()).unwrap();
    set(
        &s,
        "draft",
        parse(r#"{"title":"hi","tags":["a","b"],"n":null}"#),
    )
    .unwrap();
    s.save().await.unwrap();
    s.close().await.unwrap();

    let again = open(opts(&name, StorageChoice::Auto)).await;
    assert_eq!(again.get("theme").as_string().unwrap(), "dark");
    assert_eq!(
        json(&again.get("draft")),
        r#"{"title":"hi","tags":["a","b"],"n":null}"#
    );
    let info = again.info();
    assert_eq!(info.restore_count, 1);
    assert!(info.last_restored_at.is_some());
}

#[wasm_bindgen_test]
async fn unstorable_values_are_refused_and_change_nothing() {
    let s = open(opts(&unique("bad"), StorageChoice::Memory)).await;
    set(&s, "keep", 1.into()).unwrap();
    let before = json(&s.view());
    let rev = s.info().revision;

    let cyclic = Object::new();
    Reflect::set(&cyclic, &"self".into(), &cyclic).unwrap();
    let with_fn = Object::new();
    Reflect::set(&with_fn, &"f".into(), &Function::new_no_args("return 1")).unwrap();
    let bad: Vec<JsValue> = vec![
        Function::new_no_args("return 1").into(),
        cyclic.into(),
        with_fn.into(),
        js_sys::Date::new_0().into(),
        js_sys::Map::new().into(),
        f64::NAN.into(),
        js_sys::Symbol::for_("s").into(),
        js_sys::BigInt::from(1u32).into(),
        Array::of1(&JsValue::UNDEFINED).into(),
    ];
    for v in bad {
        // One good key and one bad key in the same patch: all or nothing.
        let patch = vec![
            ("ok".to_string(), Some(JsValue::from(2))),
            ("x".to_string(), Some(v)),
        ];
        let err = s.update(patch).unwrap_err();
        assert_eq!(err.code, Code::NotSerializable, "{}", err.message);
        assert!(
            err.message.contains("\"x\""),
            "message names the key: {}",
            err.message
        );
    }
    assert_eq!(json(&s.view()), before);
    assert_eq!(s.info().revision, rev);
}

#[wasm_bindgen_test]
async fn a_context_over_max_bytes_is_refused() {
    let mut o = opts(&unique("big"), StorageChoice::Memory);
    o.max_context_bytes = 100;
    let s = open(o).await;
    set(&s, "a", "x".repeat(50).into()).unwrap();
    let err = s
        .update(vec![("b".into(), Some("y".repeat(60).into()))])
        .unwrap_err();
    assert_eq!(err.code, Code::TooLarge);
    assert!(err.message.contains("maxContextBytes"));
    assert!(s.get("b").is_undefined());
    // Shrinking is always allowed.
    set(&s, "a", "small".into()).unwrap();
}

#[wasm_bindgen_test]
async fn setting_the_value_a_key_holds_is_no_change() {
    let s = open(opts(&unique("same"), StorageChoice::Memory)).await;
    let seen = subscriber_log(&s);
    set(&s, "a", parse(r#"{"x":[1,2]}"#)).unwrap();
    let (rev, view) = (s.info().revision, s.view());
    set(&s, "a", parse(r#"{"x":[1,2]}"#)).unwrap();
    let patch = vec![
        ("a".into(), Some(parse(r#"{"x":[1,2]}"#))),
        ("b".into(), None),
    ];
    s.update(patch).unwrap();
    assert_eq!(s.info().revision, rev);
    assert!(Object::is(&view, &s.view()));
    assert_eq!(seen.borrow().len(), 1);
    set(&s, "a", parse(r#"{"x":[1,3]}"#)).unwrap();
    assert_eq!(seen.borrow().len(), 2);
}

#[wasm_bindgen_test]
async fn get_returns_a_new_frozen_object_after_each_change_only() {
    let s = open(opts(&unique("view"), StorageChoice::Memory)).await;
    set(&s, "a", 1.into()).unwrap();
    let v1 = s.view();
    assert!(Object::is_frozen(v1.unchecked_ref::<Object>()));
    assert!(Object::is(&v1, &s.view()));
    set(&s, "a", 2.into()).unwrap();
    assert!(!Object::is(&v1, &s.view()));
}

#[wasm_bindgen_test]
async fn proto_keys_do_not_pollute_prototypes() {
    let s = open(opts(&unique("proto"), StorageChoice::Memory)).await;
    set(&s, "__proto__", parse(r#"{"polluted":true}"#)).unwrap();
    let view = s.view();
    assert!(Reflect::get(&Object::new(), &"polluted".into())
        .unwrap()
        .is_undefined());
    assert!(Reflect::get(&view, &"polluted".into())
        .unwrap()
        .is_undefined());
    assert_eq!(json(&s.get("__proto__")), r#"{"polluted":true}"#);
}

#[wasm_bindgen_test]
async fn closed_sessions_refuse_every_call() {
    let s = open(opts(&unique("closed"), StorageChoice::Memory)).await;
    s.close().await.unwrap();
    assert_eq!(set(&s, "a", 1.into()), Err(Code::Closed));
    assert_eq!(s.save().await.unwrap_err().code, Code::Closed);
    assert_eq!(
        s.create_snapshot("x", Source::Manual)
            .await
            .unwrap_err()
            .code,
        Code::Closed
    );
    s.close().await.unwrap(); // closing twice is harmless
}

// ----- autosave -----

#[wasm_bindgen_test]
async fn a_burst_of_updates_is_written_once_after_the_debounce() {
    let name = unique("burst");
    let mut o = opts(&name, StorageChoice::IndexedDb);
    o.save_debounce = 40;
    let s = open(o).await;
    let saved = counter(&s, Event::Saved);
    for i in 0..500 {
        set(&s, "n", i.into()).unwrap();
    }
    assert!(s.info().dirty);
    sleep(300).await;
    assert_eq!(*saved.borrow(), 1);
    assert!(!s.info().dirty);
    let again = open(opts(&name, StorageChoice::IndexedDb)).await;
    assert_eq!(again.get("n").as_f64(), Some(499.0));
}

#[wasm_bindgen_test]
async fn the_interval_writes_a_stream_that_never_goes_quiet() {
    let mut o = opts(&unique("stream"), StorageChoice::Memory);
    o.save_debounce = 100_000;
    o.auto_save_interval = 60;
    let s = open(o).await;
    let saved = counter(&s, Event::Saved);
    for i in 0..10 {
        set(&s, "n", i.into()).unwrap();
        sleep(20).await;
    }
    assert!(*saved.borrow() >= 2, "saved {} times", saved.borrow());
}

#[wasm_bindgen_test]
async fn excluded_keys_stay_in_memory_only() {
    let name = unique("persist");
    let mut o = opts(&name, StorageChoice::LocalStorage);
    o.persist.exclude = vec!["secret".into()];
    let s = open(o.clone()).await;
    set(&s, "secret", "pw".into()).unwrap();
    assert!(
        !s.info().dirty,
        "changing only an excluded key schedules no write"
    );
    set(&s, "shown", "yes".into()).unwrap();
    s.save().await.unwrap();
    assert_eq!(s.get("secret").as_string().unwrap(), "pw");
    let again = open(o).await;
    assert!(again.get("secret").is_undefined());
    assert_eq!(again.get("shown").as_string().unwrap(), "yes");
}

#[wasm_bindgen_test]
async fn subscribers_see_each_change_with_its_keys() {
    let s = open(opts(&unique("subs"), StorageChoice::Memory)).await;
    let seen: Rc<RefCell<Vec<String>>> = Rc::default();
    let seen2 = seen.clone();
    let f = Closure::<dyn FnMut(JsValue, JsValue)>::new(move |ctx: JsValue, change: JsValue| {
        seen2
            .borrow_mut()
            .push(format!("{} {}", json(&ctx), json(&change)));
    });
    let id = s.subscribe(f.into_js_value().unchecked_into()).unwrap();
    set(&s, "a", 1.into()).unwrap();
    s.update(vec![("a".into(), None)]).unwrap();
    s.update(vec![("a".into(), None)]).unwrap(); // no change, no call
    s.unsubscribe(id);
    set(&s, "b", 1.into()).unwrap();
    assert_eq!(
        *seen.borrow(),
        [
            r#"{"a":1} {"source":"local","keys":["a"]}"#,
            r#"{} {"source":"local","keys":["a"]}"#
        ]
    );
}

// ----- snapshots -----

#[wasm_bindgen_test]
async fn snapshots_restore_delete_and_keep_a_pre_restore_copy() {
    let s = open(opts(&unique("snaps"), StorageChoice::IndexedDb)).await;
    set(&s, "v", 1.into()).unwrap();
    let first = s.create_snapshot("one", Source::Manual).await.unwrap();
    set(&s, "v", 2.into()).unwrap();
    set(&s, "extra", true.into()).unwrap();
    let second = s.create_snapshot("two", Source::Manual).await.unwrap();
    let list = s.list_snapshots(None).await.unwrap();
    assert_eq!(
        list.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        [second.as_str(), first.as_str()]
    );
    assert_eq!(list[1].name, "one");

    s.restore_snapshot(&first).await.unwrap();
    assert_eq!(json(&s.view()), r#"{"v":1}"#);
    let list = s.list_snapshots(None).await.unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0].source, Source::PreRestore);

    // The pre-restore snapshot undoes the restore.
    s.restore_snapshot(&list[0].id).await.unwrap();
    assert_eq!(json(&s.view()), r#"{"extra":true,"v":2}"#);

    s.delete_snapshot(&second).await.unwrap();
    assert_eq!(
        s.delete_snapshot(&second).await.unwrap_err().code,
        Code::SnapshotNotFound
    );
    assert_eq!(
        s.restore_snapshot("nope").await.unwrap_err().code,
        Code::SnapshotNotFound
    );
    assert_eq!(json(&s.view()), r#"{"extra":true,"v":2}"#);
}

#[wasm_bindgen_test]
async fn snapshot_retention_keeps_the_newest() {
    let mut o = opts(&unique("retain"), StorageChoice::IndexedDb);
    o.snapshots.max_count = 3;
    let s = open(o).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        set(&s, "i", i.into()).unwrap();
        ids.push(
            s.create_snapshot(&format!("n{i}"), Source::Manual)
                .await
                .unwrap(),
        );
        sleep(2).await; // distinct creation times
    }
    let list = s.list_snapshots(None).await.unwrap();
    let names: Vec<_> = list.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["n4", "n3", "n2"]);
    assert_eq!(
        s.restore_snapshot(&ids[0]).await.unwrap_err().code,
        Code::SnapshotNotFound
    );
    assert_eq!(s.list_snapshots(Some(1)).await.unwrap().len(), 1);
}

#[wasm_bindgen_test]
async fn restore_on_open_false_starts_empty_and_keeps_the_old_context() {
    let name = unique("noload");
    let s = open(opts(&name, StorageChoice::IndexedDb)).await;
    set(&s, "old", "data".into()).unwrap();
    s.close().await.unwrap();

    let mut o = opts(&name, StorageChoice::IndexedDb);
    o.restore_on_open = false;
    let fresh = open(o).await;
    assert_eq!(json(&fresh.view()), "{}");
    let list = fresh.list_snapshots(None).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].source, Source::Auto);
    fresh.restore_snapshot(&list[0].id).await.unwrap();
    assert_eq!(fresh.get("old").as_string().unwrap(), "data");
}

#[wasm_bindgen_test]
async fn initial_snapshot_id_restores_on_open() {
    let name = unique("initial");
    let s = open(opts(&name, StorageChoice::IndexedDb)).await;
    set(&s, "v", "snap".into()).unwrap();
    let id = s.create_snapshot("", Source::Manual).await.unwrap();
    set(&s, "v", "later".into()).unwrap();
    s.close().await.unwrap();

    let mut o = opts(&name, StorageChoice::IndexedDb);
    o.initial_snapshot_id = Some(id);
    let again = open(o).await;
    assert_eq!(again.get("v").as_string().unwrap(), "snap");
}

#[wasm_bindgen_test]
async fn clear_empties_context_and_snapshots_in_storage() {
    let name = unique("clear");
    let s = open(opts(&name, StorageChoice::IndexedDb)).await;
    set(&s, "a", 1.into()).unwrap();
    s.create_snapshot("x", Source::Manual).await.unwrap();
    s.clear().await.unwrap();
    assert_eq!(json(&s.view()), "{}");
    assert!(s.list_snapshots(None).await.unwrap().is_empty());
    s.close().await.unwrap();
    let again = open(opts(&name, StorageChoice::IndexedDb)).await;
    assert_eq!(json(&again.view()), "{}");
    assert_eq!(again.info().restore_count, 0);
}

// ----- stored data -----

#[wasm_bindgen_test]
async fn a_tampered_record_is_detected_kept_aside_and_not_loaded() {
    let name = unique("tamper");
    let s = open(opts(&name, StorageChoice::LocalStorage)).await;
    set(&s, "v", "original".into()).unwrap();
    s.close().await.unwrap();
    let ls = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    let key = format!("session-persist:{name}:ctx");
    let text = ls.get_item(&key).unwrap().unwrap();
    ls.set_item(&key, &text.replace("original", "tampered"))
        .unwrap();

    let recovered: Rc<RefCell<Vec<String>>> = Rc::default();
    let r = recovered.clone();
    let on_event =
        Closure::<dyn FnMut(JsValue, JsValue)>::new(move |event: JsValue, _detail: JsValue| {
            r.borrow_mut().push(event.as_string().unwrap());
        });
    let hooks = Hooks {
        on_event: Some(on_event.into_js_value().unchecked_into()),
        ..Hooks::default()
    };
    let again = Session::open(
        opts(&name, StorageChoice::LocalStorage),
        "sid".into(),
        hooks,
    )
    .await
    .unwrap();
    assert!(
        again.get("v").is_undefined(),
        "a record failing its checksum is not loaded"
    );
    assert_eq!(*recovered.borrow(), ["recovered"]);
    let kept = ls
        .get_item(&format!("session-persist:{name}:ctx.damaged"))
        .unwrap();
    assert!(kept.unwrap().contains("tampered"));
}

/// Waits for an IndexedDB open or delete made as another tab would; its
/// result, or an error if it fails or is blocked by our connection.
async fn other_tab(req: &web_sys::IdbOpenDbRequest) -> Result<JsValue, JsValue> {
    let r = req.clone();
    let done = js_sys::Promise::new(&mut |resolve, reject| {
        let r = r.clone();
        let ok = Closure::once_into_js(move || {
            let _ = resolve.call1(
                &JsValue::UNDEFINED,
                &r.result().unwrap_or(JsValue::UNDEFINED),
            );
        });
        req.set_onsuccess(Some(ok.unchecked_ref()));
        req.set_onerror(Some(&reject));
        req.set_onblocked(Some(&reject));
    });
    wasm_bindgen_futures::JsFuture::from(done).await
}

#[wasm_bindgen_test]
async fn a_connection_closed_for_another_tab_is_reopened() {
    let name = unique("reopen");
    let s = open(opts(&name, StorageChoice::IndexedDb)).await;
    set(&s, "a", 1.into()).unwrap();
    s.save().await.unwrap();
    // Another tab deleting the database sends `versionchange` to ours: we
    // must close (or the delete is blocked), then reconnect on next use.
    let factory = web_sys::window().unwrap().indexed_db().unwrap().unwrap();
    let req = factory
        .delete_database(&format!("session-persist:{name}"))
        .unwrap();
    other_tab(&req).await.expect("delete not blocked");
    set(&s, "b", 2.into()).unwrap();
    s.save().await.expect("save after reconnect");
    let again = open(opts(&name, StorageChoice::IndexedDb)).await;
    assert_eq!(again.get("b").as_f64(), Some(2.0));
}

// ----- several tabs (two sessions of one name in this page stand for two tabs) -----

fn subscriber_log(s: &Session) -> Rc<RefCell<Vec<String>>> {
    let seen: Rc<RefCell<Vec<String>>> = Rc::default();
    let seen2 = seen.clone();
    let f = Closure::<dyn FnMut(JsValue, JsValue)>::new(move |ctx: JsValue, change: JsValue| {
        seen2
            .borrow_mut()
            .push(format!("{} {}", json(&ctx), json(&change)));
    });
    s.subscribe(f.into_js_value().unchecked_into()).unwrap();
    seen
}

#[wasm_bindgen_test]
async fn a_second_session_of_the_name_gets_its_own_tab_id_and_live_changes() {
    let name = unique("live");
    let a = open(opts(&name, StorageChoice::IndexedDb)).await;
    let b = open(opts(&name, StorageChoice::IndexedDb)).await;
    assert_ne!(a.tab_id(), b.tab_id(), "one tab id per writer");
    let seen = subscriber_log(&b);
    set(&a, "k", parse(r#"{"v":1}"#)).unwrap();
    for _ in 0..50 {
        if !seen.borrow().is_empty() {
            break;
        }
        sleep(10).await;
    }
    assert_eq!(
        *seen.borrow(),
        [r#"{"k":{"v":1}} {"source":"tab","keys":["k"]}"#]
    );
    // One message for a burst of changes in one task.
    seen.borrow_mut().clear();
    for i in 0..100 {
        set(&a, "n", i.into()).unwrap();
    }
    sleep(100).await;
    assert_eq!(seen.borrow().len(), 1);
    assert_eq!(b.get("n").as_f64(), Some(99.0));
}

#[wasm_bindgen_test]
async fn saves_from_two_writers_merge_instead_of_overwriting() {
    // No live sync: only the read-merge-write save can keep both keys.
    for choice in [StorageChoice::IndexedDb, StorageChoice::LocalStorage] {
        let name = unique("merge");
        let mut o = opts(&name, choice);
        o.cross_tab = false;
        let a = open(o.clone()).await;
        let b = open(o.clone()).await;
        assert_ne!(
            a.tab_id(),
            b.tab_id(),
            "writers never share an id, even without live sync"
        );
        set(&a, "a", 1.into()).unwrap();
        set(&b, "b", 2.into()).unwrap();
        set(&a, "same", "from a".into()).unwrap();
        // Later by the clock: writes in the same millisecond are concurrent,
        // and their winner is settled by tab id, not by call order.
        sleep(5).await;
        set(&b, "same", "from b, later".into()).unwrap();
        let (ra, rb) = (a.save(), b.save());
        ra.await.unwrap();
        rb.await.unwrap();
        let fresh = open(o).await;
        assert_eq!(
            json(&fresh.view()),
            r#"{"a":1,"b":2,"same":"from b, later"}"#,
            "{choice:?}"
        );
    }
}

/// How many times IndexedDB was asked for the `ctx` record so far (a spy
/// around the real `IDBObjectStore.prototype.get`, installed once).
fn ctx_reads() -> u32 {
    let count = Function::new_no_args(
        "const p = IDBObjectStore.prototype;
         if (!p.__spGet) {
           p.__spGet = p.get;
           globalThis.__spCtxReads = 0;
           p.get = function (k) { if (k === 'ctx') globalThis.__spCtxReads++; return p.__spGet.call(this, k); };
         }
         return globalThis.__spCtxReads;",
    );
    count.call0(&JsValue::UNDEFINED).unwrap().as_f64().unwrap() as u32
}

#[wasm_bindgen_test]
async fn a_save_writes_without_reading_until_another_writer_saves_then_merges() {
    let name = unique("guess");
    let mut o = opts(&name, StorageChoice::IndexedDb);
    o.cross_tab = false; // only storage can carry changes between a and b
    let a = open(o.clone()).await;
    let b = open(o.clone()).await;
    set(&a, "a", 1.into()).unwrap();
    a.save().await.unwrap();
    set(&a, "a", 2.into()).unwrap();
    let before = ctx_reads();
    a.save().await.unwrap();
    set(&a, "a", 3.into()).unwrap();
    a.save().await.unwrap();
    assert_eq!(
        ctx_reads(),
        before,
        "a's own consecutive saves do not read ctx"
    );

    // b writes in between: a's next save must notice and merge, not overwrite.
    set(&b, "b", 1.into()).unwrap();
    b.save().await.unwrap();
    set(&a, "a", 4.into()).unwrap();
    let before = ctx_reads();
    a.save().await.unwrap();
    assert!(ctx_reads() > before, "a read ctx after b wrote");
    assert_eq!(a.get("b").as_f64(), Some(1.0), "a merged b's key");
    set(&b, "b", 2.into()).unwrap();
    b.save().await.unwrap();

    let fresh = open(o.clone()).await;
    assert_eq!(json(&fresh.view()), r#"{"a":4,"b":2}"#);

    // The backup ring holds the versions the guessed saves replaced.
    let (store, _) = storage::open(&name, StorageChoice::IndexedDb).await;
    let (_, ring) = store.read(&[], "bak:").await.unwrap();
    let kept: Vec<String> = ring
        .iter()
        .map(|(_, v)| json(&Reflect::get(v, &"vals".into()).unwrap()))
        .collect();
    for version in [r#"["1"]"#, r#"["2"]"#, r#"["3"]"#] {
        assert!(kept.iter().any(|k| k == version), "{version} in {kept:?}");
    }
}

#[wasm_bindgen_test]
async fn after_clear_no_backup_holds_the_cleared_context() {
    let name = unique("clear-ring");
    let o = opts(&name, StorageChoice::IndexedDb);
    let s = open(o.clone()).await;
    set(&s, "secret", "alpha".into()).unwrap();
    s.save().await.unwrap();
    set(&s, "secret", "beta".into()).unwrap();
    s.save().await.unwrap();
    s.clear().await.unwrap();
    set(&s, "fresh", 1.into()).unwrap();
    s.save().await.unwrap();
    set(&s, "fresh", 2.into()).unwrap();
    s.save().await.unwrap();
    let (store, _) = storage::open(&name, StorageChoice::IndexedDb).await;
    let (_, ring) = store.read(&[], "bak:").await.unwrap();
    assert!(!ring.is_empty(), "saves after clear keep backups again");
    // Tombstones of the cleared keys may remain (they stop stale copies
    // coming back); their values may not.
    for (key, v) in &ring {
        assert!(
            !json(v).contains("alpha") && !json(v).contains("beta"),
            "{key} holds the cleared context: {}",
            json(v)
        );
    }
}

fn local_storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

fn leave_page() {
    let window = web_sys::window().unwrap();
    window
        .dispatch_event(&web_sys::Event::new("pagehide").unwrap())
        .unwrap();
}

fn unsaved_opts(name: &str) -> Options {
    let mut o = opts(name, StorageChoice::IndexedDb);
    o.save_debounce = 60_000;
    o.auto_save_interval = 0;
    o
}

#[wasm_bindgen_test]
async fn a_leaving_tab_writes_a_journal_that_the_next_save_folds_in() {
    let name = unique("journal");
    let a = open(unsaved_opts(&name)).await;
    set(&a, "unsaved", "x".into()).unwrap();
    leave_page();
    // Written synchronously, in localStorage (see storage/journal.rs).
    let key = format!("session-persist:{name}:tab:{}", a.tab_id());
    let local = local_storage().get_item(&key).unwrap().unwrap();
    assert!(local.contains("unsaved"));
    // The same record also goes to an IndexedDB journal (a second chance).
    sleep(50).await;
    assert!(!a.info().dirty);
    let (store, _) = storage::open(&name, StorageChoice::IndexedDb).await;
    let (_, idb_journals) = store.read(&[], "tab:").await.unwrap();
    assert_eq!(idb_journals.len(), 1);

    let mut fresh_opts = unsaved_opts(&name);
    fresh_opts.cross_tab = false; // load from storage only, not from the live tab
    let fresh = open(fresh_opts).await;
    assert_eq!(fresh.get("unsaved").as_string().as_deref(), Some("x"));
    assert!(fresh.info().dirty, "a folded journal is written back");
    fresh.save().await.unwrap();
    let gone = local_storage().get_item(&key).unwrap();
    assert_eq!(gone, None, "the save deleted the journals it folded in");
    let (ctx, idb_journals) = store.read(&["ctx"], "tab:").await.unwrap();
    assert!(idb_journals.is_empty());
    assert!(json(ctx[0].as_ref().unwrap()).contains("unsaved"));
}

#[wasm_bindgen_test]
async fn leaving_while_a_save_is_in_flight_still_writes_the_journal() {
    // The save's transaction may not commit if the page goes now, so the
    // change it carries must be in the journal too.
    let name = unique("journal-inflight");
    let a = open(unsaved_opts(&name)).await;
    set(&a, "typed", "draft".into()).unwrap();
    let saving = a.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let _ = saving.save().await;
    });
    // Let the save start (a microtask), not finish (IndexedDB answers later).
    wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&JsValue::NULL))
        .await
        .unwrap();
    assert!(a.info().dirty, "the save is in flight");
    leave_page();
    let key = format!("session-persist:{name}:tab:{}", a.tab_id());
    let local = local_storage().get_item(&key).unwrap();
    assert!(
        local.is_some_and(|j| j.contains("draft")),
        "the journal holds the change being saved"
    );
}

#[wasm_bindgen_test]
async fn with_localstorage_full_the_journal_goes_to_indexeddb() {
    let name = unique("journal-full");
    let a = open(unsaved_opts(&name)).await;
    set(&a, "unsaved", "y".into()).unwrap();
    // Fill localStorage to the quota, then leave.
    let ls = local_storage();
    let mut filler = Vec::new();
    let mut chunk = "f".repeat(1 << 20);
    while chunk.len() > 16 {
        let key = format!("filler-{}", filler.len());
        if ls.set_item(&key, &chunk).is_ok() {
            filler.push(key);
        } else {
            chunk.truncate(chunk.len() / 2);
        }
    }
    leave_page();
    sleep(100).await;
    for key in &filler {
        ls.remove_item(key).unwrap();
    }
    let (store, _) = storage::open(&name, StorageChoice::IndexedDb).await;
    let (_, journals) = store.read(&[], "tab:").await.unwrap();
    assert_eq!(journals.len(), 1, "the journal went to IndexedDB instead");
    let mut fresh_opts = unsaved_opts(&name);
    fresh_opts.cross_tab = false;
    let fresh = open(fresh_opts).await;
    assert_eq!(fresh.get("unsaved").as_string().as_deref(), Some("y"));
}

#[wasm_bindgen_test]
async fn a_late_session_catches_up_from_a_live_one_before_open_resolves() {
    let name = unique("late");
    let o = unsaved_opts(&name);
    let a = open(o.clone()).await;
    set(&a, "late", 1.into()).unwrap();
    assert!(a.info().dirty);
    let b = open(o).await;
    assert_eq!(b.get("late").as_f64(), Some(1.0));
}

#[wasm_bindgen_test]
async fn restore_and_clear_reach_the_other_tab() {
    let name = unique("restore-live");
    let a = open(opts(&name, StorageChoice::IndexedDb)).await;
    let b = open(opts(&name, StorageChoice::IndexedDb)).await;
    set(&a, "v", 1.into()).unwrap();
    let id = a.create_snapshot("one", Source::Manual).await.unwrap();
    set(&a, "v", 2.into()).unwrap();
    set(&a, "w", 3.into()).unwrap();
    sleep(50).await;
    assert_eq!(json(&b.view()), r#"{"v":2,"w":3}"#);
    a.restore_snapshot(&id).await.unwrap();
    sleep(50).await;
    assert_eq!(json(&b.view()), r#"{"v":1}"#);
    a.clear().await.unwrap();
    sleep(50).await;
    assert_eq!(json(&b.view()), "{}");
    // B saving what it holds cannot bring cleared keys back.
    set(&b, "after", true.into()).unwrap();
    b.save().await.unwrap();
    let mut o = opts(&name, StorageChoice::IndexedDb);
    o.cross_tab = false;
    let fresh = open(o).await;
    assert_eq!(json(&fresh.view()), r#"{"after":true}"#);
}

#[wasm_bindgen_test]
async fn garbage_on_the_channel_is_ignored() {
    let name = unique("garbage");
    let a = open(opts(&name, StorageChoice::Memory)).await;
    let seen = subscriber_log(&a);
    let bc = web_sys::BroadcastChannel::new(&format!("session-persist:{name}")).unwrap();
    for text in [
        "null",
        "42",
        r#""x""#,
        "{}",
        r#"{"sp":2,"t":"ops","from":"t1","e":[["k","1.0.t1","1"]]}"#,
        r#"{"sp":1,"t":"ops","from":"t1","e":[["k","1.0.t1","1"]]}"#,
        r#"{"sp":1,"v":3,"t":"ops","from":"t1","e":[["k","1.0.t1","1"]]}"#,
        r#"{"sp":1,"v":0,"t":"ops","from":"t1","e":"nope"}"#,
        r#"{"sp":1,"v":0,"t":"ops","from":"t1","e":[["k","not-a-stamp","1"],[1,2,3],"x",["k2","1.0.t1","{not json"]]}"#,
        r#"{"sp":1,"v":0,"t":"ops","from":"t1","e":[["good","1.0.t1","1"],["k2","1.0.t1","{not json"]]}"#,
        r#"{"sp":1,"v":0,"t":"ops","from":"t1","e":[["__proto__","1.0.t1","{\"polluted\":true}"]]}"#,
        r#"{"sp":1,"v":0,"t":"state","from":"t1","to":"nobody","e":[["k","1.0.t1","1"]]}"#,
        r#"{"sp":1,"v":0,"t":"hello","from":"t1"}"#,
        r#"{"sp":1,"v":0,"t":"ops","from":"t1","e":[["inf","1.0.t1","1e999"],["inf2","1.0.t1","[1,{\"a\":-1e400}]"]]}"#,
    ] {
        bc.post_message(&parse(text)).unwrap();
    }
    sleep(50).await;
    assert!(Reflect::get(&Object::new(), &"polluted".into())
        .unwrap()
        .is_undefined());
    // Only the well-formed __proto__ entry was taken, as an ordinary key.
    assert_eq!(seen.borrow().len(), 1, "{:?}", seen.borrow());
    assert_eq!(json(&a.get("__proto__")), r#"{"polluted":true}"#);
    assert!(a.get("k").is_undefined() && a.get("k2").is_undefined());
    assert!(
        a.get("good").is_undefined(),
        "one bad entry rejects its whole message"
    );
    assert!(
        a.get("inf").is_undefined() && a.get("inf2").is_undefined(),
        "JSON that parses to Infinity is refused"
    );
}

#[wasm_bindgen_test]
async fn a_forged_stamp_from_the_far_future_cannot_freeze_a_key() {
    let name = unique("forged");
    let a = open(opts(&name, StorageChoice::Memory)).await;
    let bc = web_sys::BroadcastChannel::new(&format!("session-persist:{name}")).unwrap();
    let near = session_persist::platform::env::now() + 60_000;
    for stamp in [
        "18446744073709551615.4294967295.~~~~".to_string(),
        format!("{near}.4294967295.~~~~"),
    ] {
        let msg = format!(
            r#"{{"sp":1,"v":0,"t":"ops","from":"forger","e":[["k","{stamp}","\"forged\""]]}}"#
        );
        bc.post_message(&parse(&msg)).unwrap();
        sleep(30).await;
        set(&a, "k", "mine".into()).unwrap();
        assert_eq!(
            a.get("k").as_string().as_deref(),
            Some("mine"),
            "after {stamp}"
        );
    }
}

#[wasm_bindgen_test]
async fn a_stored_record_with_a_far_future_stamp_does_not_win() {
    use session_persist::core::checksum;
    use session_persist::core::record::{self, Digest, Header, FORMAT};
    let name = unique("forged-store");
    let (store, _) = storage::open(&name, StorageChoice::IndexedDb).await;
    // A record that passes its checksum but claims a write from the far future.
    let (stamp, value) = ("18446744073709551615.0.evil", "\"forged\"");
    let header = Header {
        format: FORMAT,
        schema: 0,
        revision: 1,
        saved_at: 1,
    };
    let digest = Digest {
        key: "k",
        stamp,
        value_hash: Some(checksum::hash(value.as_bytes())),
    };
    let sum = checksum::to_hex(record::checksum(&header, [digest]));
    let text = format!(
        r#"{{"f":{FORMAT},"schema":0,"rev":1,"at":1,"sum":"{sum}","keys":["k"],"stamps":["{stamp}"],"vals":[{}]}}"#,
        json(&value.into())
    );
    store
        .write(Batch {
            puts: vec![("ctx".into(), parse(&text))],
            deletes: vec![],
        })
        .await
        .unwrap();
    let mut o = opts(&name, StorageChoice::IndexedDb);
    o.cross_tab = false;
    let s = open(o.clone()).await;
    assert!(
        s.get("k").is_undefined(),
        "an implausible stamp is not loaded"
    );
    set(&s, "k", "mine".into()).unwrap();
    s.save().await.unwrap();
    let fresh = open(o).await;
    assert_eq!(fresh.get("k").as_string().as_deref(), Some("mine"));
}

// ----- never losing saved data -----

async fn open_with(
    o: Options,
    migrate: Option<Function>,
) -> Result<(Session, Rc<RefCell<Vec<String>>>), Code> {
    let events: Rc<RefCell<Vec<String>>> = Rc::default();
    let e = events.clone();
    let on_event =
        Closure::<dyn FnMut(JsValue, JsValue)>::new(move |event: JsValue, detail: JsValue| {
            e.borrow_mut()
                .push(format!("{} {}", event.as_string().unwrap(), json(&detail)));
        });
    let hooks = Hooks {
        on_event: Some(on_event.into_js_value().unchecked_into()),
        migrate,
    };
    Session::open(o, "sid".into(), hooks)
        .await
        .map(|s| (s, events))
        .map_err(|e| e.code)
}

/// Changes the string value `from` to `to` in a stored record, as stored:
/// the value's JSON text inside the record's JSON (`\"v1\"`). A bare
/// `v1` could also match inside the random tab id in `w` or a stamp, and
/// `w` is not checksummed, so the record would stay valid (a flake seen
/// once in about a dozen runs).
fn ls_tamper(name: &str, key: &str, from: &str, to: &str) {
    let ls = local_storage();
    let full = format!("session-persist:{name}:{key}");
    let text = ls.get_item(&full).unwrap().unwrap();
    let (from, to) = (format!("\\\"{from}\\\""), format!("\\\"{to}\\\""));
    assert_eq!(
        text.matches(&from).count(),
        1,
        "{key} holds {from} once: {text}"
    );
    ls.set_item(&full, &text.replacen(&from, &to, 1)).unwrap();
}

fn ls_keys(name: &str, prefix: &str) -> Vec<String> {
    let ls = local_storage();
    let full = format!("session-persist:{name}:{prefix}");
    (0..ls.length().unwrap())
        .filter_map(|i| ls.key(i).unwrap())
        .filter(|k| k.starts_with(&full))
        .collect()
}

#[wasm_bindgen_test]
async fn a_damaged_primary_is_replaced_by_the_newest_valid_backup() {
    let name = unique("backup");
    let mut o = opts(&name, StorageChoice::LocalStorage);
    o.cross_tab = false;
    let s = open(o.clone()).await;
    for v in ["v1", "v2", "v3"] {
        set(&s, "v", v.into()).unwrap();
        s.save().await.unwrap();
    }
    s.close().await.unwrap();
    ls_tamper(&name, "ctx", "v3", "vX");
    let (again, events) = open_with(o.clone(), None).await.unwrap();
    assert_eq!(
        again.get("v").as_string().as_deref(),
        Some("v2"),
        "the previous saved version"
    );
    assert!(again.info().recovered_from_backup);
    {
        let events = events.borrow();
        let recovered = &events[0];
        assert!(recovered.starts_with("recovered "), "{events:?}");
        assert!(recovered.contains(r#""from":"backup""#), "{events:?}");
        assert!(recovered.contains(r#""lost":false"#), "{events:?}");
        assert!(recovered.contains(r#""revision":2"#), "{events:?}");
        assert!(recovered.contains(r#""lostRevision":3"#), "{events:?}");
        assert!(events[1].starts_with("restored "), "{events:?}");
    }
    let kept = ls_keys(&name, "ctx.damaged");
    assert!(!kept.is_empty(), "the damaged primary is kept");
    // The next save writes a good primary again.
    again.save().await.unwrap();
    again.close().await.unwrap();
    let (third, events) = open_with(o, None).await.unwrap();
    assert!(!third.info().recovered_from_backup);
    assert_eq!(third.get("v").as_string().as_deref(), Some("v2"));
    assert!(events.borrow().iter().all(|e| !e.starts_with("recovered")));
}

#[wasm_bindgen_test]
async fn with_everything_damaged_the_session_opens_empty_and_says_so() {
    let name = unique("all-bad");
    let mut o = opts(&name, StorageChoice::LocalStorage);
    o.cross_tab = false;
    let s = open(o.clone()).await;
    for v in ["v1", "v2"] {
        set(&s, "v", v.into()).unwrap();
        s.save().await.unwrap();
    }
    s.close().await.unwrap();
    ls_tamper(&name, "ctx", "v2", "vX");
    ls_tamper(&name, "bak:0", "v1", "vY");
    let (again, events) = open_with(o, None).await.unwrap();
    assert_eq!(json(&again.view()), "{}");
    assert!(
        events.borrow()[0].contains(r#""lost":true"#),
        "{:?}",
        events.borrow()
    );
}

#[wasm_bindgen_test]
async fn the_backup_ring_keeps_the_configured_number() {
    for (backups, expected) in [(0u32, 0usize), (2, 2), (5, 4)] {
        let name = unique("ring");
        let mut o = opts(&name, StorageChoice::LocalStorage);
        o.cross_tab = false;
        o.backups = backups;
        let s = open(o).await;
        for i in 0..5 {
            set(&s, "i", i.into()).unwrap();
            s.save().await.unwrap();
        }
        // 5 saves replace 4 earlier versions.
        assert_eq!(ls_keys(&name, "bak:").len(), expected, "backups: {backups}");
    }
}

fn migrate_fn(body: &str) -> Function {
    Function::new_with_args("old, from", body)
}

#[wasm_bindgen_test]
async fn an_older_schema_is_migrated_once_and_saved() {
    let name = unique("migrate");
    let mut v1 = opts(&name, StorageChoice::IndexedDb);
    v1.version = 1;
    let s = open(v1.clone()).await;
    set(&s, "name", "a".into()).unwrap();
    set(&s, "dropped", true.into()).unwrap();
    s.close().await.unwrap();

    let mut v2 = v1.clone();
    v2.version = 2;
    let migrate = migrate_fn("return Promise.resolve({ fullName: old.name, from })");
    let (s, _) = open_with(v2.clone(), Some(migrate)).await.unwrap();
    assert_eq!(json(&s.view()), r#"{"from":1,"fullName":"a"}"#);
    s.close().await.unwrap();
    // Saved with version 2: a migrate that throws is not called again.
    let (again, _) = open_with(v2, Some(migrate_fn("throw new Error('called twice')")))
        .await
        .unwrap();
    assert_eq!(json(&again.view()), r#"{"from":1,"fullName":"a"}"#);
}

#[wasm_bindgen_test]
async fn a_failing_migration_rejects_and_leaves_storage_untouched() {
    let name = unique("migrate-fail");
    let mut v1 = opts(&name, StorageChoice::IndexedDb);
    v1.version = 1;
    let s = open(v1.clone()).await;
    set(&s, "name", "a".into()).unwrap();
    s.close().await.unwrap();
    let mut v2 = v1.clone();
    v2.version = 2;
    for body in [
        "throw new Error('boom')",
        "return Promise.reject(new Error('no'))",
        "return 42",
        "return { f: () => 1 }",
    ] {
        let err = open_with(v2.clone(), Some(migrate_fn(body))).await.err();
        assert_eq!(err, Some(Code::MigrationFailed), "{body}");
    }
    let again = open(v1).await;
    assert_eq!(json(&again.view()), r#"{"name":"a"}"#);
}

#[wasm_bindgen_test]
async fn an_older_app_neither_loads_nor_overwrites_a_newer_schema() {
    let name = unique("newer");
    let mut v2 = opts(&name, StorageChoice::IndexedDb);
    v2.version = 2;
    v2.cross_tab = false;
    let s = open(v2.clone()).await;
    set(&s, "shape", "v2".into()).unwrap();
    s.close().await.unwrap();

    let mut v1 = v2.clone();
    v1.version = 1;
    let (old, events) = open_with(v1.clone(), None).await.unwrap();
    assert_eq!(json(&old.view()), "{}");
    assert_eq!(old.info().backend, Backend::Memory);
    assert!(old.info().degraded.unwrap().contains("newer"));
    assert!(
        events
            .borrow()
            .iter()
            .any(|e| e.contains("VERSION_TOO_NEW")),
        "{:?}",
        events.borrow()
    );
    set(&old, "shape", "v1".into()).unwrap();
    old.save().await.unwrap();
    let newer = open(v2.clone()).await;
    assert_eq!(newer.get("shape").as_string().as_deref(), Some("v2"));

    // An old tab open before the newer one wrote: its save is refused.
    let (old, _) = open_with(v1, None).await.unwrap();
    let _ = old;
    let name2 = unique("newer-race");
    let (mut a1, mut a2) = (
        opts(&name2, StorageChoice::IndexedDb),
        opts(&name2, StorageChoice::IndexedDb),
    );
    a1.version = 1;
    a2.version = 2;
    a1.cross_tab = false;
    a2.cross_tab = false;
    let old_tab = open(a1).await;
    let new_tab = open(a2.clone()).await;
    set(&new_tab, "k", "from v2".into()).unwrap();
    new_tab.save().await.unwrap();
    set(&old_tab, "k", "from v1".into()).unwrap();
    assert_eq!(old_tab.save().await.unwrap_err().code, Code::VersionTooNew);
    let check = open(a2).await;
    assert_eq!(check.get("k").as_string().as_deref(), Some("from v2"));
}

#[wasm_bindgen_test]
async fn mutated_records_never_break_opening() {
    // In-browser fuzzing of record decoding: random edits of a valid stored
    // record; every open must succeed, with either a verified context or a
    // recovery event, and never a panic.
    let name = unique("fuzz");
    let mut o = opts(&name, StorageChoice::LocalStorage);
    o.cross_tab = false;
    o.backups = 0;
    let s = open(o.clone()).await;
    set(&s, "a", parse(r#"{"x":[1,2,{"y":"z"}],"n":-1.5e3}"#)).unwrap();
    set(&s, "b", "text".into()).unwrap();
    s.close().await.unwrap();
    let full = format!("session-persist:{name}:ctx");
    let original = local_storage().get_item(&full).unwrap().unwrap();
    let bytes = original.as_bytes();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut loaded, mut recovered) = (0, 0);
    for _ in 0..150 {
        let mut text = bytes.to_vec();
        for _ in 0..(1 + next() % 3) {
            let i = (next() as usize) % text.len();
            match next() % 3 {
                0 => text[i] = b"{}[]\",:0123456789.-eE nulltruex\\"[(next() % 30) as usize],
                1 => {
                    text.remove(i);
                }
                _ => text.insert(i, b"\"]}0,e\\"[(next() % 7) as usize]),
            }
        }
        let mutated = String::from_utf8_lossy(&text).into_owned();
        local_storage().set_item(&full, &mutated).unwrap();
        let (s, events) = open_with(o.clone(), None).await.expect("open never fails");
        if events.borrow().iter().any(|e| e.starts_with("recovered")) {
            recovered += 1;
        } else {
            loaded += 1;
            assert_eq!(
                json(&s.get("b")),
                r#""text""#,
                "an unflagged load is the saved context: {mutated}"
            );
        }
        s.close().await.unwrap();
        local_storage().set_item(&full, &original).unwrap();
    }
    assert!(
        recovered > 100,
        "most edits are caught ({recovered} recovered, {loaded} loaded)"
    );
}

#[wasm_bindgen_test]
async fn snapshots_of_another_schema_are_migrated_or_refused() {
    let name = unique("snap-version");
    let mut v1 = opts(&name, StorageChoice::IndexedDb);
    v1.version = 1;
    v1.cross_tab = false;
    let s = open(v1.clone()).await;
    set(&s, "name", "a".into()).unwrap();
    let old_snapshot = s.create_snapshot("v1", Source::Manual).await.unwrap();
    s.close().await.unwrap();

    let mut v2 = v1.clone();
    v2.version = 2;
    let migrate = migrate_fn("return { fullName: old.name, from }");
    let (s, _) = open_with(v2.clone(), Some(migrate)).await.unwrap();
    set(&s, "fullName", "changed".into()).unwrap();
    s.restore_snapshot(&old_snapshot).await.unwrap();
    assert_eq!(json(&s.view()), r#"{"from":1,"fullName":"a"}"#);
    s.close().await.unwrap();

    // A newer app took a snapshot but never saved its context (so no newer
    // context keeps the old app in memory): the old app refuses to restore it.
    let other = unique("snap-newer");
    let mut newer = opts(&other, StorageChoice::IndexedDb);
    newer.version = 2;
    newer.cross_tab = false;
    newer.save_debounce = 60_000;
    newer.auto_save_interval = 0;
    let s = open(newer.clone()).await;
    set(&s, "fullName", "b".into()).unwrap();
    let newer_snapshot = s.create_snapshot("v2", Source::Manual).await.unwrap();
    drop(s);
    let mut older = newer;
    older.version = 1;
    let old_app = open(older).await;
    let err = old_app.restore_snapshot(&newer_snapshot).await.unwrap_err();
    assert_eq!(err.code, Code::VersionTooNew);
}

#[wasm_bindgen_test]
async fn a_database_upgraded_by_another_connection_is_reopened_at_its_version() {
    let name = unique("upgraded");
    let s = open(opts(&name, StorageChoice::IndexedDb)).await;
    set(&s, "a", 1.into()).unwrap();
    s.save().await.unwrap();
    // Another connection upgrades to version 2: ours must let go (or the
    // upgrade is blocked) and later reopen at version 2, not ask for 1.
    let factory = web_sys::window().unwrap().indexed_db().unwrap().unwrap();
    let req = factory
        .open_with_u32(&format!("session-persist:{name}"), 2)
        .unwrap();
    let db = other_tab(&req).await.expect("upgrade not blocked");
    db.unchecked_into::<web_sys::IdbDatabase>().close();
    set(&s, "b", 2.into()).unwrap();
    s.save().await.expect("save after the upgrade");
    let again = open(opts(&name, StorageChoice::IndexedDb)).await;
    assert_eq!(json(&again.view()), r#"{"a":1,"b":2}"#);
}

#[wasm_bindgen_test]
async fn what_was_saved_to_localstorage_while_degraded_reaches_indexeddb() {
    let name = unique("was-degraded");
    let mut ls_opts = opts(&name, StorageChoice::LocalStorage);
    ls_opts.cross_tab = false;
    let degraded = open(ls_opts).await;
    set(&degraded, "during", "outage".into()).unwrap();
    degraded.save().await.unwrap();
    degraded.close().await.unwrap();

    let mut idb_opts = opts(&name, StorageChoice::IndexedDb);
    idb_opts.cross_tab = false;
    let back = open(idb_opts.clone()).await;
    assert_eq!(back.get("during").as_string().as_deref(), Some("outage"));
    back.save().await.unwrap();
    back.close().await.unwrap();
    assert!(
        ls_keys(&name, "ctx").is_empty(),
        "folded into IndexedDB, then removed"
    );
    let again = open(idb_opts).await;
    assert_eq!(again.get("during").as_string().as_deref(), Some("outage"));
}
