//! Page lifecycle: run a callback when the page may be about to go away
//! (`pagehide`, or the page becoming hidden: on mobile a hidden page is
//! often killed without any further event), and another when it comes back
//! from a state in which it ran no code (restored from the back/forward
//! cache, resumed after being frozen), so may have missed other tabs'
//! messages. A page that was merely hidden still received them.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

const WINDOW_EVENTS: [&str; 2] = ["pagehide", "pageshow"];
const DOCUMENT_EVENTS: [&str; 2] = ["visibilitychange", "resume"];

/// Listeners on the page; removed when dropped.
pub struct Lifecycle {
    callback: Closure<dyn FnMut(web_sys::Event)>,
}

impl Lifecycle {
    /// Calls `on_leave` when the page may go away and `on_return` when it
    /// is back. `None` where there is no window (workers).
    pub fn watch(
        mut on_leave: impl FnMut() + 'static,
        mut on_return: impl FnMut() + 'static,
    ) -> Option<Lifecycle> {
        let window = web_sys::window()?;
        let document = window.document()?;
        let doc = document.clone();
        let callback = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            let hidden = doc.visibility_state() == web_sys::VisibilityState::Hidden;
            match e.type_().as_str() {
                "pagehide" => on_leave(),
                "visibilitychange" if hidden => on_leave(),
                "pageshow"
                    if js_sys::Reflect::get(&e, &"persisted".into())
                        .ok()
                        .and_then(|v| v.as_bool())
                        == Some(true) =>
                {
                    on_return()
                }
                "resume" => on_return(),
                _ => {}
            }
        });
        let f = callback.as_ref().unchecked_ref();
        for t in WINDOW_EVENTS {
            let _ = window.add_event_listener_with_callback(t, f);
        }
        for t in DOCUMENT_EVENTS {
            let _ = document.add_event_listener_with_callback(t, f);
        }
        Some(Lifecycle { callback })
    }
}

impl Drop for Lifecycle {
    fn drop(&mut self) {
        let f = self.callback.as_ref().unchecked_ref();
        if let Some(window) = web_sys::window() {
            for t in WINDOW_EVENTS {
                let _ = window.remove_event_listener_with_callback(t, f);
            }
            if let Some(document) = window.document() {
                for t in DOCUMENT_EVENTS {
                    let _ = document.remove_event_listener_with_callback(t, f);
                }
            }
        }
    }
}
