//! Is another process still writing an inbox file? A quiet period cannot tell a stalled upload
//! from a finished one; the operating system can (issue 17, README "Receiving files over SFTP").
//!
//! The sources, strongest first:
//!
//! 1. **A read lease** (`fcntl(F_SETLEASE, F_RDLCK)`, Linux): the kernel grants it only while no
//!    process has the file open for writing, so a refusal with `EAGAIN` means a writer holds it,
//!    however long it has been silent. kravflyt takes the lease and gives it back at once — a
//!    question, not a hold — so a writer opening the file meanwhile waits microseconds, not the
//!    kernel's lease-break time. Leases need the file's owner or `CAP_LEASE` (the shipped
//!    systemd unit grants it), and a file system that supports them (not NFS).
//! 2. **inotify events** seen by the daemon's watcher: writes to the path (`IN_MODIFY`) not yet
//!    followed by `IN_CLOSE_WRITE` mean a writer has it open. Only for files written while the
//!    daemon watched, and only for writers on this host.
//! 3. **Neither**: nothing is known, and intake relies on the quiet period alone, says so in the
//!    log and in `status`, and holds back files that look cut (see `intake::readiness`).

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::config::WriterDetection;

/// How intake knew whether a file was still being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Method {
    /// Nothing but the clock: the quiet period.
    QuietPeriod,
    /// The daemon's inotify events for the file.
    Inotify,
    /// A kernel read lease.
    Lease,
}

impl Method {
    /// The name written to the database, `status` and the logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::QuietPeriod => "quiet_period",
            Method::Inotify => "inotify",
            Method::Lease => "lease",
        }
    }
}

/// The answer for one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub method: Method,
    /// A writer has the file open (always `false` with [`Method::QuietPeriod`], which cannot
    /// know).
    pub writer_open: bool,
    /// Why a stronger method was not available, for the log and `status`.
    pub fallback_reason: Option<&'static str>,
    /// The file changed since the watcher started, but its events have not been seen yet:
    /// look again in a moment rather than judge it by the clock.
    pub events_pending: bool,
}

/// What a lease probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseProbe {
    /// The kernel granted the lease: no process has the file open for writing.
    NoWriter,
    /// The kernel refused it because a process has the file open for writing.
    WriterOpen,
    /// Leases cannot answer here, and why.
    Unavailable(&'static str),
}

/// Asks the kernel whether any process has `file` open for writing. `file` must be open
/// read-only (a read lease is refused on a writable descriptor, even kravflyt's own).
pub fn probe_lease(file: &File) -> LeaseProbe {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        ignore_lease_break_signal();
        let fd = file.as_raw_fd();
        // SAFETY: F_SETLEASE on a descriptor this function borrows; no memory is passed.
        let taken = unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_RDLCK) };
        if taken == 0 {
            // SAFETY: as above; giving back the lease just taken.
            unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_UNLCK) };
            return LeaseProbe::NoWriter;
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EAGAIN) | Some(libc::EBUSY) => LeaseProbe::WriterOpen,
            Some(libc::EACCES) | Some(libc::EPERM) => LeaseProbe::Unavailable(
                "no kernel lease: the files belong to another user and kravflyt lacks CAP_LEASE",
            ),
            Some(libc::EINVAL) | Some(libc::ENOLCK) => LeaseProbe::Unavailable(
                "no kernel lease: the inbox's file system does not support leases (NFS, some FUSE mounts) or leases are disabled (fs.leases-enable)",
            ),
            _ => LeaseProbe::Unavailable("no kernel lease: the kernel refused it"),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        LeaseProbe::Unavailable("no kernel lease: only Linux offers them")
    }
}

/// A broken lease is signalled with SIGIO, whose default action ends the process. kravflyt
/// gives every lease back at once and needs no notice, so the signal is ignored (it is not
/// used for anything else).
#[cfg(target_os = "linux")]
fn ignore_lease_break_signal() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: installs SIG_IGN, which runs no code in the handler.
        unsafe { libc::signal(libc::SIGIO, libc::SIG_IGN) };
    });
}

/// The most entries [`WriteEvents`] keeps; beyond it, it forgets everything (every file is
/// then judged by the weaker methods) rather than grow without end.
const MAX_TRACKED_FILES: usize = 100_000;

