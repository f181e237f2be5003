//! One storage interface, three backends: IndexedDB, localStorage, memory.
//!
//! A backend stores JS values under string keys. `write` applies a batch of
//! puts and deletes atomically: all or nothing, so a failed save leaves what
//! was stored as it was.

mod idb;
pub mod journal;
mod local;
mod memory;

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use wasm_bindgen::JsValue;

use crate::core::error::Result;
use crate::core::options::StorageChoice;

pub use idb::IdbStorage;
pub use local::LocalStorage;
pub use memory::MemoryStorage;

/// A boxed future on the browser's single thread.
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Which backend holds the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// IndexedDB: durable, large, asynchronous.
    IndexedDb,
    /// localStorage: durable, small (about 5 MB per origin), synchronous.
    LocalStorage,
    /// Memory: gone with the page.
    Memory,
}

impl Backend {
    /// The name exposed as `info().backend`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::IndexedDb => "indexeddb",
            Backend::LocalStorage => "localstorage",
            Backend::Memory => "memory",
        }
    }
}

/// Puts and deletes applied together.
#[derive(Default)]
pub struct Batch {
    /// Values to store, by key.
    pub puts: Vec<(String, JsValue)>,
    /// Keys to remove.
    pub deletes: Vec<String>,
}

/// What a read returns: the value of each key asked for (`None` if not
/// stored), and every `(key, value)` whose key starts with the prefix asked
/// for, in key order.
pub type Found = (Vec<Option<JsValue>>, Vec<(String, JsValue)>);

/// Computes, from what was read, what to write (see [`Storage::update`]).
pub type Modify = Box<dyn FnOnce(Found) -> Batch>;

/// A write prepared ahead of its read, and the check of what the read found
/// that makes it right (see [`Storage::update_guessing`]).
pub struct Guess {
    /// The records the check reads (the full update reads `keys`).
    pub reads: &'static [&'static str],
    /// What to write.
    pub batch: Batch,
    /// Whether what was found is what the batch was prepared for.
    pub holds: Box<dyn FnOnce(&Found) -> bool>,
}

/// A place to keep records.
pub trait Storage {
    /// Which backend this is.
    fn backend(&self) -> Backend;
    /// Reads `keys`, and the records whose key starts with `prefix` (none if
    /// `prefix` is empty).
    fn read(&self, keys: &[&str], prefix: &str) -> BoxFut<'static, Result<Found>>;
    /// Read-modify-write as one atomic step: reads like [`Storage::read`],
    /// calls `modify` with what it found, and applies the batch it returns,
    /// with no other write (from any tab) in between. IndexedDB does this in
    /// one transaction; localStorage in one synchronous run.
    fn update(&self, keys: &[&str], prefix: &str, modify: Modify) -> BoxFut<'static, Result<()>>;
    /// [`Storage::update`] with a guess: `guess.batch` is what to write if
    /// storage is as the caller last left it, which `guess.holds` checks on
    /// what its own reads found (`guess.reads`, and the keys under
    /// `prefix`). IndexedDB issues those reads and the guessed writes
    /// together, so nothing waits for the context to be read; if the guess
    /// was wrong the transaction is aborted, undoing it, and `update` runs
    /// with `modify`. Other backends are synchronous, so they just run
    /// `update`.
    fn update_guessing(
        &self,
        keys: &[&str],
        prefix: &str,
        guess: Guess,
        modify: Modify,
    ) -> BoxFut<'static, Result<()>> {
        drop(guess);
        self.update(keys, prefix, modify)
    }
    /// Applies `batch` atomically. The write is issued before this returns
    /// (so a caller in a `pagehide` handler gets it to the browser in time);
    /// the future reports its outcome.
    fn write(&self, batch: Batch) -> BoxFut<'static, Result<()>>;
}

