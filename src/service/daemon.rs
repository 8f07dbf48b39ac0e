//! The long-running edges: the workspace lock, signal handling, `process` (one pass) and
//! `run` (the daemon loop).
//!
//! Filesystem events only wake the loop; the periodic rescan is the truth (network file
//! systems send no events, and inotify queues overflow).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;

use crate::config::Config;
use crate::service::pipeline::{Engine, FileOutcome, PipelineError};

/// Failures that stop `run` or `process`.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(
        "another kravflyt ({holder}) is already working on this workspace: it holds {path}; stop it first, or point --data-dir elsewhere"
    )]
    Locked { path: PathBuf, holder: String },
    #[error("cannot use the lock file {path}: {source}")]
    LockIo {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "node `{name}` is already running ({holder}, last heartbeat {silent_s} s ago, lease {lease_s} s): two daemons must not share a node name; give this one another [node] name, or stop the other"
    )]
    NodeAlive {
        name: String,
        holder: String,
        silent_s: i64,
        lease_s: i64,
    },
    #[error(
        "node `{0}` lost its lease: it was silent for longer than its lease and another node took over its files; restart it"
    )]
    LeaseLost(String),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error("cannot install the signal handlers: {0}")]
    Signals(std::io::Error),
    #[error(transparent)]
    Http(#[from] crate::service::http::HttpError),
    #[error("{} file(s) could not be processed and stay where they are:\n  {}", .0.len(), .0.join("\n  "))]
    Failures(Vec<String>),
}

/// An exclusive lock on the workspace, held for the life of `run` or `process`. The lock
/// file names the holder's process id; the operating system releases the lock when the
/// process dies, however it dies.
pub struct WorkspaceLock {
    _file: File,
}

