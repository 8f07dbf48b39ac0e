//! Kill -9 at random points of `process` and of the daemon (`run`) and start again: the end
//! state must equal an uninterrupted run's — no file lost, none applied twice, every receipt,
//! event, letter and reconciliation line written once.
//!
//! CI kills a modest number of times; a longer soak sets `KRAVFLYT_CRASH_ROUNDS`, e.g.
//! `KRAVFLYT_CRASH_ROUNDS=200 cargo test --release --test it crash` (docs/reliability.md).

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::scenarios::{is_report_file, render_with};
use crate::support::Workspace;

const HEADER: &str = "creditor_id;invoice_no;customer_no;debtor_type;debtor_name;address;postcode;city;issue_date;due_date;currency;amount";

/// A batch of files: invoices for a few dozen debtors (so cases are joined), some bad rows,
/// some duplicates.
fn batch() -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for f in 0..120 {
        let mut text = format!("{HEADER}\n");
        for r in 0..3 {
            let customer = (f * 7 + r) % 40;
            let amount = if (f + r) % 17 == 0 {
                "x".to_owned()
            } else {
                format!("{},{:02}", 100 + f * 3 + r, (f + r) % 100)
            };
            text.push_str(&format!(
                "923609016;{f}-{r};{customer};person;Kunde {customer};Vei {customer};9008;Tromsø;2026-09-01;2026-09-15;NOK;{amount}\n"
            ));
        }
        files.insert(format!("f{f:03}.csv"), text);
    }
    // The same content under another name: a duplicate, whichever run gets to it.
    let first = files["f000.csv"].clone();
    files.insert("f120-again.csv".into(), first);
    files
}

/// Bank payments to the cases the invoices open (agency references of the first 40 cases),
/// partial and over-payments, an unknown reference, and a reversal.
fn payments() -> BTreeMap<String, String> {
    let agency_reference = |case: u32| {
        kravflyt::reference::generate(
            kravflyt::reference::Scheme::KidMod10,
            &format!("70{case:07}"),
        )
        .unwrap()
    };
    let mut files = BTreeMap::new();
    for f in 0..30u32 {
        let mut text =
            "payment_id;kind;reference;amount;currency;payment_date;reverses\n".to_owned();
        for r in 0..3u32 {
            let case = (f * 3 + r) % 40 + 1;
            let amount = 150 + (f * 37 + r * 11) % 900;
            text.push_str(&format!(
                "P{f}-{r};bank;{};{amount},00;NOK;2026-10-0{};\n",
                agency_reference(case),
                1 + r
            ));
        }
        if f % 10 == 9 {
            text.push_str(&format!(
                "R{f};bank;;-{},00;NOK;2026-10-05;P{}-0\n",
                150 + ((f - 1) * 37) % 900,
                f - 1
            ));
            text.push_str(&format!("U{f};bank;12345674;99,00;NOK;2026-10-05;\n"));
        }
        files.insert(format!("p{f:03}.csv"), text);
    }
    files
}

/// `default` kill delays in 5..`max_ms` ms, or `KRAVFLYT_CRASH_ROUNDS` of them: deterministic
/// "random" points spread over a run's length (a fixed xorshift seed).
fn kill_delays(default: usize, max_ms: u64, seed: u64) -> Vec<u64> {
    let rounds = std::env::var("KRAVFLYT_CRASH_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default);
    let mut state = seed;
    (0..rounds)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            5 + state % max_ms
        })
        .collect()
}

fn drop_batch(ws: &Workspace) {
    for (name, text) in batch() {
        ws.drop_file("nordlys", &name, text);
    }
    for (name, text) in payments() {
        ws.drop_file("bank", &name, text);
    }
}

/// The second day: more payments, and the first day's reconciliation is written.
fn drop_second_day(ws: &Workspace) {
    ws.drop_file(
        "bank",
        "innbetalinger-dag2.csv",
        "payment_id;kind;reference;amount;currency;payment_date;payer_name\n\
         Q1;bank;7000000013;100,00;NOK;2026-10-01;Kari Nordmann\n\
         Q2;bank;9999999999;55,00;NOK;2026-10-01;Ukjent\n",
    );
}

