//! Hybrid logical clocks. Every write to a key carries a [`Stamp`]; the
//! larger stamp wins when two writes meet. Stamps from different tabs are
//! totally ordered (wall time, then counter, then tab id), so every tab picks
//! the same winner, and a tab whose wall clock lags still moves forward past
//! any stamp it has seen.

use std::cmp::Ordering;
use std::rc::Rc;

/// Appends `n` in decimal (without `core::fmt`, which costs wasm size).
fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(d as char);
    }
}

/// How far ahead of local time another writer's clock may be (one day:
/// generous for devices with wrong clocks, and bounds a forger).
pub const MAX_SKEW_MS: u64 = 86_400_000;

/// A point in hybrid logical time, unique per writer.
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub struct Stamp {
    /// Milliseconds since the epoch (the largest seen, not necessarily now).
    pub wall: u64,
    /// Orders events within one millisecond.
    pub counter: u32,
    /// The writer (tab id): the final tie-break. Shared, not copied, by the
    /// stamps of one writer (a context holds one per key).
    pub node: Rc<str>,
}

impl Ord for Stamp {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.wall, self.counter, &*self.node).cmp(&(other.wall, other.counter, &*other.node))
    }
}

impl PartialOrd for Stamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Stamp {
    /// The zero stamp: older than any real write.
    pub fn zero() -> Self {
        Stamp {
            wall: 0,
            counter: 0,
            node: "".into(),
        }
    }

    /// Whether a stamp seen from elsewhere is believable at wall time `now`:
    /// not more than [`MAX_SKEW_MS`] ahead. A stamp far in the future (a
    /// forged message, a broken clock) would otherwise win every merge and
    /// drag this tab's clock along.
    pub fn is_plausible(&self, now: u64) -> bool {
        self.wall <= now.saturating_add(MAX_SKEW_MS)
    }

    /// Text form `wall.counter.node`, as stored and sent between tabs.
    pub fn encode(&self) -> String {
        let mut s = String::new();
        self.write_to(&mut s);
        s
    }

    /// Appends [`Stamp::encode`]'s text to `out` (a save reuses one buffer
    /// for every key).
    pub fn write_to(&self, out: &mut String) {
        push_decimal(out, self.wall);
        out.push('.');
        push_decimal(out, self.counter as u64);
        out.push('.');
        out.push_str(&self.node);
    }

    /// Parses [`Stamp::encode`]'s output; `None` for anything else.
    pub fn decode(s: &str) -> Option<Stamp> {
        let mut parts = s.splitn(3, '.');
        let wall = parts.next()?.parse().ok()?;
        let counter = parts.next()?.parse().ok()?;
        let node = parts.next()?.into();
        Some(Stamp {
            wall,
            counter,
            node,
        })
    }
}

/// The clock of one writer.
#[derive(Clone, Debug)]
pub struct Clock {
    last: Stamp,
}

impl Clock {
    /// A clock for writer `node`.
    pub fn new(node: impl Into<Rc<str>>) -> Self {
        Clock {
            last: Stamp {
                wall: 0,
                counter: 0,
                node: node.into(),
            },
        }
    }

    /// A new stamp for a local write at wall time `now`, larger than every
    /// stamp this clock has issued or observed.
    pub fn tick(&mut self, now: u64) -> Stamp {
        if now > self.last.wall {
            self.last.wall = now;
            self.last.counter = 0;
        } else if self.last.counter == u32::MAX {
            // Carry into the wall time rather than saturate: a saturated
            // counter would repeat a stamp, and a tie can lose on tab id.
            self.last.wall = self.last.wall.saturating_add(1);
            self.last.counter = 0;
        } else {
            self.last.counter += 1;
        }
        self.last.clone()
    }

    /// Moves the clock past a stamp seen from another writer, so the next
    /// local write wins over it.
    pub fn observe(&mut self, seen: &Stamp) {
        if (seen.wall, seen.counter) > (self.last.wall, self.last.counter) {
            self.last.wall = seen.wall;
            self.last.counter = seen.counter;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_strictly_increasing_even_when_time_goes_back() {
        let mut c = Clock::new("a");
        let s1 = c.tick(100);
        let s2 = c.tick(100);
        let s3 = c.tick(50); // wall clock stepped back
        let s4 = c.tick(200);
        assert!(s1 < s2 && s2 < s3 && s3 < s4);
        assert_eq!(s4.counter, 0);
    }

    #[test]
    fn observing_a_later_stamp_moves_past_it() {
        let mut a = Clock::new("a");
        let mut b = Clock::new("b");
        let far = b.tick(10_000);
        a.observe(&far);
        let next = a.tick(5);
        assert!(next > far);
    }

    #[test]
    fn a_maxed_counter_carries_into_the_wall_time() {
        let mut c = Clock::new("a");
        let forged = Stamp {
            wall: 1_000,
            counter: u32::MAX,
            node: "~~~~".into(),
        };
        c.observe(&forged);
        let next = c.tick(10);
        assert!(next > forged);
        assert_eq!((next.wall, next.counter), (1_001, 0));
    }

    #[test]
    fn stamps_far_in_the_future_are_implausible() {
        let now = 1_700_000_000_000;
        let ok = Stamp {
            wall: now + MAX_SKEW_MS,
            counter: 0,
            node: "a".into(),
        };
        let forged = Stamp {
            wall: u64::MAX,
            counter: u32::MAX,
            node: "~".into(),
        };
        assert!(ok.is_plausible(now));
        assert!(!forged.is_plausible(now));
    }

    #[test]
    fn node_breaks_ties() {
        let x = Stamp {
            wall: 1,
            counter: 0,
            node: "a".into(),
        };
        let y = Stamp {
            wall: 1,
            counter: 0,
            node: "b".into(),
        };
        assert!(x < y);
    }

    #[test]
    fn encode_round_trips_and_rejects_garbage() {
        let s = Stamp {
            wall: 1_732_400_000_000,
            counter: 7,
            node: "t.1".into(),
        };
        assert_eq!(Stamp::decode(&s.encode()), Some(s));
        assert_eq!(Stamp::decode("x.1.a"), None);
        assert_eq!(Stamp::decode("1"), None);
    }
}
