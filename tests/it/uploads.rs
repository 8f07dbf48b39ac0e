//! Uploads still being written (issue 17): a file is taken only once no process holds it open
//! for writing, the bytes applied are the bytes archived, and an inbox without writer
//! detection holds back a file that looks cut. The same over a real SFTP server is in `sftp.rs`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::support::{Daemon, Workspace, receipt_rows, wait_for};

const HEADER: &str = "creditor_id;invoice_no;customer_no;debtor_type;debtor_name;address;postcode;city;issue_date;due_date;currency;amount";

/// A CSV of `n` invoices, each line ended by a line break.
pub fn invoices_csv(n: usize) -> String {
    invoices_named("U", n)
}

/// A CSV of `n` invoices numbered `PREFIX-00001` on.
pub fn invoices_named(prefix: &str, n: usize) -> String {
    let mut text = format!("{HEADER}\n");
    for i in 1..=n {
        text.push_str(&format!(
            "923609016;{prefix}-{i:05};{};person;Kari Nordmann;Storgata 1;9008;Tromsø;2026-09-01;2026-09-15;NOK;{i},50\n",
            1000 + i % 7
        ));
    }
    text
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A separate process that opens `target` once, writes `content` up to `cut` (mid-line), then
/// stalls with the file still open until `go` exists, writes the rest and closes it — an SFTP
/// session that stalls, or an exporter that writes straight to the final name.
pub struct StalledWriter {
    child: Child,
    go: PathBuf,
    _parts: tempfile::TempDir,
}

impl StalledWriter {
    pub fn start(target: &Path, content: &[u8], cut: usize) -> StalledWriter {
        let parts = tempfile::tempdir().unwrap();
        let first = parts.path().join("first");
        let rest = parts.path().join("rest");
        std::fs::write(&first, &content[..cut]).unwrap();
        std::fs::write(&rest, &content[cut..]).unwrap();
        let go = parts.path().join("go");
        let child = Command::new("sh")
            .args([
                "-c",
                r#"exec 3>"$1"; cat "$2" >&3; while [ ! -e "$4" ]; do sleep 0.05; done; cat "$3" >&3; exec 3>&-"#,
                "stalled-writer",
            ])
            .arg(target)
            .arg(&first)
            .arg(&rest)
            .arg(&go)
            .spawn()
            .unwrap();
        let written = |path: &Path| std::fs::metadata(path).map_or(0, |m| m.len());
        wait_for(|| written(target) == cut as u64);
        StalledWriter {
            child,
            go,
            _parts: parts,
        }
    }

    /// Lets the writer finish, and waits until it has closed the file.
    pub fn finish(mut self) {
        std::fs::write(&self.go, b"").unwrap();
        assert!(self.child.wait().unwrap().success());
    }
}

impl Drop for StalledWriter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sender's entry of `status --json`'s `writer_detection` (`null` while no scan has looked
/// into its inbox).
pub fn writer_detection(ws: &Workspace, sender: &str) -> serde_json::Value {
    let status: serde_json::Value = serde_json::from_str(&ws.ok(&["status", "--json"])).unwrap();
    status["writer_detection"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["sender"] == sender)
        .cloned()
        .unwrap_or_default()
}

/// The archived file, the receipt's hash and the content uploaded are one and the same, and
/// every record was applied.
pub fn assert_applied_whole(ws: &Workspace, sender: &str, name: &str, content: &[u8], n: usize) {
    let archived = ws.files_under("archive");
    let bytes = &archived[&format!("{sender}/YYYY/MM/DD/{name}")];
    assert_eq!(
        bytes.as_slice(),
        content,
        "the archived bytes are the upload"
    );
    let rows = receipt_rows(&ws.outbox_file(sender, &format!("receipt-{name}.csv")));
    assert_eq!(
        rows[0]["sha256"],
        sha256_hex(bytes),
        "receipt hash = archive"
    );
    assert_eq!(rows[0]["status"], "accepted", "{rows:?}");
    assert_eq!(rows[0]["records"], n.to_string());
    assert_eq!(rows[0]["accepted"], n.to_string());
}

#[test]
fn an_upload_that_stalls_with_the_file_open_is_taken_whole_once_the_writer_closes_it() {
    let ws = Workspace::with_config(|text| {
        text.replacen("quiet_period = \"0s\"", "quiet_period = \"1s\"", 1)
    });
    let daemon = Daemon::start(&ws);
    let content = invoices_csv(200);
    let cut = content.len() / 2 + 7;
    let target = ws.var().join("inbox/nordlys/stalled.csv");
    let writer = StalledWriter::start(&target, content.as_bytes(), cut);

    // Stalled well past the quiet period, half a file on disk: not taken.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(ws.names_under("inbox"), ["nordlys/stalled.csv"]);
    assert!(ws.names_under("archive").is_empty());
    assert!(ws.names_under("outbox").is_empty());
    let nordlys = writer_detection(&ws, "nordlys");
    assert_eq!(nordlys["method"], "lease", "{nordlys}");
    assert_eq!(nordlys["held_open"], 1, "{nordlys}");
    assert!(
        ws.ok(&["status"])
            .contains("upload(s) held open for writing"),
        "status names the stalled upload"
    );

    writer.finish();
    let receipt = ws.var().join("outbox/nordlys/receipt-stalled.csv.csv");
    wait_for(|| receipt.exists());
    assert_eq!(daemon.terminate().code(), Some(0));
    assert_applied_whole(&ws, "nordlys", "stalled.csv", content.as_bytes(), 200);
    assert_eq!(writer_detection(&ws, "nordlys")["held_open"], 0);
}

#[test]
fn a_claimed_file_a_writer_still_holds_goes_back_to_the_inbox_untouched_and_is_applied_whole_later()
{
    let ws = Workspace::new();
    // As a killed run leaves it: claimed into work/, while the uploader still writes through
    // the handle it opened in the inbox (a rename moves the name, not the open file).
    let work = ws.var().join("work/nordlys");
    std::fs::create_dir_all(&work).unwrap();
    let content = invoices_csv(120);
    let writer = StalledWriter::start(&work.join("late.csv"), content.as_bytes(), 3001);

    let out = ws.run(&["process", "--as-of", "2026-10-01"]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("open for writing"), "the log says why: {log}");
    assert!(ws.names_under("work").is_empty());
    assert_eq!(ws.names_under("inbox"), ["nordlys/late.csv"]);
    assert!(ws.names_under("archive").is_empty());
    assert!(ws.names_under("outbox").is_empty(), "no receipt for it yet");
    assert_eq!(
        ws.case_list().as_array().unwrap().len(),
        0,
        "nothing applied"
    );

    writer.finish();
    ws.process("2026-10-01");
    assert_applied_whole(&ws, "nordlys", "late.csv", content.as_bytes(), 120);
}

#[test]
fn without_writer_detection_a_file_without_a_final_line_break_waits_until_stale_after_and_says_so()
{
    let ws = Workspace::with_config(|text| {
        text.replacen(
            "stale_after = \"1h\"",
            "stale_after = \"2s\"\nwriter_detection = \"quiet_period\"",
            1,
        )
    });
    let whole = invoices_named("A", 3);
    let unterminated = invoices_named("B", 3).trim_end().to_owned();
    ws.drop_file("nordlys", "ends-with-newline.csv", &whole);
    ws.drop_file("nordlys", "no-final-newline.csv", &unterminated);

    let out = ws.process("2026-10-01");
    assert!(out.contains("1 file(s) processed"), "{out}");
    assert_eq!(ws.names_under("inbox"), ["nordlys/no-final-newline.csv"]);
    let nordlys = writer_detection(&ws, "nordlys");
    assert_eq!(nordlys["method"], "quiet_period", "{nordlys}");
    assert!(
        nordlys["reason"]
            .as_str()
            .unwrap()
            .contains("writer_detection"),
        "{nordlys}"
    );
    assert!(
        ws.ok(&["status"])
            .contains("nordlys runs without writer detection"),
        "status warns"
    );

    // Past stale_after since it was first seen, it is taken, and its receipt says why late.
    std::thread::sleep(Duration::from_millis(2100));
    let out = ws.process("2026-10-01");
    assert!(out.contains("1 file(s) processed"), "{out}");
    let rows = receipt_rows(&ws.outbox_file("nordlys", "receipt-no-final-newline.csv.csv"));
    assert_eq!(rows[0]["status"], "accepted");
    assert_eq!(rows[0]["accepted"], "3");
    assert_eq!(rows[1]["record_type"], "notice");
    assert_eq!(rows[1]["code"], "no_final_line_break");
    assert!(rows[1]["message"].contains("waited") || rows[1]["message"].contains("taken only"));
    let first = receipt_rows(&ws.outbox_file("nordlys", "receipt-ends-with-newline.csv.csv"));
    assert_eq!(
        first.len(),
        1,
        "no notice for a file that ends its last line"
    );
}

#[test]
fn with_writer_detection_a_file_without_a_final_line_break_is_taken_at_once() {
    let ws = Workspace::new();
    ws.drop_file(
        "nordlys",
        "no-final-newline.csv",
        invoices_csv(2).trim_end(),
    );
    let out = ws.process("2026-10-01");
    assert!(out.contains("1 file(s) processed"), "{out}");
    let rows = receipt_rows(&ws.outbox_file("nordlys", "receipt-no-final-newline.csv.csv"));
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["accepted"], "2");
}
