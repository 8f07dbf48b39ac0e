//! Intake: which inbox files are ready, and claiming them into `work/` (SPEC §4).
//!
//! A file is ready when it is a regular file (never a link, FIFO or folder), does not match the
//! sender's ignore patterns, has kept its size and mtime for the quiet period *measured from when
//! kravflyt first saw them* (copies may keep an old mtime), no process has it open for writing
//! (asked of the kernel, see [`writers`]), and it is complete by its format's own marker where it
//! has one. Sightings are kept in the database so the clocks survive restarts and one-shot
//! `process` runs.

pub mod writers;

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};

use crate::config::{Config, Sender};
use crate::ingest::detect::{Completeness, completeness};
use crate::store::{Sighting, Store, StoreError};
use crate::workspace::Workspace;
use writers::{Method, WriteEvents};

/// Bytes read from each end of a file to check its completeness marker.
const MARKER_PROBE_BYTES: u64 = 8192;

/// How soon a file a writer holds open is looked at again. Cheap (one `fcntl`), and the
/// daemon is woken sooner by the writer's close event where inotify works.
const WRITER_RECHECK: Duration = Duration::from_secs(1);

/// An inbox file ready to be claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyFile {
    pub sender: String,
    pub name: String,
    pub path: PathBuf,
    /// Set when the file stayed incomplete past `stale_after`: it is claimed to be rejected as
    /// `incomplete_file`, with this reason.
    pub stale_reason: Option<&'static str>,
    /// A sentence for the receipt about how the file was taken (a file held back because it
    /// may have been cut, see [`readiness`]).
    pub notice: Option<String>,
    /// When intake first saw the file: files are processed in the order they arrived.
    pub first_seen: DateTime<Utc>,
}

/// The result of one scan of every inbox.
#[derive(Debug, Default)]
pub struct Scan {
    pub ready: Vec<ReadyFile>,
    /// Files seen but not ready yet.
    pub waiting: usize,
    /// The earliest moment a waiting file may become ready (quiet period or stale deadline).
    pub next_change: Option<DateTime<Utc>>,
}

/// A claimed file, now in `work/<sender>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub sender: String,
    pub name: String,
    pub path: PathBuf,
    pub stale_reason: Option<&'static str>,
    pub notice: Option<String>,
}

