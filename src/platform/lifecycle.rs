//! Page lifecycle: run a callback when the page may be about to go away
//! (`pagehide`, or the page becoming hidden: on mobile a hidden page is
//! often killed without any further event).

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Listeners on the page; removed when dropped.
pub struct Lifecycle {
    callback: Closure<dyn FnMut(web_sys::Event)>,
}

impl Lifecycle {
    /// Calls `on_leave` on `pagehide` and on `visibilitychange` to hidden.
    /// `None` where there is no window (workers).
    pub fn watch(mut on_leave: impl FnMut() + 'static) -> Option<Lifecycle> {
        let window = web_sys::window()?;
        let document = window.document()?;
        let doc = document.clone();
        let callback = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            if e.type_() == "pagehide" || doc.visibility_state() == web_sys::VisibilityState::Hidden
            {
                on_leave();
            }
        });
        let f = callback.as_ref().unchecked_ref();
        let _ = window.add_event_listener_with_callback("pagehide", f);
        let _ = document.add_event_listener_with_callback("visibilitychange", f);
        Some(Lifecycle { callback })
    }
}

impl Drop for Lifecycle {
    fn drop(&mut self) {
        let f = self.callback.as_ref().unchecked_ref();
        if let Some(window) = web_sys::window() {
            let _ = window.remove_event_listener_with_callback("pagehide", f);
            if let Some(document) = window.document() {
                let _ = document.remove_event_listener_with_callback("visibilitychange", f);
            }
        }
    }
}