/// Runs `process --as-of DAY` on `ws` again and again, killing it with SIGKILL after each
/// delay; returns how many runs were killed before they finished.
fn kill_runs(ws: &Workspace, day: &str, delays_ms: &[u64]) -> usize {
    let mut kills = 0;
    for &delay_ms in delays_ms {
        let mut child = ws
            .command()
            .args(["process", "--as-of", day])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
    }
    kills
}

#[test]
fn killing_process_at_random_points_ends_in_the_same_state_as_an_uninterrupted_run() {
    kill_process_runs_and_compare(&Workspace::new);
}

/// The same with the ledger in PostgreSQL (SPEC §10): one transaction per file there too, and
/// the killed runs end byte for byte where an uninterrupted run on the embedded store ends.
#[test]
fn killing_process_at_random_points_on_postgresql_ends_where_an_uninterrupted_run_ends() {
    if crate::support::PgDatabase::create("crash_probe").is_none() {
        return;
    }
    kill_process_runs_and_compare(&|| {
        Workspace::on_postgres("crash", |text| text).expect("the server answered a moment ago")
    });
}

/// Kills `kravflyt process` at spread points over two days in workspaces from `new_workspace`
/// and compares the end with an uninterrupted run on the embedded store.
fn kill_process_runs_and_compare(new_workspace: &dyn Fn() -> Workspace) {
    let reference = Workspace::new();
    drop_batch(&reference);
    // How long an uninterrupted run takes on this machine and build: the kill points are
    // spread over it, so they land mid-run however fast the build (a release build takes the
    // whole batch in a fraction of the old fixed 400 ms window, and no kill landed).
    let started = Instant::now();
    reference.process("2026-10-01");
    let day1_ms = (started.elapsed().as_millis() as u64).max(20);
    drop_second_day(&reference);
    let started = Instant::now();
    reference.process("2026-10-02");
    let day2_ms = (started.elapsed().as_millis() as u64).max(20);
    let expected = render_with(&reference, false);
    let expected_reports = reported_rows(&reference);
    // The batch exercises what a crash could break: payments, reversals, unmatched money.
    assert!(
        expected.contains("\"kind\": \"payment_reversed\""),
        "no reversal applied"
    );
    assert_eq!(
        expected
            .matches("\"reason\": \"unknown_reference\"")
            .count(),
        4
    );

    assert!(
        expected.contains("reconciliation-20261001.csv"),
        "the second day writes the first day's reconciliation"
    );

    // Deterministic "random" kill points spread over a run's length. The reference run may
    // have been slowed by a busy machine: when no kill landed mid-way, the batch is taken
    // again on a fresh workspace with kill points in a window a quarter as long.
    let mut window_ms = day1_ms;
    let ws = loop {
        let ws = new_workspace();
        drop_batch(&ws);
        let kills = kill_runs(
            &ws,
            "2026-10-01",
            &kill_delays(8, window_ms, 0x9e37_79b9_7f4a_7c15),
        );
        if kills > 0 {
            break ws;
        }
        assert!(
            window_ms > 5,
            "no run was killed mid-way, even with every kill point within 10 ms of the start"
        );
        window_ms /= 4;
    };
    ws.process("2026-10-01");
    // The second day is short: its kills land on recovery, the steps, the reconciliation of
    // the first day and the outbound writes.
    drop_second_day(&ws);
    kill_runs(
        &ws,
        "2026-10-02",
        &kill_delays(6, day2_ms, 0x2545_f491_4f6c_dd1d),
    );
    ws.process("2026-10-02");
    // Receipts, archive, cases and the reconciliation files (one per day, whatever the
    // kills) are byte for byte those of the uninterrupted run.
    assert_eq!(render_with(&ws, false), expected);
    // Every event and letter reported exactly once, however the runs cut them into files.
    assert_eq!(reported_rows(&ws), expected_reports);
}

/// The data rows of every status and letters file, sorted.
fn reported_rows(ws: &Workspace) -> Vec<String> {
    let mut rows: Vec<String> = ws
        .files_under("outbox")
        .into_iter()
        .filter(|(name, _)| is_report_file(name))
        .flat_map(|(name, bytes)| {
            let folder = name.split('/').next().unwrap_or_default().to_owned();
            String::from_utf8(bytes)
                .unwrap()
                .lines()
                .skip(1)
                .map(|line| format!("{folder}: {line}"))
                .collect::<Vec<_>>()
        })
        .collect();
    rows.sort();
    rows
}

