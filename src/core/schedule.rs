//! When to write: the autosave policy as a pure function of time and events.
//!
//! A change is written after `debounce` ms without further changes, and at
//! most `interval` ms after the first unsaved change (0: no such cap), so a
//! burst of any length costs one write and a never-ending stream of changes
//! still gets written. A failed write is retried with exponential backoff.
//! The platform flushes at once on `pagehide` regardless of this schedule.

/// Backoff after the first failed write, in ms.
const RETRY_BASE: u64 = 1_000;
/// Longest wait between retries, in ms.
const RETRY_MAX: u64 = 60_000;

/// Autosave state of one session.
#[derive(Clone, Debug)]
pub struct Schedule {
    debounce: u64,
    interval: u64,
    first_dirty: Option<u64>,
    last_change: u64,
    failures: u32,
    retry_at: u64,
}

impl Schedule {
    /// A schedule with the given quiet period and cap (0: no cap), in ms.
    pub fn new(debounce: u64, interval: u64) -> Self {
        Schedule {
            debounce,
            interval,
            first_dirty: None,
            last_change: 0,
            failures: 0,
            retry_at: 0,
        }
    }

    /// Whether there are changes not yet handed to a write.
    pub fn is_dirty(&self) -> bool {
        self.first_dirty.is_some()
    }

    /// Records a change at `now`.
    pub fn changed(&mut self, now: u64) {
        self.first_dirty.get_or_insert(now);
        self.last_change = now;
    }

    /// A write of everything changed so far starts: later changes need
    /// another write.
    pub fn write_started(&mut self) {
        self.first_dirty = None;
    }

    /// The write succeeded.
    pub fn write_succeeded(&mut self) {
        self.failures = 0;
    }

    /// The write failed at `now`: its changes are pending again and the next
    /// attempt waits for the backoff.
    pub fn write_failed(&mut self, now: u64) {
        self.first_dirty = Some(self.first_dirty.map_or(now, |t| t.min(now)));
        self.failures = self.failures.saturating_add(1);
        let backoff = RETRY_BASE.saturating_mul(1u64 << (self.failures - 1).min(16));
        self.retry_at = now + backoff.min(RETRY_MAX);
    }

    /// When the next write is due (ms), or `None` if nothing is pending.
    pub fn due_at(&self) -> Option<u64> {
        let first = self.first_dirty?;
        let mut due = self.last_change + self.debounce;
        if self.interval > 0 {
            due = due.min(first + self.interval);
        }
        if self.failures > 0 {
            due = due.max(self.retry_at);
        }
        Some(due)
    }

    /// Whether a write is due at `now`.
    pub fn is_due(&self, now: u64) -> bool {
        self.due_at().is_some_and(|t| now >= t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives a schedule through changes at the given times, writing
    /// whenever one is due; returns the times of the writes.
    fn simulate(s: &mut Schedule, changes: &[u64], until: u64) -> Vec<u64> {
        let mut writes = Vec::new();
        let mut next = changes.iter().peekable();
        for now in 0..=until {
            while next.peek().is_some_and(|&&t| t == now) {
                s.changed(now);
                next.next();
            }
            if s.is_due(now) {
                s.write_started();
                s.write_succeeded();
                writes.push(now);
            }
        }
        writes
    }

    #[test]
    fn a_burst_becomes_one_write_after_the_quiet_period() {
        let mut s = Schedule::new(300, 30_000);
        let changes: Vec<u64> = (0..1000).collect(); // one per ms for a second
        assert_eq!(simulate(&mut s, &changes, 5_000), [999 + 300]);
    }

    #[test]
    fn the_interval_caps_how_long_a_stream_waits() {
        let mut s = Schedule::new(300, 1_000);
        let changes: Vec<u64> = (0..3_000).step_by(100).collect();
        let writes = simulate(&mut s, &changes, 5_000);
        assert_eq!(writes, [1_000, 2_100, 3_200]);
    }

    #[test]
    fn interval_zero_means_no_cap() {
        let mut s = Schedule::new(300, 0);
        let changes: Vec<u64> = (0..3_000).step_by(100).collect();
        assert_eq!(simulate(&mut s, &changes, 5_000), [2_900 + 300]);
    }

    #[test]
    fn nothing_pending_means_nothing_due() {
        let s = Schedule::new(10, 10);
        assert_eq!(s.due_at(), None);
        assert!(!s.is_dirty());
    }

    #[test]
    fn changes_during_a_write_need_another_write() {
        let mut s = Schedule::new(100, 0);
        s.changed(0);
        s.write_started();
        s.changed(50);
        s.write_succeeded();
        assert_eq!(s.due_at(), Some(150));
    }

    #[test]
    fn failures_back_off_exponentially_up_to_a_cap() {
        let mut s = Schedule::new(10, 0);
        s.changed(0);
        s.write_started();
        s.write_failed(100);
        assert!(s.is_dirty());
        assert_eq!(s.due_at(), Some(1_100));
        s.write_started();
        s.write_failed(1_100);
        assert_eq!(s.due_at(), Some(3_100));
        for _ in 0..20 {
            s.write_started();
            s.write_failed(10_000);
        }
        assert_eq!(s.due_at(), Some(70_000));
        s.write_started();
        s.write_succeeded();
        s.changed(80_000);
        assert_eq!(s.due_at(), Some(80_010));
    }
}
