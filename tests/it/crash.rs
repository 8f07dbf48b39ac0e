//! Kill -9 at random points of `process` and start again: the end state must equal an
//! uninterrupted run's — no file lost, none applied twice, every receipt written once.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use crate::scenarios::render;
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

fn drop_batch(ws: &Workspace) {
    for (name, text) in batch() {
        ws.drop_file("nordlys", &name, text);
    }
}

#[test]
fn killing_process_at_random_points_ends_in_the_same_state_as_an_uninterrupted_run() {
    let reference = Workspace::new();
    drop_batch(&reference);
    reference.process("2026-10-01");
    let expected = render(&reference);

    let ws = Workspace::new();
    drop_batch(&ws);
    // Deterministic "random" kill points spread over a run's length.
    let mut kills = 0;
    for delay_ms in [30u64, 90, 160, 45, 250, 120, 400, 70] {
        let mut child = ws
            .command()
            .args(["process", "--as-of", "2026-10-01"])
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
    ws.process("2026-10-01");
    assert!(
        kills > 0,
        "no run was killed mid-way; the batch is too small for this machine"
    );
    assert_eq!(render(&ws), expected);
}
