//! Is the daemon's loop still coming round? [`Liveness`] is the loop's promise of when it will
//! be back; systemd's watchdog (`WatchdogSec=`) and `/healthz` hold it to that promise.
//!
//! The loop cannot ping while it is inside one file or one day's steps (the pipeline does not
//! call back from inside them), and a single large file or the daily run over a million cases
//! takes minutes (BENCHMARKS.md). So the loop does not ping systemd itself: it marks itself
//! *busy* at the top of every pass and before every file, and *waiting* (for at most the time
//! it sleeps) before it sleeps; a small thread sends `WATCHDOG=1` at a third of
//! `WATCHDOG_USEC` as long as the loop's promise holds. A loop stuck while waiting is caught
//! within seconds of its wake-up time, one stuck inside work after [`BUSY_LIMIT`]; either way
//! the pings stop and systemd restarts the daemon, which recovers the file in hand.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long one unit of work (a file, one day's steps and reconciliation) may run before the
/// loop counts as hung. The largest measured are about a minute (a million-row file, the daily
/// run over a million open cases) and a file of the 512 MiB limit about ten; half an hour is
/// well past any of them, yet a daemon hung on a dead NFS mount is still restarted the same
/// morning.
pub const BUSY_LIMIT: Duration = Duration::from_secs(30 * 60);

/// How much later than its planned wake-up the waiting loop may come back (a wake-up is
/// checked every 200 ms; a rescan of every inbox comes before the next mark).
pub const WAIT_SLACK: Duration = Duration::from_secs(30);

/// The loop's promise of when it will mark itself again, shared with the watchdog thread and
/// the HTTP server.
#[derive(Clone, Debug)]
pub struct Liveness {
    started: Instant,
    /// Milliseconds after `started` by which the loop will have marked itself again.
    deadline_ms: Arc<AtomicU64>,
}

impl Default for Liveness {
    fn default() -> Self {
        Liveness::new()
    }
}

impl Liveness {
    /// A loop that is starting up: busy (recovering the workspace).
    pub fn new() -> Liveness {
        let liveness = Liveness {
            started: Instant::now(),
            deadline_ms: Arc::new(AtomicU64::new(0)),
        };
        liveness.busy();
        liveness
    }

    fn promise(&self, within: Duration) {
        let deadline = self.started.elapsed() + within;
        self.deadline_ms.store(
            u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// The loop starts a unit of work (a pass, a file).
    pub fn busy(&self) {
        self.promise(BUSY_LIMIT);
    }

    /// The loop is about to sleep for at most `wait`.
    pub fn waiting(&self, wait: Duration) {
        self.promise(wait + WAIT_SLACK);
    }

    /// How long the loop is past its promise; `None` while it keeps it.
    pub fn overdue(&self) -> Option<Duration> {
        let now = self.started.elapsed();
        let deadline = Duration::from_millis(self.deadline_ms.load(Ordering::Relaxed));
        now.checked_sub(deadline).filter(|late| !late.is_zero())
    }
}

/// The watchdog interval systemd asks for (`WATCHDOG_USEC`, for this process when
/// `WATCHDOG_PID` names it), as sd_watchdog_enabled(3) reads it; `None`: no watchdog.
pub fn interval_from_env() -> Option<Duration> {
    if let Some(pid) = std::env::var_os("WATCHDOG_PID")
        && pid.to_str().and_then(|p| p.parse::<u32>().ok()) != Some(std::process::id())
    {
        return None;
    }
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec))
}

/// Starts the thread that sends `notify("WATCHDOG=1")` while `liveness` holds, when systemd
/// asked for a watchdog; does nothing otherwise.
pub fn start(liveness: Liveness, notify: fn(&str)) -> Option<std::thread::JoinHandle<()>> {
    let interval = interval_from_env()?;
    // sd_watchdog_enabled(3): ping at least every half of the interval; a third leaves room
    // for a slow scheduler.
    let every = (interval / 3).max(Duration::from_millis(100));
    tracing::info!(
        interval_s = interval.as_secs_f64(),
        "systemd watchdog on: kravflyt tells systemd it is alive while its loop keeps coming round"
    );
    std::thread::Builder::new()
        .name("kravflyt-watchdog".to_owned())
        .spawn(move || {
            let mut reported = false;
            loop {
                match liveness.overdue() {
                    None => {
                        notify("WATCHDOG=1");
                        reported = false;
                    }
                    Some(late) if !reported => {
                        tracing::error!(
                            late_s = late.as_secs(),
                            "the daemon's loop has not come back in time; no more watchdog pings, so systemd restarts kravflyt"
                        );
                        reported = true;
                    }
                    Some(_) => {}
                }
                std::thread::sleep(every);
            }
        })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiting_loop_is_overdue_after_its_wake_up_and_slack_and_a_busy_one_much_later() {
        let liveness = Liveness::new();
        assert_eq!(liveness.overdue(), None);
        // A promise already broken: waiting "minus" the slack is modelled by moving the start.
        let late = Liveness {
            started: Instant::now() - (WAIT_SLACK + Duration::from_secs(5)),
            deadline_ms: Arc::new(AtomicU64::new(0)),
        };
        assert!(late.overdue().unwrap() >= WAIT_SLACK);
        late.waiting(Duration::from_secs(1));
        assert_eq!(late.overdue(), None);
        late.busy();
        assert_eq!(late.overdue(), None);
    }
}