/// Remembers what the log already said — entries that are unreadable (links, FIFOs, folders),
/// uploads held open past `stale_after`, each inbox's way of detecting writers — so it says
/// each once instead of once per scan.
#[derive(Debug, Default)]
pub struct Reported {
    entries: HashSet<PathBuf>,
    held_open: HashSet<PathBuf>,
    detection: BTreeMap<String, (Method, Option<&'static str>)>,
}

/// Scans every sender's inbox at `now`.
pub fn scan(
    store: &mut Store,
    config: &Config,
    workspace: &Workspace,
    now: DateTime<Utc>,
    reported: &mut Reported,
    events: Option<&WriteEvents>,
) -> Result<Scan, StoreError> {
    let mut result = Scan::default();
    let tx = store.write()?;
    let now_text = now.to_rfc3339();
    // With several nodes, each scans only the senders it serves (SPEC §10).
    for sender in config.senders.iter().filter(|s| config.node.serves(&s.id)) {
        // The weakest writer detection any file of this inbox got in this scan.
        let mut weakest: Option<(Method, Option<&'static str>)> = None;
        let inbox = workspace.inbox(&sender.id);
        let entries = match fs::read_dir(&inbox) {
            Ok(entries) => entries,
            Err(e) => {
                if reported.entries.insert(inbox.clone()) {
                    tracing::error!(inbox = %inbox.display(), error = %e, "cannot read the inbox");
                }
                continue;
            }
        };
        let mut present = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if sender.intake.ignores(&name) {
                continue;
            }
            // symlink_metadata: a link is judged as a link, never followed.
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            if !meta.file_type().is_file() {
                if reported.entries.insert(path.clone()) {
                    tracing::warn!(sender = %sender.id, file = %name, "not a regular file (link, folder or device); it is left where it is and never read");
                }
                continue;
            }
            // A hard link is a second name of a file that lives elsewhere too (perhaps outside
            // the sender's folder): as untrusted as a symbolic link, so never read either.
            #[cfg(unix)]
            if std::os::unix::fs::MetadataExt::nlink(&meta) > 1 {
                if reported.entries.insert(path.clone()) {
                    tracing::warn!(sender = %sender.id, file = %name, "a hard link (the file has other names too); it is left where it is and never read: upload a plain copy");
                }
                continue;
            }
            if entry.file_name().to_str().is_none() {
                if reported.entries.insert(path.clone()) {
                    tracing::warn!(sender = %sender.id, file = %name, "the file name is not valid UTF-8; rename it");
                }
                continue;
            }
            present.push(name.clone());
            let size = meta.len();
            let mtime_ns = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i64);
            let mut sighting = match tx.sighting(&sender.id, &name)? {
                Some(s) if s.size == size && s.mtime_ns == mtime_ns => s,
                seen_before => {
                    let changed = Sighting {
                        size,
                        mtime_ns,
                        first_seen: seen_before
                            .as_ref()
                            .map_or_else(|| now_text.clone(), |s| s.first_seen.clone()),
                        stable_since: now_text.clone(),
                        // A writer still at work keeps its place: "held open since" counts
                        // from when it was first found holding the file, not its last write.
                        writer_open_since: seen_before
                            .as_ref()
                            .and_then(|s| s.writer_open_since.clone()),
                    };
                    tx.put_sighting(&sender.id, &name, &changed)?;
                    changed
                }
            };
            let quiet_until = parse_time(&sighting.stable_since, now)
                + chrono_duration(sender.intake.quiet_period);
            if now < quiet_until {
                result.waiting += 1;
                result.next_change = earliest(result.next_change, quiet_until);
                continue;
            }
            // Quiet: now ask whether a writer still holds it (a stalled upload is quiet too).
            let verdict = writers::check(&path, sender.intake.writer_detection, events);
            let rank = (verdict.method, verdict.fallback_reason);
            weakest = Some(weakest.map_or(rank, |w| w.min(rank)));
            if verdict.events_pending {
                // Changed a moment ago and its inotify events are still on their way.
                result.waiting += 1;
                result.next_change = earliest(
                    result.next_change,
                    now + chrono::Duration::milliseconds(200),
                );
                continue;
            }
            if verdict.writer_open {
                let since = match &sighting.writer_open_since {
                    Some(since) => parse_time(since, now),
                    None => {
                        sighting.writer_open_since = Some(now_text.clone());
                        tx.put_sighting(&sender.id, &name, &sighting)?;
                        now
                    }
                };
                if now - since >= chrono_duration(sender.intake.stale_after)
                    && reported.held_open.insert(path.clone())
                {
                    tracing::warn!(sender = %sender.id, file = %name, open_since = %since.to_rfc3339(), "an upload has been held open for writing longer than stale_after; kravflyt keeps waiting for the writer to close it (if the uploading program hangs, end its session)");
                }
                result.waiting += 1;
                result.next_change =
                    earliest(result.next_change, now + chrono_duration(WRITER_RECHECK));
                continue;
            }
            if sighting.writer_open_since.is_some() {
                sighting.writer_open_since = None;
                tx.put_sighting(&sender.id, &name, &sighting)?;
                reported.held_open.remove(&path);
            }
            match readiness(sender, &path, &sighting, now, verdict) {
                Readiness::Ready {
                    stale_reason,
                    notice,
                } => result.ready.push(ReadyFile {
                    sender: sender.id.clone(),
                    name,
                    path,
                    stale_reason,
                    notice,
                    first_seen: parse_time(&sighting.first_seen, now),
                }),
                Readiness::WaitUntil(at) => {
                    result.waiting += 1;
                    result.next_change = earliest(result.next_change, at);
                }
            }
        }
        tx.forget_sightings_except(&sender.id, &present)?;
        if let Some((method, reason)) = weakest {
            note_detection(&tx, reported, &sender.id, method, reason, &now_text)?;
        }
    }
    tx.commit()?;
    // Arrival order, then name: exports named by date are applied in date order when they
    // arrive together (a credit note file after the invoices it credits).
    result
        .ready
        .sort_by(|a, b| (a.first_seen, &a.name).cmp(&(b.first_seen, &b.name)));
    Ok(result)
}

enum Readiness {
    Ready {
        stale_reason: Option<&'static str>,
        notice: Option<String>,
    },
    WaitUntil(DateTime<Utc>),
}

fn earliest(current: Option<DateTime<Utc>>, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    Some(current.map_or(at, |n| n.min(at)))
}

fn parse_time(text: &str, fallback: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).map_or(fallback, |t| t.with_timezone(&Utc))
}

/// Records (and logs, when it changed) how a sender's inbox detects writers.
fn note_detection(
    tx: &crate::store::Tx<'_>,
    reported: &mut Reported,
    sender: &str,
    method: Method,
    reason: Option<&'static str>,
    now: &str,
) -> Result<(), StoreError> {
    if reported.detection.get(sender) == Some(&(method, reason)) {
        return Ok(());
    }
    reported
        .detection
        .insert(sender.to_owned(), (method, reason));
    tx.put_writer_detection(sender, method.as_str(), reason, now)?;
    match method {
        Method::Lease => {
            tracing::info!(sender, "the inbox detects writers by kernel lease")
        }
        Method::Inotify => {
            tracing::info!(
                sender,
                reason = reason.unwrap_or(""),
                "the inbox detects writers by the daemon's inotify events only"
            )
        }
        Method::QuietPeriod => tracing::warn!(
            sender,
            reason = reason.unwrap_or(""),
            "the inbox runs without writer detection: files are taken after the quiet period alone, and a file without a final line break waits until stale_after (README: Receiving files over SFTP)"
        ),
    }
    Ok(())
}