/// How long after a file's last change its events may still be on their way from the kernel
/// to the watcher's thread (they normally take microseconds). A file that changed this
/// recently and has no events yet waits; after it, a file without events (an overflowed event
/// queue) is judged by the quiet period.
const EVENT_GRACE: Duration = Duration::from_secs(2);

/// What the daemon's inotify watcher saw being written, per path: `true` while writes were
/// seen and no close-after-write yet, `false` once the writer closed the file (or it was
/// renamed into the inbox whole). Shared between the watcher's thread and intake.
#[derive(Debug, Clone)]
pub struct WriteEvents {
    paths: Arc<Mutex<HashMap<PathBuf, bool>>>,
    /// When the watcher started: files changed before it have no events to wait for.
    started: SystemTime,
}

impl Default for WriteEvents {
    fn default() -> Self {
        WriteEvents {
            paths: Arc::default(),
            started: SystemTime::now(),
        }
    }
}

/// What the watcher knows of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Written, and not closed since.
    Writing,
    /// Closed after its last write, or renamed in.
    Closed,
    /// Changed while the watcher ran, but no event of it has arrived yet.
    Pending,
    /// Nothing: it changed before the watcher started, or its events were lost.
    Nothing,
}

impl WriteEvents {
    /// Records one event from the watcher.
    pub fn observe(&self, event: &notify::Event) {
        use notify::EventKind;
        use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RenameMode};
        let Ok(mut paths) = self.paths.lock() else {
            return;
        };
        if paths.len() >= MAX_TRACKED_FILES {
            paths.clear();
        }
        let mut set = |path: &PathBuf, state: Option<bool>| match state {
            Some(writing) => {
                paths.insert(path.clone(), writing);
            }
            None => {
                paths.remove(path);
            }
        };
        match event.kind {
            EventKind::Create(CreateKind::File | CreateKind::Any)
            | EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any) => {
                event.paths.iter().for_each(|p| set(p, Some(true)))
            }
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => {
                event.paths.iter().for_each(|p| set(p, Some(false)))
            }
            // Renamed in: uploads through a temporary name are renamed once written. What was
            // seen under the old name no longer has that name.
            EventKind::Modify(ModifyKind::Name(RenameMode::To)) => {
                event.paths.iter().for_each(|p| set(p, Some(false)))
            }
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
                if let [from, to] = event.paths.as_slice() {
                    set(from, None);
                    set(to, Some(false));
                }
            }
            EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_)) => {
                event.paths.iter().for_each(|p| set(p, None))
            }
            _ => {}
        }
    }

    /// What the watcher saw of the file at `path`, whose inode last changed at `changed_at`
    /// (its ctime: every write and rename sets it, and no writer can set it back).
    pub fn seen(&self, path: &Path, changed_at: SystemTime) -> Seen {
        match self.paths.lock().ok().and_then(|p| p.get(path).copied()) {
            Some(true) => Seen::Writing,
            Some(false) => Seen::Closed,
            None if changed_at >= self.started && SystemTime::now() < changed_at + EVENT_GRACE => {
                Seen::Pending
            }
            None => Seen::Nothing,
        }
    }
}

/// When the file's inode last changed (ctime: every write and rename sets it, and no writer
/// can set it back), or its modification time where there is none.
pub fn changed_at(meta: &std::fs::Metadata) -> SystemTime {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let (secs, nanos) = (meta.ctime(), meta.ctime_nsec());
        if let (Ok(secs), Ok(nanos)) = (u64::try_from(secs), u32::try_from(nanos)) {
            return SystemTime::UNIX_EPOCH + Duration::new(secs, nanos);
        }
    }
    meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)
}

