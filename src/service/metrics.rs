//! `/metrics`: the daemon's figures in the Prometheus text format (version 0.0.4), encoded by
//! `prometheus-client`, the Prometheus project's own Rust client, so names, escaping and the
//! `# HELP`/`# TYPE` lines follow the exposition format without an encoder of our own.
//!
//! Almost everything is read from the database at scrape time (through the same queries as
//! `kravflyt status`, see [`crate::service::status`]), not counted in memory: the totals of files and
//! records are sums over the inbound file table, so they survive restarts, agree with `status`
//! and the receipts, and count the files `process` took while the daemon was stopped. Only the
//! errors by cause are the running daemon's own, since nothing else records them; like any
//! Prometheus counter they start again from zero when the daemon restarts.
//!
//! Labels carry only configured names and closed sets (sender ids, file statuses, record
//! outcomes, case states, currencies, error causes): never a debtor, a reference, an amount's
//! owner or a file name, so no personal data reaches a metrics store.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::config::Config;
use crate::domain::{CaseState, FileStatus};
use crate::outbound::report::StatusReport;
use crate::store::{RecordCounts, Store, StoreError};
use crate::workspace::Workspace;

/// The `Content-Type` of the Prometheus text format.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The causes `kravflyt_errors_total` counts by: a closed set, so an error's text (which may
/// name a file) never becomes a label.
pub const ERROR_CAUSES: [&str; 7] = [
    "disk_full",
    "read_only",
    "permission",
    "database_locked",
    "database",
    "io",
    "other",
];

static ERRORS: [AtomicU64; ERROR_CAUSES.len()] = [const { AtomicU64::new(0) }; ERROR_CAUSES.len()];

/// Counts one failure of the daemon's loop (a pass, a file, the daily run) by its cause.
pub fn count_error(message: &str) {
    let cause = error_cause(message);
    if let Some(i) = ERROR_CAUSES.iter().position(|c| *c == cause) {
        ERRORS[i].fetch_add(1, Ordering::Relaxed);
    }
}

/// The cause of a failure, read from its message. The failures reach the loop as text (the
/// pipeline's errors already say what to do); the operating system's and SQLite's wording of
/// the common causes is stable, and anything else is `io` or `other`.
pub fn error_cause(message: &str) -> &'static str {
    let m = message.to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|n| m.contains(n));
    if any(&["os error 28", "disk is full", "no space left"]) {
        "disk_full"
    } else if any(&["os error 30", "read-only", "readonly"]) {
        "read_only"
    } else if any(&["os error 13", "os error 1)", "permission denied"]) {
        "permission"
    } else if any(&[
        "database is locked",
        "locked by another program",
        "database is busy",
    ]) {
        "database_locked"
    } else if m.contains("database") {
        "database"
    } else if m.contains("os error") {
        "io"
    } else {
        "other"
    }
}

/// Everything one scrape exports, read in one database snapshot.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub status: StatusReport,
    /// Per sender: its records by outcome.
    pub records: Vec<(String, RecordCounts)>,
    /// Per configured sender: how long the oldest file in its inbox has waited.
    pub oldest_waiting: Vec<(String, Option<Duration>)>,
    /// The write-ahead log beside the database.
    pub wal_bytes: Option<u64>,
}

/// Reads a snapshot: `store` is the HTTP thread's read-only connection.
pub fn snapshot(
    store: &mut Store,
    config: &Config,
    workspace: &Workspace,
) -> Result<Snapshot, StoreError> {
    let tx = store.read()?;
    let status = crate::service::status::gather(&tx, config, workspace, false)?;
    let records = tx.record_counts()?;
    let sightings = tx.first_sightings()?;
    drop(tx);
    let oldest_waiting = oldest_waiting(&sightings, config, workspace, Utc::now());
    let mut wal = workspace.database().into_os_string();
    wal.push("-wal");
    Ok(Snapshot {
        status,
        records,
        oldest_waiting,
        wal_bytes: std::fs::metadata(wal).ok().map(|m| m.len()),
    })
}

