//! Session events (`on(event, fn)`, `onEvent`).

/// A session event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The context was written to storage.
    Saved,
    /// A stored context or a snapshot was loaded.
    Restored,
    /// Stored data failed validation; what could be saved was.
    Recovered,
    /// Storage is not the one asked for.
    Degraded,
    /// Another tab changed the context.
    RemoteChange,
    /// Something failed in the background (a save, a load).
    Error,
}

impl Event {
    /// The event's name in JS.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Saved => "saved",
            Event::Restored => "restored",
            Event::Recovered => "recovered",
            Event::Degraded => "degraded",
            Event::RemoteChange => "remote-change",
            Event::Error => "error",
        }
    }

    /// Parses an event name.
    pub fn parse(s: &str) -> Option<Event> {
        [
            Event::Saved,
            Event::Restored,
            Event::Recovered,
            Event::Degraded,
            Event::RemoteChange,
            Event::Error,
        ]
        .into_iter()
        .find(|e| e.as_str() == s)
    }
}