/// Whether a quiet file no writer holds is ready: complete by its format's marker, or, where
/// nothing could tell whether a writer still had it, not visibly cut.
fn readiness(
    sender: &Sender,
    path: &Path,
    sighting: &Sighting,
    now: DateTime<Utc>,
    verdict: writers::Verdict,
) -> Readiness {
    let rules = &sender.intake;
    let first_seen = parse_time(&sighting.first_seen, now);
    let stale_at = first_seen + chrono_duration(rules.stale_after);
    let probe = probe_completeness(path);
    match probe.completeness {
        Completeness::Complete => Readiness::Ready {
            stale_reason: None,
            notice: None,
        },
        // Without writer detection a CSV cut mid-line looks finished to the clock; one that
        // ends without a line break waits until stale_after, which an upload that is merely
        // slow has long finished by, and its receipt says why it was late.
        Completeness::NoMarker
            if verdict.method == Method::QuietPeriod
                && sighting.size > 0
                && !probe.ends_with_line_break =>
        {
            if now < stale_at {
                Readiness::WaitUntil(stale_at)
            } else {
                Readiness::Ready {
                    stale_reason: None,
                    notice: Some(format!(
                        "the last line has no line break and this inbox cannot see whether an upload is still being written ({}), so the file was taken only {} after it was first seen; check that its last record is whole, and end files with a line break to have them taken after the quiet period",
                        verdict.fallback_reason.unwrap_or("no writer detection"),
                        humantime::format_duration(rules.stale_after)
                    )),
                }
            }
        }
        Completeness::NoMarker => Readiness::Ready {
            stale_reason: None,
            notice: None,
        },
        Completeness::Incomplete(reason) => {
            if now >= stale_at {
                Readiness::Ready {
                    stale_reason: Some(reason),
                    notice: None,
                }
            } else {
                Readiness::WaitUntil(stale_at)
            }
        }
    }
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// What the ends of a file say about whether it is whole.
struct Probe {
    completeness: Completeness,
    /// The last byte (before any DOS end-of-file mark) is a line break.
    ends_with_line_break: bool,
}

/// Reads the first and last bytes of a file and checks its format's end marker.
fn probe_completeness(path: &Path) -> Probe {
    let probe = || -> std::io::Result<(Vec<u8>, Vec<u8>)> {
        let mut file = fs::File::open(path)?;
        let len = file.metadata()?.len();
        let mut head = Vec::new();
        (&mut file)
            .take(MARKER_PROBE_BYTES)
            .read_to_end(&mut head)?;
        if len <= MARKER_PROBE_BYTES {
            return Ok((head.clone(), head));
        }
        file.seek(SeekFrom::Start(len - MARKER_PROBE_BYTES))?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail)?;
        Ok((head, tail))
    };
    match probe() {
        Ok((head, tail)) => {
            let end = tail.strip_suffix(b"\x1a").unwrap_or(&tail);
            Probe {
                completeness: completeness(&head, &tail),
                ends_with_line_break: matches!(end.last(), Some(b'\n' | b'\r')),
            }
        }
        // Unreadable now (permissions, vanished): treat as markerless; processing will say.
        Err(_) => Probe {
            completeness: Completeness::NoMarker,
            ends_with_line_break: true,
        },
    }
}

/// Claims a ready file by renaming it into `work/<sender>/` (`work/<node>/<sender>/` with several
/// nodes: the rename is the claim, so of two nodes that saw the same file ready, one gets it and
/// the other's rename finds nothing). `Ok(None)` when it cannot be
/// claimed now (gone, or a file of the same name still in work); it stays for a later scan.
///
/// The rename is not synced (issue 14: a folder `fsync` per file). A killed process loses
/// nothing by it; a power loss may undo the claim, which leaves the file in its inbox: taken
/// again if its transaction was lost too, and moved from there to its destination by
/// recovery if the commit survived (`Engine::recover` finds it by its SHA-256). The move that
/// follows the commit syncs its folder, which makes the claim durable on a journaling file
/// system as well.
pub fn claim(workspace: &Workspace, ready: &ReadyFile) -> std::io::Result<Option<Claimed>> {
    let work_dir = workspace.work(&ready.sender);
    fs::create_dir_all(&work_dir)?;
    let target = work_dir.join(&ready.name);
    if fs::symlink_metadata(&target).is_ok() {
        tracing::warn!(sender = %ready.sender, file = %ready.name, "a file of the same name is still in work/; claiming it later");
        return Ok(None);
    }
    crate::faults::check(&target)?;
    match fs::rename(&ready.path, &target) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    }
    Ok(Some(Claimed {
        sender: ready.sender.clone(),
        name: ready.name.clone(),
        path: target,
        stale_reason: ready.stale_reason,
        notice: ready.notice.clone(),
    }))
}