/// Whether a writer has the inbox file at `path` open, by the strongest method available.
pub fn check(path: &Path, detection: WriterDetection, events: Option<&WriteEvents>) -> Verdict {
    let verdict = |method, writer_open, fallback_reason| Verdict {
        method,
        writer_open,
        fallback_reason,
        events_pending: false,
    };
    if detection == WriterDetection::QuietPeriod {
        return verdict(
            Method::QuietPeriod,
            false,
            Some("writer_detection = \"quiet_period\" in the configuration"),
        );
    }
    let file = File::open(path);
    let lease = match &file {
        Ok(file) => probe_lease(file),
        Err(_) => LeaseProbe::Unavailable("no kernel lease: the file could not be opened"),
    };
    let reason = match lease {
        LeaseProbe::NoWriter => return verdict(Method::Lease, false, None),
        LeaseProbe::WriterOpen => return verdict(Method::Lease, true, None),
        LeaseProbe::Unavailable(reason) => reason,
    };
    let changed = file
        .and_then(|f| f.metadata())
        .map_or(SystemTime::UNIX_EPOCH, |m| changed_at(&m));
    match events.map(|e| e.seen(path, changed)) {
        Some(Seen::Writing) => verdict(Method::Inotify, true, Some(reason)),
        Some(Seen::Closed) => verdict(Method::Inotify, false, Some(reason)),
        Some(Seen::Pending) => Verdict {
            events_pending: true,
            ..verdict(Method::Inotify, false, Some(reason))
        },
        Some(Seen::Nothing) | None => verdict(Method::QuietPeriod, false, Some(reason)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[cfg(target_os = "linux")]
    #[test]
    fn a_lease_is_refused_while_a_writer_holds_the_file_and_granted_after() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("upload.csv");
        let mut writer = File::create(&path).unwrap();
        writer.write_all(b"half of it").unwrap();
        let reader = File::open(&path).unwrap();
        assert_eq!(probe_lease(&reader), LeaseProbe::WriterOpen);
        assert!(check(&path, WriterDetection::Auto, None).writer_open);
        drop(writer);
        assert_eq!(probe_lease(&reader), LeaseProbe::NoWriter);
        let verdict = check(&path, WriterDetection::Auto, None);
        assert_eq!(
            (verdict.method, verdict.writer_open),
            (Method::Lease, false)
        );
    }

    #[test]
    fn quiet_period_mode_never_asks_the_kernel() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("upload.csv");
        let _writer = File::create(&path).unwrap();
        let verdict = check(&path, WriterDetection::QuietPeriod, None);
        assert_eq!(verdict.method, Method::QuietPeriod);
        assert!(!verdict.writer_open);
    }

    #[test]
    fn inotify_events_track_a_writer_until_it_closes() {
        use notify::event::{AccessKind, AccessMode, DataChange, EventKind, ModifyKind};
        let events = WriteEvents::default();
        let path = PathBuf::from("/inbox/a.csv");
        let long_ago = SystemTime::UNIX_EPOCH;
        let event = |kind| notify::Event::new(kind).add_path(path.clone());
        assert_eq!(events.seen(&path, long_ago), Seen::Nothing);
        events.observe(&event(EventKind::Modify(ModifyKind::Data(
            DataChange::Content,
        ))));
        assert_eq!(events.seen(&path, long_ago), Seen::Writing);
        events.observe(&event(EventKind::Access(AccessKind::Close(
            AccessMode::Write,
        ))));
        assert_eq!(events.seen(&path, long_ago), Seen::Closed);
        events.observe(&event(EventKind::Remove(notify::event::RemoveKind::File)));
        assert_eq!(events.seen(&path, long_ago), Seen::Nothing);
    }

    #[test]
    fn a_file_renamed_in_is_closed_and_its_old_name_forgotten() {
        use notify::event::{DataChange, EventKind, ModifyKind, RenameMode};
        let events = WriteEvents::default();
        let part = PathBuf::from("/inbox/a.csv.part");
        let done = PathBuf::from("/inbox/a.csv");
        events.observe(
            &notify::Event::new(EventKind::Modify(ModifyKind::Data(DataChange::Content)))
                .add_path(part.clone()),
        );
        events.observe(
            &notify::Event::new(EventKind::Modify(ModifyKind::Name(RenameMode::Both)))
                .add_path(part.clone())
                .add_path(done.clone()),
        );
        assert_eq!(events.seen(&done, SystemTime::UNIX_EPOCH), Seen::Closed);
        assert_eq!(events.seen(&part, SystemTime::UNIX_EPOCH), Seen::Nothing);
    }

    #[test]
    fn a_file_changed_since_the_watcher_started_waits_briefly_for_its_events() {
        let events = WriteEvents::default();
        let path = PathBuf::from("/inbox/new.csv");
        assert_eq!(events.seen(&path, SystemTime::now()), Seen::Pending);
        let before_the_watcher = events.started - Duration::from_secs(1);
        assert_eq!(events.seen(&path, before_the_watcher), Seen::Nothing);
        let long_enough_ago = SystemTime::now() - EVENT_GRACE - Duration::from_millis(1);
        let events = WriteEvents {
            started: long_enough_ago - Duration::from_secs(1),
            ..events
        };
        assert_eq!(events.seen(&path, long_enough_ago), Seen::Nothing);
    }
}