/// Per configured sender, the age of the oldest file waiting in its inbox (`None`: none
/// waits). A file waits from when intake first saw it (its sighting, kept in the database, as
/// the quiet period counts); a file intake has not seen yet waits from its inode change time,
/// which, unlike the modification time, an upload cannot set into the past. Names the sender's
/// `ignore` patterns match (uploads in progress) are not files kravflyt waits for.
pub fn oldest_waiting(
    sightings: &[(String, String, String)],
    config: &Config,
    workspace: &Workspace,
    now: DateTime<Utc>,
) -> Vec<(String, Option<Duration>)> {
    let first_seen: HashMap<(&str, &str), DateTime<Utc>> = sightings
        .iter()
        .filter_map(|(sender, name, at)| {
            let at = DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc);
            Some(((sender.as_str(), name.as_str()), at))
        })
        .collect();
    config
        .senders
        .iter()
        .map(|sender| {
            let Ok(entries) = std::fs::read_dir(workspace.inbox(&sender.id)) else {
                return (sender.id.clone(), None);
            };
            let oldest = entries
                .flatten()
                .filter_map(|entry| {
                    let name = entry.file_name().into_string().ok()?;
                    if sender.intake.ignores(&name) {
                        return None;
                    }
                    let meta = entry.metadata().ok()?;
                    if !meta.file_type().is_file() {
                        return None;
                    }
                    let since = match first_seen.get(&(sender.id.as_str(), name.as_str())) {
                        Some(at) => *at,
                        None => DateTime::<Utc>::from(crate::service::intake::writers::changed_at(
                            &meta,
                        )),
                    };
                    Some(since)
                })
                .min();
            let age = oldest.map(|since| (now - since).to_std().unwrap_or_default());
            (sender.id.clone(), age)
        })
        .collect()
}

/// A sample's value. Whole numbers only: money is integer minor units everywhere in
/// kravflyt, and ages are whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    Count(u64),
    Int(i64),
}

/// One metric family as it is exported: its samples sorted by their labels, so every scrape
/// lists them in the same order.
#[derive(Debug, Clone)]
struct Family {
    /// Without the `_total` a counter's samples get from the encoder.
    name: &'static str,
    help: &'static str,
    samples: BTreeMap<Vec<(&'static str, String)>, Value>,
}

impl Family {
    fn new(name: &'static str, help: &'static str) -> Family {
        Family {
            name,
            help,
            samples: BTreeMap::new(),
        }
    }

    fn single(name: &'static str, help: &'static str, value: Value) -> Family {
        let mut family = Family::new(name, help);
        family.samples.insert(Vec::new(), value);
        family
    }