/// Files left in `work/` (by a crash), in the order the scan took them: by when they were
/// first seen (their sighting is kept until the next scan), then by name; a file without a
/// sighting (left by an earlier run) first. After a power loss that took back the last
/// commits, several files of a batch can be left; in this order they apply as they would
/// have.
pub fn leftovers(
    store: &mut Store,
    config: &Config,
    workspace: &Workspace,
) -> Result<Vec<Claimed>, StoreError> {
    let mut out = Vec::new();
    let tx = store.read()?;
    let now = now_utc();
    let mut first_seen = Vec::new();
    for sender in config.senders.iter().filter(|s| config.node.serves(&s.id)) {
        let Ok(entries) = fs::read_dir(workspace.work(&sender.id)) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .collect();
        names.sort();
        for name in names {
            first_seen.push(
                tx.sighting(&sender.id, &name)?
                    .map(|s| parse_time(&s.first_seen, now)),
            );
            out.push(Claimed {
                sender: sender.id.clone(),
                path: workspace.work(&sender.id).join(&name),
                name,
                stale_reason: None,
                notice: None,
            });
        }
    }
    drop(tx);
    let mut keyed: Vec<_> = first_seen.into_iter().zip(out).collect();
    // Stable: files without a sighting keep the order by sender and name.
    keyed.sort_by(|(a, x), (b, y)| match (a, b) {
        (Some(a), Some(b)) => (a, &x.name).cmp(&(b, &y.name)),
        _ => a.is_some().cmp(&b.is_some()),
    });
    Ok(keyed.into_iter().map(|(_, claimed)| claimed).collect())
}

/// The current time, as intake measures quiet periods and stale deadlines.
pub fn now_utc() -> DateTime<Utc> {
    DateTime::<Utc>::from(SystemTime::now())
}

/// Files per sender in its inbox (waiting or not ready), in `work/` and in `rejected/`.
pub fn folder_counts(config: &Config, workspace: &Workspace) -> Vec<(String, usize, usize, usize)> {
    let count = |dir: PathBuf| {
        fs::read_dir(dir).map_or(0, |entries| {
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .count()
        })
    };
    config
        .senders
        .iter()
        .map(|s| {
            (
                s.id.clone(),
                count(workspace.inbox(&s.id)),
                count(workspace.work(&s.id)),
                count(workspace.rejected(&s.id)),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// After a power loss took back the last commits of a batch, several claimed files can be
    /// left in `work/`; recovery takes them in the order the scan took them, across senders,
    /// so they apply as they would have (case numbers follow the order files are applied).
    #[test]
    fn leftovers_come_in_the_order_the_scan_took_them() {
        let dir = tempfile::tempdir().unwrap();
        let source = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config/kravflyt.toml"));
        let config =
            Config::from_toml(&fs::read_to_string(source).unwrap(), source, dir.path()).unwrap();
        let workspace = Workspace::new(&config.var_dir);
        let mut store = Store::open_in_memory().unwrap();
        // (sender, name, first seen): `bank` comes after `nordlys` in the configuration.
        let files = [
            ("nordlys", "b.csv", Some("2026-10-01T08:00:02+00:00")),
            ("bank", "z.csv", Some("2026-10-01T08:00:01.5+00:00")),
            ("nordlys", "a.csv", Some("2026-10-01T08:00:02+00:00")),
            ("bank", "y.csv", Some("2026-10-01T08:00:03+00:00")),
            ("fjellstua", "old.csv", None),
        ];
        let tx = store.write().unwrap();
        for (sender, name, first_seen) in files {
            fs::create_dir_all(workspace.work(sender)).unwrap();
            fs::write(workspace.work(sender).join(name), "x").unwrap();
            if let Some(first_seen) = first_seen {
                let sighting = Sighting {
                    size: 1,
                    mtime_ns: 0,
                    first_seen: first_seen.to_owned(),
                    stable_since: first_seen.to_owned(),
                    writer_open_since: None,
                };
                tx.put_sighting(sender, name, &sighting).unwrap();
            }
        }
        tx.commit().unwrap();
        let order: Vec<String> = leftovers(&mut store, &config, &workspace)
            .unwrap()
            .into_iter()
            .map(|c| format!("{}/{}", c.sender, c.name))
            .collect();
        assert_eq!(
            order,
            [
                "fjellstua/old.csv",
                "bank/z.csv",
                "nordlys/a.csv",
                "nordlys/b.csv",
                "bank/y.csv"
            ]
        );
    }
}
