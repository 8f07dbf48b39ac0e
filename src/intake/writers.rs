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

    pub fn parse(text: &str) -> Option<Method> {
        [Method::QuietPeriod, Method::Inotify, Method::Lease]
            .into_iter()
            .find(|m| m.as_str() == text)
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

/// What the daemon's inotify watcher saw being written, per path: `true` while writes were
/// seen and no close-after-write yet, `false` once the writer closed the file. Shared between
/// the watcher's thread and intake.
#[derive(Debug, Clone, Default)]
pub struct WriteEvents(Arc<Mutex<HashMap<PathBuf, bool>>>);

impl WriteEvents {
    /// Records one event from the watcher.
    pub fn observe(&self, event: &notify::Event) {
        use notify::EventKind;
        use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind};
        let writing = match event.kind {
            EventKind::Create(CreateKind::File | CreateKind::Any)
            | EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any) => Some(true),
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => Some(false),
            // A file renamed in or away, or removed: what was seen under this name no longer
            // describes the file that has it.
            EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_)) => None,
            _ => return,
        };
        let Ok(mut paths) = self.0.lock() else {
            return;
        };
        if paths.len() >= MAX_TRACKED_FILES {
            paths.clear();
        }
        for path in &event.paths {
            match writing {
                Some(state) => {
                    paths.insert(path.clone(), state);
                }
                None => {
                    paths.remove(path);
                }
            }
        }
    }

    /// `Some(true)` when a writer has the file open, `Some(false)` when the last writer closed
    /// it, `None` when the watcher saw nothing of it.
    pub fn writer_open(&self, path: &Path) -> Option<bool> {
        self.0.lock().ok()?.get(path).copied()
    }
}

/// Whether a writer has the inbox file at `path` open, by the strongest method available.
pub fn check(path: &Path, detection: WriterDetection, events: Option<&WriteEvents>) -> Verdict {
    if detection == WriterDetection::QuietPeriod {
        return Verdict {
            method: Method::QuietPeriod,
            writer_open: false,
            fallback_reason: Some("writer_detection = \"quiet_period\" in the configuration"),
        };
    }
    let lease = match File::open(path) {
        Ok(file) => probe_lease(&file),
        Err(_) => LeaseProbe::Unavailable("no kernel lease: the file could not be opened"),
    };
    let reason = match lease {
        LeaseProbe::NoWriter => {
            return Verdict {
                method: Method::Lease,
                writer_open: false,
                fallback_reason: None,
            };
        }
        LeaseProbe::WriterOpen => {
            return Verdict {
                method: Method::Lease,
                writer_open: true,
                fallback_reason: None,
            };
        }
        LeaseProbe::Unavailable(reason) => reason,
    };
    match events.and_then(|e| e.writer_open(path)) {
        Some(writer_open) => Verdict {
            method: Method::Inotify,
            writer_open,
            fallback_reason: Some(reason),
        },
        None => Verdict {
            method: Method::QuietPeriod,
            writer_open: false,
            fallback_reason: Some(reason),
        },
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
        let event = |kind| notify::Event::new(kind).add_path(path.clone());
        assert_eq!(events.writer_open(&path), None);
        events.observe(&event(EventKind::Modify(ModifyKind::Data(
            DataChange::Content,
        ))));
        assert_eq!(events.writer_open(&path), Some(true));
        events.observe(&event(EventKind::Access(AccessKind::Close(
            AccessMode::Write,
        ))));
        assert_eq!(events.writer_open(&path), Some(false));
        events.observe(&event(EventKind::Remove(notify::event::RemoveKind::File)));
        assert_eq!(events.writer_open(&path), None);
    }

    #[test]
    fn method_names_round_trip() {
        for m in [Method::QuietPeriod, Method::Inotify, Method::Lease] {
            assert_eq!(Method::parse(m.as_str()), Some(m));
        }
    }
}