    fn set(&mut self, labels: &[(&'static str, &str)], value: Value) {
        let labels = labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        self.samples.insert(labels, value);
    }
}

/// The families of one scrape, handed to `prometheus-client` as a collector of constant
/// metrics: values read at scrape time, as the Go client's `ConstMetric`s are.
#[derive(Debug)]
struct Exposition(Vec<Family>);

impl Collector for Exposition {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for family in &self.0 {
            let counter = family
                .samples
                .values()
                .all(|v| matches!(v, Value::Count(_)));
            let kind = if counter {
                MetricType::Counter
            } else {
                MetricType::Gauge
            };
            let mut metric = encoder.encode_descriptor(family.name, family.help, None, kind)?;
            for (labels, value) in &family.samples {
                let sample = metric.encode_family(labels)?;
                match *value {
                    Value::Count(n) => ConstCounter::new(n).encode(sample)?,
                    Value::Int(n) => ConstGauge::new(n).encode(sample)?,
                }
            }
        }
        Ok(())
    }
}

/// The start of a business day in the configured time zone, as a Unix time.
fn day_start(config: &Config, day: &str) -> Option<i64> {
    let date = NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    let midnight = date.and_hms_opt(0, 0, 0)?;
    Some(
        config
            .time_zone
            .from_local_datetime(&midnight)
            .earliest()?
            .timestamp(),
    )
}

/// The exposition of one snapshot. Every configured sender, file status, record outcome, case
/// state, currency and error cause is present from the start, at zero, so `rate()` and
/// `increase()` see a series' first change.
pub fn render(s: &Snapshot, config: &Config) -> String {
    let status = &s.status;
    let count = |n: i64| Value::Count(u64::try_from(n).unwrap_or(0));
    let mut families = Vec::new();

    let mut info = Family::new(
        "kravflyt_build_info",
        "The running kravflyt's version (always 1)",
    );
    info.set(&[("version", env!("CARGO_PKG_VERSION"))], Value::Int(1));
    families.push(info);

    let mut files = Family::new(
        "kravflyt_files",
        "Inbound files processed, by sender and receipt status (from the database: survives restarts)",
    );
    for sender in &config.senders {
        for st in FileStatus::ALL {
            files.set(&[("sender", &sender.id), ("status", st.as_str())], count(0));
        }
    }
    for (sender, st, n) in &status.files {
        files.set(&[("sender", sender), ("status", st)], count(*n));
    }
    families.push(files);

    let mut records = Family::new(
        "kravflyt_records",
        "Records of inbound files, by sender and outcome (accepted, unchanged, rejected, skipped)",
    );
    let mut by_sender: BTreeMap<&str, RecordCounts> = config
        .senders
        .iter()
        .map(|sender| (sender.id.as_str(), RecordCounts::default()))
        .collect();
    for (sender, counts) in &s.records {
        by_sender.insert(sender.as_str(), *counts);
    }
    for (sender, c) in by_sender {
        for (outcome, n) in [
            ("accepted", c.accepted),
            ("unchanged", c.unchanged),
            ("rejected", c.rejected),
            ("skipped", c.skipped),
        ] {
            records.set(&[("sender", sender), ("outcome", outcome)], count(n));
        }
    }
    families.push(records);

    let mut waiting = Family::new(
        "kravflyt_inbox_files",
        "Files in the sender's inbox, not yet taken (the `waiting` of `kravflyt status`)",
    );
    let mut in_work = Family::new(
        "kravflyt_work_files",
        "Files claimed into work/ and being processed",
    );
    for (sender, inbox, work, _) in &status.folders {
        waiting.set(&[("sender", sender)], Value::Int(*inbox as i64));
        in_work.set(&[("sender", sender)], Value::Int(*work as i64));
    }
    let mut oldest = Family::new(
        "kravflyt_inbox_oldest_file_age_seconds",
        "How long the oldest file in the sender's inbox has waited since kravflyt first saw it (0: none waits)",
    );
    for (sender, age) in &s.oldest_waiting {
        oldest.set(
            &[("sender", sender)],
            Value::Int(age.map_or(0, |a| i64::try_from(a.as_secs()).unwrap_or(i64::MAX))),
        );
    }
    // Issue 17: uploads a writer still holds open, and each inbox's way of telling (1 on the
    // method in use; an inbox no scan has looked into yet has none).
    let mut held_open = Family::new(
        "kravflyt_inbox_files_held_open",
        "Files in the sender's inbox that a process still holds open for writing (a stalled upload stays here)",
    );
    let mut detection = Family::new(
        "kravflyt_inbox_writer_detection",
        "How the sender's inbox tells a finished upload from one still being written: 1 on the method in use (lease, inotify or quiet_period)",
    );
    for (sender, ..) in &status.folders {
        let found = status.writer_detection.iter().find(|w| &w.sender == sender);
        held_open.set(
            &[("sender", sender)],
            Value::Int(found.map_or(0, |w| w.held_open as i64)),
        );
        if let Some(w) = found {
            detection.set(&[("sender", sender), ("method", &w.method)], Value::Int(1));
        }
    }
    families.extend([waiting, oldest, in_work, held_open, detection]);

    let mut unmatched = Family::new(
        "kravflyt_unmatched_payments",
        "Payments that match no case and wait for the agency desk, by currency",
    );
    let mut unmatched_amount = Family::new(
        "kravflyt_unmatched_payments_amount_minor",
        "The sum of the unmatched payments, in minor units of the currency (øre, öre, cent: 564500 is 5645.00)",
    );
    let currencies: BTreeSet<&str> = config
        .creditors
        .values()
        .flat_map(|c| std::iter::once(&c.currency).chain(&c.other_currencies))
        .map(String::as_str)
        .collect();
    for currency in currencies {
        unmatched.set(&[("currency", currency)], Value::Int(0));
        unmatched_amount.set(&[("currency", currency)], Value::Int(0));
    }
    for (currency, n, sum_minor) in crate::outbound::report::unmatched_totals(status) {
        unmatched.set(&[("currency", &currency)], Value::Int(n as i64));
        // Money stays in integer minor units (øre, öre, cent), as kravflyt keeps it: exact.
        unmatched_amount.set(&[("currency", &currency)], Value::Int(sum_minor));
    }
    families.extend([unmatched, unmatched_amount]);

    let mut cases = Family::new("kravflyt_cases", "Cases by state");
    for state in CaseState::ALL {
        cases.set(&[("state", state.as_str())], Value::Int(0));
    }
    for (state, n) in &status.cases {
        cases.set(&[("state", state)], Value::Int(*n));
    }
    families.push(cases);

    let last_run = status
        .last_run_at
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map_or(0, |t| t.timestamp());
    let day = |d: &Option<String>| d.as_deref().and_then(|d| day_start(config, d)).unwrap_or(0);
    families.extend([
        Family::single(
            "kravflyt_daily_run_last_timestamp_seconds",
            "When the last daily run (or `kravflyt process`) finished, as a Unix time (0: never)",
            Value::Int(last_run),
        ),
        Family::single(
            "kravflyt_daily_run_day_timestamp_seconds",
            "The start of the last business day whose daily steps ran, as a Unix time (0: none)",
            Value::Int(day(&status.last_steps_date)),
        ),
        Family::single(
            "kravflyt_daily_run_overdue",
            "1 when the daily run time has passed for a day whose steps have not run",
            Value::Int(i64::from(status.daily_run_overdue)),
        ),
        Family::single(
            "kravflyt_reconciled_day_timestamp_seconds",
            "The start of the last reconciled (closed) business day, as a Unix time (0: none)",
            Value::Int(day(&status.last_reconciled_day)),
        ),
    ]);

    let mut database = Family::new(
        "kravflyt_database_size_bytes",
        "Size of the SQLite database file and of its write-ahead log",
    );
    for (file, bytes) in [("database", status.database.bytes), ("wal", s.wal_bytes)] {
        database.set(
            &[("file", file)],
            Value::Int(bytes.map_or(0, |b| i64::try_from(b).unwrap_or(i64::MAX))),
        );
    }
    families.push(database);

    let mut errors = Family::new(
        "kravflyt_errors",
        "Failures of the daemon's loop since it started, by cause; each is retried with back-off",
    );
    for (i, cause) in ERROR_CAUSES.iter().enumerate() {
        errors.set(
            &[("cause", cause)],
            Value::Count(ERRORS[i].load(Ordering::Relaxed)),
        );
    }
    families.push(errors);

    let mut registry = Registry::default();
    registry.register_collector(Box::new(Exposition(families)));
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Config {
        let source =
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config/kravflyt.toml"));
        let text = std::fs::read_to_string(source).unwrap();
        Config::from_toml(&text, source, std::path::Path::new("/data")).unwrap()
    }

    #[test]
    fn the_exposition_is_sorted_complete_and_in_the_prometheus_text_format() {
        let config = shipped();
        let workspace = Workspace::new("/nonexistent/var");
        let mut status = crate::service::status::fresh(&config, &workspace);
        status.database.bytes = Some(4096);
        status.files = vec![
            ("nordlys".to_owned(), "accepted".to_owned(), 3),
            ("bank".to_owned(), "rejected".to_owned(), 1),
        ];
        status.cases = vec![("notice".to_owned(), 7)];
        status.last_steps_date = Some("2026-11-23".to_owned());
        let snapshot = Snapshot {
            status,
            records: vec![(
                "nordlys".to_owned(),
                RecordCounts {
                    accepted: 10,
                    unchanged: 0,
                    rejected: 2,
                    skipped: 0,
                },
            )],
            oldest_waiting: vec![("bank".to_owned(), Some(Duration::from_millis(1500)))],
            wal_bytes: None,
        };
        let text = render(&snapshot, &config);
        let lines: Vec<&str> = text.lines().collect();
        for expected in [
            "# TYPE kravflyt_files_total counter",
            r#"kravflyt_files_total{sender="bank",status="rejected"} 1"#,
            r#"kravflyt_files_total{sender="nordlys",status="accepted"} 3"#,
            r#"kravflyt_files_total{sender="desk",status="duplicate"} 0"#,
            r#"kravflyt_records_total{sender="nordlys",outcome="rejected"} 2"#,
            "# TYPE kravflyt_cases gauge",
            r#"kravflyt_cases{state="notice"} 7"#,
            r#"kravflyt_cases{state="closed"} 0"#,
            r#"kravflyt_inbox_oldest_file_age_seconds{sender="bank"} 1"#,
            r#"kravflyt_unmatched_payments{currency="SEK"} 0"#,
            r#"kravflyt_database_size_bytes{file="database"} 4096"#,
            r#"kravflyt_database_size_bytes{file="wal"} 0"#,
            // Midnight in Oslo (UTC+1 in November): 2026-11-22T23:00:00Z.
            "kravflyt_daily_run_day_timestamp_seconds 1795388400",
            "# TYPE kravflyt_errors_total counter",
            r#"kravflyt_errors_total{cause="disk_full"} 0"#,
        ] {
            assert!(lines.contains(&expected), "{expected} missing from\n{text}");
        }
        // Samples of a family in label order, so scrapes diff cleanly.
        let files: Vec<&str> = lines
            .iter()
            .filter(|l| l.starts_with("kravflyt_files_total{"))
            .copied()
            .collect();
        let mut sorted = files.clone();
        sorted.sort();
        assert_eq!(files, sorted);
        assert_eq!(files.len(), 6 * FileStatus::ALL.len());
        assert!(
            !text.contains("# EOF"),
            "OpenMetrics, not the Prometheus text format"
        );
    }

    #[test]
    fn error_causes_come_from_the_wording_of_the_operating_system_and_sqlite() {
        for (message, cause) in [
            (
                "nordlys/a.csv: cannot claim: No space left on device (os error 28)",
                "disk_full",
            ),
            (
                "the disk under the database is full; free space and retry (database or disk is full)",
                "disk_full",
            ),
            (
                "cannot write x: Read-only file system (os error 30)",
                "read_only",
            ),
            (
                "cannot move x: Permission denied (os error 13)",
                "permission",
            ),
            (
                "the database is locked by another program for longer than 10 s",
                "database_locked",
            ),
            ("database error: no such table: cases", "database"),
            ("cannot move x: Input/output error (os error 5)", "io"),
            ("something else", "other"),
        ] {
            assert_eq!(error_cause(message), cause, "{message}");
            assert!(ERROR_CAUSES.contains(&cause));
        }
    }
}
