//! Several daemons on one PostgreSQL database and one shared `var/` (SPEC §10, issue 15): every
//! file applied exactly once across the nodes, a killed node's files finished by the survivor
//! after its lease, the daily steps, reconciliation and report of a day run on one node only.
//!
//! Skipped (after saying so) without a test server: `KRAVFLYT_TEST_POSTGRES`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Workspace, wait_for};

const HEADER: &str = "creditor_id;invoice_no;customer_no;debtor_type;debtor_name;address;postcode;city;issue_date;due_date;currency;amount";

/// Files whose end state does not depend on the order they are applied in (two nodes take
/// them in no particular order): every invoice file opens cases of customers of its own (some
/// with a bad row), every payment file pays an unknown reference (kept unmatched whatever came
/// before). Their receipts are then the same bytes whoever applies them, in whatever order.
fn files(invoices: usize, payments: usize) -> Vec<(&'static str, String, String)> {
    let mut out = Vec::new();
    for f in 0..invoices {
        let mut text = format!("{HEADER}\n");
        for r in 0..2 {
            let amount = if (f + r) % 13 == 0 {
                "x".to_owned()
            } else {
                format!("{},{:02}", 100 + f, r * 7)
            };
            text.push_str(&format!(
                "923609016;{f}-{r};n{f};person;Kunde {f};Vei {f};9008;Tromsø;2026-09-01;2026-09-15;NOK;{amount}\n"
            ));
        }
        out.push(("nordlys", format!("f{f:04}.csv"), text));
    }
    for f in 0..payments {
        out.push((
            "bank",
            format!("p{f:04}.csv"),
            format!(
                "payment_id;kind;reference;amount;currency;payment_date;reverses\nU{f};bank;12345674;{},00;NOK;2026-10-05;\n",
                10 + f
            ),
        ));
    }
    out
}

