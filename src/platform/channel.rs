//! The cross-tab channel of one session name: a `BroadcastChannel`, or,
//! where that is missing, `storage` events on a localStorage key. Delivers
//! whatever arrives to one callback; validating it is the receiver's job.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::{env, js};

enum Transport {
    Broadcast(web_sys::BroadcastChannel),
    /// localStorage key whose `storage` events carry the messages.
    Storage(web_sys::Storage, String),
}

/// An open channel; closed when dropped.
pub struct Channel {
    transport: Transport,
    listener: Closure<dyn FnMut(web_sys::Event)>,
}

impl Channel {
    /// Opens the channel of `name`, calling `on_message` with each message
    /// from another tab. `None` if neither transport exists.
    pub fn open(name: &str, mut on_message: impl FnMut(JsValue) + 'static) -> Option<Channel> {
        let channel_name = format!("session-persist:{name}");
        let has_broadcast =
            js_sys::Reflect::has(&js_sys::global(), &"BroadcastChannel".into()).unwrap_or(false);
        if has_broadcast {
            if let Ok(bc) = web_sys::BroadcastChannel::new(&channel_name) {
                let listener =
                    Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
                        if let Some(e) = e.dyn_ref::<web_sys::MessageEvent>() {
                            on_message(e.data());
                        }
                    });
                bc.set_onmessage(Some(listener.as_ref().unchecked_ref()));
                return Some(Channel {
                    transport: Transport::Broadcast(bc),
                    listener,
                });
            }
        }
        let storage = env::local_storage()?;
        let window = web_sys::window()?;
        let key = format!("{channel_name}:bus");
        let k = key.clone();
        let listener = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            let Some(e) = e.dyn_ref::<web_sys::StorageEvent>() else {
                return;
            };
            if e.key().as_deref() != Some(k.as_str()) {
                return;
            }
            // The sender sets, then removes, the key: only the set carries a message.
            if let Some(text) = e.new_value() {
                if let Ok(envelope) = js_sys::JSON::parse(&text) {
                    on_message(js::get(&envelope, "m"));
                }
            }
        });
        window
            .add_event_listener_with_callback("storage", listener.as_ref().unchecked_ref())
            .ok()?;
        Some(Channel {
            transport: Transport::Storage(storage, key),
            listener,
        })
    }

    /// Sends `message` to every other tab of this name.
    pub fn post(&self, message: &JsValue) {
        match &self.transport {
            Transport::Broadcast(bc) => {
                let _ = bc.post_message(message);
            }
            Transport::Storage(storage, key) => {
                // A nonce makes every message a change, so each raises an event.
                let envelope =
                    js::object([("m", message.clone()), ("n", env::random_id("").into())]);
                if let Ok(text) = js_sys::JSON::stringify(&envelope) {
                    let _ = storage.set_item(key, &String::from(text));
                    let _ = storage.remove_item(key);
                }
            }
        }
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        match &self.transport {
            Transport::Broadcast(bc) => {
                bc.set_onmessage(None);
                bc.close();
            }
            Transport::Storage(..) => {
                if let Some(w) = web_sys::window() {
                    let _ = w.remove_event_listener_with_callback(
                        "storage",
                        self.listener.as_ref().unchecked_ref(),
                    );
                }
            }
        }
    }
}