/// SPEC §7: an outbound row committed but not yet written is written by the next run, once.
/// A folder squats on the file's name, so writing it fails right after the commit (this
/// works as root too, unlike a read-only folder).
#[test]
fn a_reconciliation_committed_but_not_written_is_written_by_the_next_run_exactly_once() {
    let ws = Workspace::new();
    drop_batch(&ws);
    ws.process("2026-10-01");
    let outbox = ws.var().join("outbox/nordlys");
    let squatter = outbox.join("reconciliation-20261001.csv");
    std::fs::create_dir_all(squatter.join("in-the-way")).unwrap();

    drop_second_day(&ws);
    let failed = ws.run(&["process", "--as-of", "2026-10-02"]);
    assert!(
        !failed.status.success(),
        "writing into a file instead of a folder must fail"
    );
    // The reconciliation was committed with the day: the agency's file is there.
    assert!(
        ws.var()
            .join("outbox/_agency/reconciliation-20261001.csv")
            .exists()
    );

    std::fs::remove_dir_all(&squatter).unwrap();
    ws.process("2026-10-02");
    let names = ws.names_under("outbox/nordlys");
    let reconciliations: Vec<_> = names
        .iter()
        .filter(|n| n.contains("reconciliation-"))
        .collect();
    assert_eq!(
        reconciliations,
        ["reconciliation-20261001.csv"],
        "one file for the day, not two"
    );
    assert!(
        !names.iter().any(|n| n.ends_with(".kravflyt-tmp")),
        "no temporary file left: {names:?}"
    );
    // What was written after the failure is exactly what the day gives.
    let written = std::fs::read(outbox.join("reconciliation-20261001.csv")).unwrap();
    ws.ok(&["reconcile", "--date", "2026-10-01"]);
    assert_eq!(
        std::fs::read(outbox.join("reconciliation-20261001.csv")).unwrap(),
        written
    );
    // Every status row of the failed run was written once, in files numbered without gaps.
    let status: Vec<_> = names.iter().filter(|n| n.starts_with("status-")).collect();
    let numbers: Vec<u32> = status
        .iter()
        .map(|n| {
            n.trim_end_matches(".csv")
                .rsplit('-')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    let mut sorted = numbers.clone();
    sorted.sort();
    assert_eq!(sorted, (1..=numbers.len() as u32).collect::<Vec<_>>());
}

/// Starts the daemon on `ws`, waits until every inbox and `work/` are empty and the outbox
/// has nothing pending (the receipts of every file exist), then stops it with SIGTERM.
fn run_daemon_to_the_end(ws: &Workspace, expected_receipts: usize) {
    let mut daemon = ws
        .command()
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        let receipts = ws
            .names_under("outbox")
            .iter()
            .filter(|n| n.contains("/receipt-") && n.ends_with(".csv"))
            .count();
        if ws.names_under("inbox").is_empty()
            && ws.names_under("work").is_empty()
            && receipts == expected_receipts
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the daemon did not finish: {receipts} receipts"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Let the pass that wrote the last receipt also write its status files.
    std::thread::sleep(Duration::from_millis(300));
    std::process::Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(daemon.wait().unwrap().code(), Some(0));
}

#[test]
fn killing_the_daemon_at_random_points_ends_in_the_same_state_as_an_uninterrupted_run() {
    let files = batch().len() + payments().len();
    let reference = Workspace::new();
    drop_batch(&reference);
    run_daemon_to_the_end(&reference, files);
    let expected = render_with(&reference, false);
    let expected_reports = reported_rows(&reference);

    let ws = Workspace::new();
    drop_batch(&ws);
    let mut kills = 0;
    for delay_ms in kill_delays(8, 700, 0xdead_beef_cafe_f00d) {
        let mut child = ws
            .command()
            .arg("run")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
    }
    assert!(kills > 0, "no daemon was killed");
    run_daemon_to_the_end(&ws, files);
    assert_eq!(render_with(&ws, false), expected);
    assert_eq!(reported_rows(&ws), expected_reports);
}
