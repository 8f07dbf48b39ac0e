//! `kravflyt backup` and `kravflyt verify` (issue 7): a consistent copy while the daemon
//! works, and a check that finds what is wrong.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{Workspace, repo};

fn invoices(first: usize, count: usize) -> String {
    let mut text = String::from(
        "creditor_id;invoice_no;customer_no;debtor_type;debtor_name;address;postcode;city;issue_date;due_date;currency;amount\n",
    );
    for no in first..first + count {
        text.push_str(&format!(
            "923609016;{no};{no};person;Kari Nordmann;Storgata 1;9008;Tromsø;2026-09-01;2026-09-15;NOK;{}00,00\n",
            no % 90 + 10
        ));
    }
    text
}

/// A workspace whose database is `db` (for opening a backup with the CLI).
fn workspace_with(db: &std::path::Path) -> Workspace {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.var()).unwrap();
    std::fs::copy(db, ws.var().join("kravflyt.db")).unwrap();
    ws
}

#[test]
fn a_backup_taken_while_the_daemon_works_is_whole_and_verifies() {
    let ws = Workspace::new();
    let mut daemon = ws
        .command()
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Files keep arriving while the backups are taken.
    let mut copies = Vec::new();
    for round in 0..6 {
        ws.drop_file(
            "nordlys",
            &format!("faktura-{round}.csv"),
            invoices(round * 200 + 1, 200),
        );
        std::thread::sleep(Duration::from_millis(150));
        if !ws.var().join("kravflyt.db").exists() {
            continue;
        }
        let copy = ws.dir.path().join(format!("backup-{round}.db"));
        let out = ws.run(&["backup", copy.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("integrity ok"));
        copies.push(copy);
    }
    let start = Instant::now();
    while !ws.names_under("inbox").is_empty() || !ws.names_under("work").is_empty() {
        assert!(start.elapsed() < Duration::from_secs(60), "daemon too slow");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::process::Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(daemon.wait().unwrap().code(), Some(0));
    assert!(copies.len() >= 4, "too few backups taken: {}", copies.len());

    for copy in &copies {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(copy).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{}: mode {mode:o}", copy.display());
        }
        // Each copy is a consistent snapshot: whole files only, each invoice once.
        let restored = workspace_with(copy);
        let out = restored.run(&["verify"]);
        assert!(
            out.status.success(),
            "{}: {}",
            copy.display(),
            String::from_utf8_lossy(&out.stdout)
        );
        let cases = restored.case_list();
        assert_eq!(
            cases.as_array().unwrap().len() % 200,
            0,
            "{}: a backup holds whole files only",
            copy.display()
        );
    }
    // And the last one after the daemon stopped holds everything.
    let last = ws.dir.path().join("backup-final.db");
    ws.ok(&["backup", last.to_str().unwrap()]);
    assert_eq!(
        workspace_with(&last).case_list().as_array().unwrap().len(),
        1200
    );
    // A backup never overwrites.
    let again = ws.run(&["backup", last.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
}

#[test]
fn verify_passes_on_a_sound_workspace_and_names_what_is_wrong() {
    let ws = Workspace::new();
    for sender in std::fs::read_dir(repo().join("samples/inbox"))
        .unwrap()
        .flatten()
    {
        for file in std::fs::read_dir(sender.path()).unwrap().flatten() {
            ws.drop_file(
                &sender.file_name().to_string_lossy(),
                &file.file_name().to_string_lossy(),
                std::fs::read(file.path()).unwrap(),
            );
        }
    }
    ws.process("2026-11-23");
    ws.process("2026-11-24");
    let out = ws.ok(&["verify"]);
    assert_eq!(out.matches("ok ").count(), 5, "{out}");

    // Tamper with the ledger behind kravflyt's back: one allocation off by one øre.
    {
        let db = rusqlite::Connection::open(ws.var().join("kravflyt.db")).unwrap();
        db.execute(
            "UPDATE allocations SET amount_minor = amount_minor + 1
             WHERE id = (SELECT MIN(id) FROM allocations WHERE component = 'principal')",
            [],
        )
        .unwrap();
    }
    let out = ws.run(&["verify"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("FAILED  allocations add up to their payments"),
        "{text}"
    );
    assert!(
        text.contains("FAILED  payments' postings agree with their allocations"),
        "{text}"
    );
    assert!(
        text.contains("FAILED  reconciled days rebuild byte for byte and tie out"),
        "{text}"
    );
    assert!(text.contains("ok      sqlite integrity_check"), "{text}");
}