impl WorkspaceLock {
    pub fn acquire(path: &Path) -> Result<WorkspaceLock, DaemonError> {
        let lock_io = |source| DaemonError::LockIo {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(lock_io)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(lock_io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = match holder.trim() {
                    "" => "a process".to_owned(),
                    pid => format!("process {pid}"),
                };
                return Err(DaemonError::Locked {
                    path: path.to_path_buf(),
                    holder,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(lock_io(e)),
        }
        file.set_len(0).map_err(lock_io)?;
        file.rewind().map_err(lock_io)?;
        write!(file, "{}", std::process::id()).map_err(lock_io)?;
        file.sync_all().map_err(lock_io)?;
        Ok(WorkspaceLock { _file: file })
    }
}

/// Set by SIGINT or SIGTERM; checked between files, so the file in hand is always finished.
#[derive(Clone)]
pub struct Shutdown(Arc<AtomicBool>);

impl Shutdown {
    pub fn install() -> Result<Shutdown, DaemonError> {
        let flag = Arc::new(AtomicBool::new(false));
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register(signal, Arc::clone(&flag)).map_err(DaemonError::Signals)?;
        }
        Ok(Shutdown(flag))
    }

    pub fn requested(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// What one `process` run did.
#[derive(Debug, Default)]
pub struct RunSummary {
    pub files: Vec<FileOutcome>,
    /// Files still waiting in inboxes (not quiet yet, or incomplete).
    pub waiting: usize,
    pub interrupted: bool,
}

/// `kravflyt process`: recover, take every ready file (waiting out the quiet period of files
/// seen for the first time), then write outbound files.
pub fn process_once(config: Config, as_of: NaiveDate) -> Result<RunSummary, DaemonError> {
    let workspace = config.workspace();
    std::fs::create_dir_all(workspace.root()).map_err(|source| DaemonError::LockIo {
        path: workspace.root().to_path_buf(),
        source,
    })?;
    let _lock = WorkspaceLock::acquire(&workspace.lock_file())?;
    let shutdown = Shutdown::install()?;
    let longest_quiet = config
        .senders
        .iter()
        .map(|s| s.intake.quiet_period)
        .max()
        .unwrap_or_default();
    let mut engine = Engine::open(config)?;
    engine.ensure_open_day(as_of)?;
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        let bar = indicatif::ProgressBar::new(0).with_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} files  {wide_msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        engine.progress = Some(bar);
    }
    let recovered = engine.recover(as_of)?;
    let mut failures = recovered.failures;
    let mut summary = RunSummary {
        files: recovered.outcomes,
        ..RunSummary::default()
    };
    // Files first seen now become ready after the quiet period; wait for them, but not for
    // files that keep changing or that wait for their stale deadline.
    let patience = chrono::Duration::from_std(longest_quiet + Duration::from_millis(500))
        .unwrap_or(chrono::Duration::MAX);
    let give_up_at = crate::service::intake::now_utc() + patience;
    loop {
        let stop = || shutdown.requested();
        let mut pass = engine.intake_pass(as_of, &stop)?;
        summary.files.append(&mut pass.outcomes);
        failures.append(&mut pass.failures);
        let scan = pass.scan;
        summary.waiting = scan.waiting;
        if shutdown.requested() {
            summary.interrupted = true;
            break;
        }
        match scan.next_change {
            Some(at) if at <= give_up_at => {
                let wait = (at - crate::service::intake::now_utc())
                    .to_std()
                    .unwrap_or_default();
                std::thread::sleep(
                    wait.min(Duration::from_secs(1))
                        .max(Duration::from_millis(50)),
                );
            }
            _ => break,
        }
    }
    if !summary.interrupted {
        if engine.steps_done(as_of)? {
            tracing::info!(%as_of, "the daily steps of this date already ran and no file came since; they are not run again");
        } else {
            engine.run_steps(as_of)?;
        }
        // Then the days before are over: their reconciliation.
        engine.reconcile_closed_days(as_of)?;
    }
    engine.report(as_of)?;
    if let Some(bar) = engine.progress.take() {
        bar.finish_and_clear();
    }
    if !failures.is_empty() {
        return Err(DaemonError::Failures(failures));
    }
    engine.record_run(as_of)?;
    Ok(summary)
}

/// `kravflyt run`: the daemon loop, until SIGINT or SIGTERM.
pub fn run(config: Config) -> Result<(), DaemonError> {
    let workspace = config.workspace();
    std::fs::create_dir_all(workspace.root()).map_err(|source| DaemonError::LockIo {
        path: workspace.root().to_path_buf(),
        source,
    })?;
    let _lock = WorkspaceLock::acquire(&workspace.lock_file())?;
    let shutdown = Shutdown::install()?;
    let scan_interval = config.scan_interval;
    let shared = config.shared_store();
    let lease = config.node.lease;
    let location = crate::store::StoreLocation::from_config(&config);
    let mut engine = Engine::open(config)?;
    let me = register_node(&mut engine)?;
    if shared {
        engine.node = Some(me.clone());
    }
    let heartbeat = Heartbeat::start(location, me.clone(), lease)?;
    let result = serve(
        &mut engine,
        &shutdown,
        scan_interval,
        shared.then_some(lease),
        &heartbeat,
    );
    heartbeat.stop();
    // A clean stop: the node holds nothing now (whatever it claimed was finished), so nobody
    // waits out its lease to take anything over.
    if !matches!(result, Err(DaemonError::LeaseLost(_))) {
        let stopped = engine.store.write().and_then(|tx| {
            tx.stop_node(&me)?;
            tx.commit()
        });
        if let Err(e) = stopped {
            tracing::warn!(error = %e, "cannot record that this node stopped; others see it silent once its lease runs out");
        }
    }
    result
}

/// Records this daemon as its node (SPEC §10), refusing when a live node of the same name
/// holds a lease: decided under the write lock, as a takeover is.
fn register_node(engine: &mut Engine) -> Result<crate::store::NodeIdentity, DaemonError> {
    let me = crate::store::NodeIdentity {
        name: engine.config.node.name.clone(),
        host: crate::config::host_name(),
        pid: i64::from(std::process::id()),
    };
    let shared = engine.config.shared_store();
    let lease_ms = engine.config.node.lease.as_millis() as i64;
    let tx = engine.store.write().map_err(PipelineError::from)?;
    if let Some(row) = tx.node(&me.name).map_err(PipelineError::from)?
        && row.state == "running"
        && row.status() == crate::store::NodeStatus::Alive
        // One node per embedded store (the workspace lock says so); and a process of this host
        // that is gone (killed, then restarted at once) holds nothing either: its files are
        // in this node's own folder, which this process recovers.
        && shared
        && (row.host != me.host || process_exists(row.pid))
    {
        return Err(DaemonError::NodeAlive {
            name: me.name.clone(),
            holder: format!("process {} on {}", row.pid, row.host),
            silent_s: row.silent_for_ms() / 1000,
            lease_s: row.lease_ms / 1000,
        });
    }
    tx.start_node(&me, lease_ms).map_err(PipelineError::from)?;
    tx.commit().map_err(PipelineError::from)?;
    Ok(me)
}

/// Whether a process with this id runs on this host (Linux: `/proc`; elsewhere assumed).
fn process_exists(pid: i64) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

/// The heartbeat thread: refreshes the node's row every third of its lease over a connection
/// of its own, so a long file transaction never makes the node look silent. `lost` is set when
/// the row no longer names this process (another node took its files over).
struct Heartbeat {
    stop: mpsc::Sender<()>,
    thread: Option<std::thread::JoinHandle<()>>,
    lost: Arc<AtomicBool>,
}

impl Heartbeat {
    fn start(
        location: crate::store::StoreLocation,
        me: crate::store::NodeIdentity,
        lease: Duration,
    ) -> Result<Heartbeat, DaemonError> {
        let mut store = crate::store::Store::open_at(&location).map_err(PipelineError::from)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let lost = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&lost);
        let every = lease / 3;
        let thread = std::thread::Builder::new()
            .name("heartbeat".to_owned())
            .spawn(move || {
                let mut failing = false;
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    match store.heartbeat(&me) {
                        Ok(true) => {
                            if failing {
                                tracing::info!("heartbeats reach the database again");
                            }
                            failing = false;
                        }
                        Ok(false) => {
                            tracing::error!(node = %me.name, "this node's row names another process or was taken over: its lease is lost");
                            flag.store(true, Ordering::Relaxed);
                            return;
                        }
                        Err(e) => {
                            if !failing {
                                tracing::warn!(error = %e, "cannot send the heartbeat; retrying");
                            }
                            failing = true;
                        }
                    }
                }
            })
            .map_err(DaemonError::Signals)?;
        Ok(Heartbeat {
            stop,
            thread: Some(thread),
            lost,
        })
    }

    fn lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    fn stop(mut self) {
        let _ = self.stop.send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The daemon loop proper, once the node is registered and beating. `lease`: set with several
/// nodes on one database, whose silent nodes this one looks for every pass.
fn serve(
    engine: &mut Engine,
    shutdown: &Shutdown,
    scan_interval: Duration,
    lease: Option<Duration>,
    heartbeat: &Heartbeat,
) -> Result<(), DaemonError> {
    // Monitoring: the loop's liveness feeds systemd's watchdog and /healthz; the HTTP
    // endpoints run in a thread of their own when `[http] listen` is set.
    let liveness = crate::service::watchdog::Liveness::new();
    let _watchdog = crate::service::watchdog::start(liveness.clone(), notify_systemd);
    let _http = crate::service::http::start(&engine.config, liveness.clone())?;
    let today = engine.business_date_now()?;
    engine.recover(today)?;

    let (wake_tx, wake_rx) = mpsc::channel::<()>();
    let write_events = crate::service::intake::writers::WriteEvents::default();
    let _watcher = watch_inboxes(engine, wake_tx, write_events.clone());
    engine.write_events = Some(write_events);
    tracing::info!(
        workspace = %engine.workspace.root().display(),
        senders = engine.config.senders.len(),
        "kravflyt is running; stop it with Ctrl-C or SIGTERM"
    );
    // Under systemd (Type=notify): ready once the workspace is recovered.
    notify_systemd("READY=1\nSTATUS=watching the inboxes");
    let mut backoff = Backoff::default();
    while !shutdown.requested() {
        liveness.busy();
        let business_date = match engine.business_date_now() {
            Ok(date) => date,
            Err(e) => {
                backoff.failed(vec![e.to_string()]);
                engine.config.today()
            }
        };
        // Called before each file: each file is a unit of work of its own for the watchdog.
        let stop = || {
            liveness.busy();
            shutdown.requested()
        };
        let mut failures: Vec<String> = Vec::new();
        if backoff.failing() {
            // After a failure, finish what it interrupted (moves, files left in work/, the
            // outbox) before taking new files.
            if let Err(e) = engine.recover(business_date) {
                failures.push(e.to_string());
            }
        }
        if heartbeat.lost() {
            return Err(DaemonError::LeaseLost(engine.config.node.name.clone()));
        }
        if lease.is_some() {
            // Several nodes: finish what a node that went silent had claimed (SPEC §10).
            if let Err(e) = engine.take_over_silent_nodes(business_date) {
                failures.push(e.to_string());
            }
        }
        if let Err(e) = engine.catch_up_steps(engine.config.last_due_run_day()) {
            failures.push(e.to_string());
        }
        let next_change = match engine.intake_pass(business_date, &stop) {
            Ok(pass) => {
                if pass.lease_lost {
                    return Err(DaemonError::LeaseLost(engine.config.node.name.clone()));
                }
                failures.extend(pass.failures);
                if let Err(e) = engine.report(business_date) {
                    failures.push(e.to_string());
                }
                pass.scan.next_change
            }
            Err(e) => {
                // Disk, permissions, a locked database: logged once per cause, retried with
                // back-off; the daemon keeps running.
                failures.push(e.to_string());
                None
            }
        };
        if failures.is_empty() {
            backoff.reset();
        } else {
            backoff.failed(failures);
        }
        let mut wait = backoff.delay().unwrap_or(scan_interval);
        if let Some(at) = next_change {
            let until = (at - crate::service::intake::now_utc())
                .to_std()
                .unwrap_or_default();
            wait = wait.min(until.max(Duration::from_millis(50)));
        }
        if let Some(lease) = lease {
            // A silent node's files are taken over within its lease and a third of ours.
            wait = wait.min(lease / 3);
        }
        liveness.waiting(wait);
        wait_for_wake(&wake_rx, wait, shutdown);
    }
    notify_systemd("STOPPING=1");
    tracing::info!("stopping: the file in hand was finished");
    Ok(())
}

/// Tells systemd about the daemon's state when it runs as a `Type=notify` service (the
/// `NOTIFY_SOCKET` protocol of sd_notify(3)); does nothing otherwise.
fn notify_systemd(state: &str) {
    #[cfg(unix)]
    {
        let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else {
            return;
        };
        let socket = socket.to_string_lossy().into_owned();
        let Ok(sender) = std::os::unix::net::UnixDatagram::unbound() else {
            return;
        };
        let sent = if let Some(name) = socket.strip_prefix('@') {
            // An abstract socket (Linux).
            #[cfg(target_os = "linux")]
            {
                use std::os::linux::net::SocketAddrExt;
                std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
                    .and_then(|addr| sender.send_to_addr(state.as_bytes(), &addr))
            }
            #[cfg(not(target_os = "linux"))]
            {
                let _ = name;
                return;
            }
        } else {
            sender.send_to(state.as_bytes(), &socket)
        };
        if let Err(e) = sent {
            tracing::warn!(error = %e, "cannot notify systemd");
        }
    }
}

/// Sleeps until `wait` has passed, a filesystem event arrives, or shutdown is asked for.
fn wait_for_wake(wake: &mpsc::Receiver<()>, wait: Duration, shutdown: &Shutdown) {
    let deadline = Instant::now() + wait;
    while !shutdown.requested() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        match wake.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(()) => {
                // Drain a burst of events into one wake-up.
                while wake.try_recv().is_ok() {}
                return;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                std::thread::sleep(left.min(Duration::from_millis(200)))
            }
        }
    }
}

/// Watches every inbox; events wake the loop and tell intake which files a writer still
/// has open (for inboxes where the kernel cannot say). `None` when watching is not possible
/// (the rescan still finds everything).
fn watch_inboxes(
    engine: &Engine,
    wake: mpsc::Sender<()>,
    write_events: crate::service::intake::writers::WriteEvents,
) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    use notify::event::{AccessKind, AccessMode, EventKind};
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else {
            return;
        };
        write_events.observe(&event);
        // Reading a file or folder is itself an event (inotify reports opens and closes):
        // waking for those would make every rescan trigger the next one. A writer closing a
        // file is the one access that matters: its upload may be finished.
        let relevant = match event.kind {
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
            EventKind::Access(_) => false,
            _ => true,
        };
        if relevant {
            let _ = wake.send(());
        }
    })
    .map_err(
        |e| tracing::warn!(error = %e, "file events unavailable; relying on the periodic rescan"),
    )
    .ok()?;
    for sender in engine
        .config
        .senders
        .iter()
        .filter(|s| engine.config.node.serves(&s.id))
    {
        let inbox = engine.workspace.inbox(&sender.id);
        if let Err(e) = watcher.watch(&inbox, notify::RecursiveMode::NonRecursive) {
            tracing::warn!(inbox = %inbox.display(), error = %e, "cannot watch the inbox; relying on the periodic rescan");
        }
    }
    Some(watcher)
}