/// A backend whose reads and writes complete synchronously (localStorage,
/// memory): it gets [`Storage`] for free, and its read-modify-write is
/// atomic within the page because nothing can run between read and write.
pub trait Synchronous {
    /// Which backend this is.
    fn kind(&self) -> Backend;
    /// Reads `keys` and the records under `prefix`.
    fn find(&self, keys: &[&str], prefix: &str) -> Found;
    /// Applies `batch`, all or nothing.
    fn apply(&self, batch: Batch) -> Result<()>;
}

impl<T: Synchronous> Storage for T {
    fn backend(&self) -> Backend {
        self.kind()
    }

    fn read(&self, keys: &[&str], prefix: &str) -> BoxFut<'static, Result<Found>> {
        let found = self.find(keys, prefix);
        Box::pin(async move { Ok(found) })
    }

    fn update(&self, keys: &[&str], prefix: &str, modify: Modify) -> BoxFut<'static, Result<()>> {
        let result = self.apply(modify(self.find(keys, prefix)));
        Box::pin(async move { result })
    }

    fn write(&self, batch: Batch) -> BoxFut<'static, Result<()>> {
        let result = self.apply(batch);
        Box::pin(async move { result })
    }
}

/// Opens the storage asked for, falling back (IndexedDB, then localStorage,
/// then memory) when it cannot be used. Returns the storage and, when it is
/// not the one asked for, why.
pub async fn open(name: &str, choice: StorageChoice) -> (Rc<dyn Storage>, Option<String>) {
    let mut why: Vec<String> = Vec::new();
    if matches!(choice, StorageChoice::Auto | StorageChoice::IndexedDb) {
        match IdbStorage::open(name).await {
            Ok(s) => return (Rc::new(s), None),
            Err(e) => why.push(format!("IndexedDB unavailable ({})", e.message)),
        }
    }
    if choice != StorageChoice::Memory {
        match LocalStorage::open(name) {
            Ok(s) => {
                // "auto" falling back to localStorage is still degraded: the
                // app gets a smaller, synchronous store than it would expect.
                let degraded = (!why.is_empty()).then(|| why.join("; ") + "; using localStorage");
                return (Rc::new(s), degraded);
            }
            Err(e) => why.push(format!("localStorage unavailable ({})", e.message)),
        }
    }
    let degraded =
        (!why.is_empty()).then(|| why.join("; ") + "; using memory, nothing will survive a reload");
    (Rc::new(MemoryStorage::open(name)), degraded)
}

/// Resolves to `Some(output)` if `fut` finishes within `ms`, else `None`.
pub async fn within<F: Future>(ms: u32, fut: F) -> Option<F::Output> {
    Race {
        fut: Box::pin(fut),
        timer: gloo_timers::future::TimeoutFuture::new(ms),
    }
    .await
}

/// Runs `a` and `b` at the same time; resolves to both outputs.
pub async fn both<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    Both {
        a: Box::pin(a),
        b: Box::pin(b),
        out_a: None,
        out_b: None,
    }
    .await
}

struct Both<A: Future, B: Future> {
    a: Pin<Box<A>>,
    b: Pin<Box<B>>,
    out_a: Option<A::Output>,
    out_b: Option<B::Output>,
}

// Nothing is pinned in place: the futures are boxed.
impl<A: Future, B: Future> Unpin for Both<A, B> {}

impl<A: Future, B: Future> Future for Both<A, B> {
    type Output = (A::Output, B::Output);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if this.out_a.is_none() {
            if let Poll::Ready(v) = this.a.as_mut().poll(cx) {
                this.out_a = Some(v);
            }
        }
        if this.out_b.is_none() {
            if let Poll::Ready(v) = this.b.as_mut().poll(cx) {
                this.out_b = Some(v);
            }
        }
        match (this.out_a.take(), this.out_b.take()) {
            (Some(a), Some(b)) => Poll::Ready((a, b)),
            (a, b) => {
                this.out_a = a;
                this.out_b = b;
                Poll::Pending
            }
        }
    }
}

struct Race<F: Future> {
    fut: Pin<Box<F>>,
    timer: gloo_timers::future::TimeoutFuture,
}

impl<F: Future> Future for Race<F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(v) = self.fut.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        if Pin::new(&mut self.timer).poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    }
}