fn drop_all(ws: &Workspace, files: &[(&'static str, String, String)]) {
    for (sender, name, text) in files {
        ws.drop_file(sender, name, text);
    }
}

/// A `[node]` section for node `name` with a short lease, so the test waits little for a
/// takeover.
fn node_section(name: &str) -> String {
    format!("\n[node]\nname = \"{name}\"\nlease = \"3s\"\n")
}

/// The workspace's configuration as node `b` sees it: the same file, another node name, in
/// the same folder (so the same `var/`).
fn second_config(ws: &Workspace) -> PathBuf {
    let text = std::fs::read_to_string(&ws.config).unwrap();
    let second = text.replace("name = \"a\"", "name = \"b\"");
    assert_ne!(second, text);
    let path = ws.dir.path().join("kravflyt-b.toml");
    std::fs::write(&path, second).unwrap();
    path
}

/// A daemon running as one node; killed (SIGKILL) when dropped, its log shown if the test
/// failed.
struct Node {
    child: Child,
    log: PathBuf,
}

impl Node {
    fn start(ws: &Workspace, config: &Path, name: &str) -> Node {
        let log = ws.dir.path().join(format!("node-{name}.log"));
        let child = std::process::Command::new(crate::support::BIN)
            .arg("--config")
            .arg(config)
            .arg("--data-dir")
            .arg(ws.dir.path())
            .arg("run")
            .env_remove("KRAVFLYT_CONFIG")
            .env("KRAVFLYT_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let lock = ws.var().join(format!("kravflyt.{name}.lock"));
        let pid = child.id().to_string();
        let mut node = Node { child, log };
        wait_for(|| {
            assert!(
                node.child.try_wait().unwrap().is_none(),
                "node {name} exited:\n{}",
                node.log()
            );
            std::fs::read_to_string(&lock).is_ok_and(|held| held.trim() == pid)
        });
        node
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn terminate(mut self) -> String {
        std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}:\n{}", self.log());
        self.log()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("{}:\n{}", self.log.display(), self.log());
        }
    }
}

/// Receipts by name (`sender/receipt-…`).
fn receipts(ws: &Workspace) -> BTreeMap<String, Vec<u8>> {
    ws.files_under("outbox")
        .into_iter()
        .filter(|(name, _)| name.contains("/receipt-"))
        .collect()
}

/// Every data row of the status files, and of the letters files.
fn report_rows(ws: &Workspace) -> (Vec<String>, Vec<String>) {
    let mut status = Vec::new();
    let mut letters = Vec::new();
    for (name, bytes) in ws.files_under("outbox") {
        let rows = String::from_utf8(bytes)
            .unwrap()
            .lines()
            .skip(1)
            .map(str::to_owned)
            .collect::<Vec<_>>();
        if name.contains("/status-") {
            status.extend(rows);
        } else if name.contains("/letters-") {
            letters.extend(rows);
        }
    }
    (status, letters)
}

/// Waits until nothing is in any inbox or `work/` folder and every file has its receipt.
fn wait_until_done(ws: &Workspace, receipts_expected: usize, within: Duration) {
    let start = Instant::now();
    loop {
        let done = ws.names_under("inbox").is_empty()
            && ws.names_under("work").is_empty()
            && receipts(ws)
                .keys()
                .filter(|n| n.ends_with(".csv.csv"))
                .count()
                == receipts_expected;
        if done {
            return;
        }
        assert!(
            start.elapsed() < within,
            "not finished: {:?} in work/, {} receipts",
            ws.names_under("work"),
            receipts(ws).len()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The reference: one node on the embedded store, the daemon as in the two-node run.
fn single_node_reference(files: &[(&'static str, String, String)]) -> Workspace {
    let ws = Workspace::new();
    drop_all(&ws, files);
    let mut node = Node {
        child: ws
            .command()
            .arg("run")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        log: ws.dir.path().join("none.log"),
    };
    wait_until_done(&ws, files.len(), Duration::from_secs(300));
    std::thread::sleep(Duration::from_millis(500));
    node.kill();
    ws
}

#[test]
fn two_nodes_apply_every_file_exactly_once_and_the_survivor_finishes_a_killed_nodes_files() {
    let Some(ws) = Workspace::on_postgres("two_nodes", |text| text + &node_section("a")) else {
        return;
    };
    let config_b = second_config(&ws);
    let files = files(240, 60);
    let reference = single_node_reference(&files);

    let mut a = Node::start(&ws, &ws.config, "a");
    let b = Node::start(&ws, &config_b, "b");
    drop_all(&ws, &files);
    // Kill `a` while it holds files: claimed, perhaps committed, not yet moved.
    let work_a = ws.var().join("work/a");
    wait_for(|| {
        std::fs::read_dir(&work_a).is_ok_and(|senders| {
            senders
                .flatten()
                .any(|s| std::fs::read_dir(s.path()).is_ok_and(|mut f| f.next().is_some()))
        })
    });
    a.kill();
    let killed_at = Instant::now();
    wait_until_done(&ws, files.len(), Duration::from_secs(300));
    eprintln!(
        "all files done {:.1} s after node a was killed",
        killed_at.elapsed().as_secs_f64()
    );

    // The database: one row per file, none twice.
    let mut db = ws.postgres.as_ref().unwrap().connect();
    let rows = db
        .query(
            "SELECT sender, original_name, COUNT(*) FROM inbound_files GROUP BY sender, original_name",
            &[],
        )
        .unwrap();
    assert_eq!(rows.len(), files.len());
    for row in &rows {
        let n: i64 = row.get(2);
        assert_eq!(
            n,
            1,
            "{}/{} applied {n} times",
            row.get::<_, String>(0),
            row.get::<_, String>(1)
        );
    }
    // Every file at its destination once; the killed node's folder empty.
    let placed: Vec<String> = ws
        .names_under("archive")
        .into_iter()
        .chain(ws.names_under("rejected"))
        .map(|n| n.rsplit('/').next().unwrap().to_owned())
        .collect();
    let unique: BTreeSet<&String> = placed.iter().collect();
    assert_eq!(placed.len(), files.len());
    assert_eq!(unique.len(), files.len());
    assert!(ws.names_under("work/a").is_empty());
    // Node b's log says it took over a's files; status shows both nodes.
    std::thread::sleep(Duration::from_millis(500));
    let status: serde_json::Value = serde_json::from_str(&ws.ok(&["status", "--json"])).unwrap();
    let nodes = status["nodes"].as_array().unwrap();
    let states: BTreeMap<&str, &str> = nodes
        .iter()
        .map(|n| (n["name"].as_str().unwrap(), n["state"].as_str().unwrap()))
        .collect();
    assert_eq!(states, BTreeMap::from([("a", "silent"), ("b", "alive")]));
    let a_row = nodes.iter().find(|n| n["name"] == "a").unwrap();
    assert_eq!(a_row["taken_over_by"], "b");
    let log_b = b.terminate();
    assert!(log_b.contains("took over the files of a node"), "{log_b}");

    // Every outbound file written once, with the bytes a single node writes: the receipts
    // byte for byte. Status and letters rows carry case numbers and event ids, which follow
    // the order files were applied in: there each row is compared by count and the ids are
    // checked to be written once each.
    assert_eq!(receipts(&ws), receipts(&reference));
    let (status_rows, letter_rows) = report_rows(&ws);
    let (expected_status, expected_letters) = report_rows(&reference);
    assert_eq!(status_rows.len(), expected_status.len());
    assert_eq!(letter_rows.len(), expected_letters.len());
    let ids: BTreeSet<&str> = status_rows
        .iter()
        .map(|r| r.split(';').next().unwrap())
        .collect();
    assert_eq!(ids.len(), status_rows.len(), "a status row written twice");
    let outbox: BTreeSet<String> = ws.names_under("outbox").into_iter().collect();
    assert!(
        outbox.iter().all(|n| !n.contains(".kravflyt-tmp")),
        "{outbox:?}"
    );
}

#[test]
fn the_daily_steps_reconciliation_and_report_of_a_day_run_on_one_node() {
    let edit = |text: String| {
        text.replacen("daily_run_at = \"06:00\"", "daily_run_at = \"00:00\"", 1)
            + &node_section("a")
    };
    let Some(ws) = Workspace::on_postgres("daily_once", edit) else {
        return;
    };
    let config_b = second_config(&ws);
    // Earlier business days with cases on them, so the days after have steps to take, a
    // reconciliation and a report to write.
    let today = chrono::Utc::now().date_naive();
    let day = |n: u64| (today - chrono::Days::new(n)).to_string();
    drop_all(&ws, &files(20, 5));
    ws.ok(&["process", "--as-of", &day(3)]);

    let a = Node::start(&ws, &ws.config, "a");
    let b = Node::start(&ws, &config_b, "b");
    // Both caught up: the day before yesterday and yesterday are reconciled, with their reports.
    let mut db = ws.postgres.as_ref().unwrap().connect();
    wait_for(|| {
        let reported: i64 = db
            .query_one(
                "SELECT COUNT(*) FROM business_days WHERE day < $1 AND report_written_at IS NOT NULL",
                &[&today.to_string()],
            )
            .unwrap()
            .get(0);
        reported >= 3
    });
    std::thread::sleep(Duration::from_secs(1));
    let logs = [a.terminate(), b.terminate()].join("\n");
    let count = |what: &str, day: &str| {
        logs.lines()
            .filter(|l| l.contains(what) && l.contains(day))
            .count()
    };
    for n in [2, 1] {
        assert_eq!(
            count("daily steps run", &day(n)),
            1,
            "steps of {}:\n{logs}",
            day(n)
        );
    }
    for n in [3, 2, 1] {
        assert_eq!(
            count("reconciliation files queued", &day(n)),
            1,
            "reconciliation of {}:\n{logs}",
            day(n)
        );
        assert_eq!(
            count("daily report written", &day(n)),
            1,
            "report of {}:\n{logs}",
            day(n)
        );
    }
    // One outbox row per file name, each written.
    let unwritten: i64 = db
        .query_one("SELECT COUNT(*) FROM outbox WHERE written_at IS NULL", &[])
        .unwrap()
        .get(0);
    assert_eq!(unwritten, 0);
}