/// Exponential back-off after infrastructure failures, logging each distinct cause once per
/// failing streak (a full disk retried every minute is one log line, not sixty an hour).
#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
    logged: std::collections::BTreeSet<String>,
}

impl Backoff {
    fn failed(&mut self, causes: Vec<String>) {
        self.failures += 1;
        for cause in causes {
            crate::service::metrics::count_error(&cause);
            if self.logged.insert(cause.clone()) {
                tracing::error!(error = %cause, "processing failed; retrying with back-off");
            }
        }
    }

    fn failing(&self) -> bool {
        self.failures > 0
    }

    fn reset(&mut self) {
        if self.failures > 0 {
            tracing::info!("processing works again");
        }
        self.failures = 0;
        self.logged.clear();
    }

    fn delay(&self) -> Option<Duration> {
        (self.failures > 0).then(|| Duration::from_secs(1 << self.failures.min(6)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kravflyt.lock");
        let _first = WorkspaceLock::acquire(&path).unwrap();
        let err = WorkspaceLock::acquire(&path).err().unwrap();
        let message = err.to_string();
        assert!(
            message.contains(&format!("process {}", std::process::id())),
            "{message}"
        );
    }

    #[test]
    fn backoff_grows_and_resets() {
        let mut b = Backoff::default();
        assert_eq!(b.delay(), None);
        b.failed(vec!["disk full".to_owned()]);
        b.failed(vec!["disk full".to_owned()]);
        assert_eq!(b.delay(), Some(Duration::from_secs(4)));
        b.reset();
        assert_eq!(b.delay(), None);
    }
}
