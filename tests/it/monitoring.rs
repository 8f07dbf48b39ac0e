//! Monitoring (issue 16): a fresh workspace answers the looking commands without creating a
//! database, and `kravflyt run` serves `/metrics`, `/healthz` and `/readyz` over real TCP,
//! survives malformed and oversized requests, and pings systemd's watchdog. Every wait polls
//! with a deadline; nothing asserts on speed.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::{Workspace, wait_for};

const HEADER: &str = "creditor_id;invoice_no;customer_no;debtor_type;debtor_name;address;postcode;city;issue_date;due_date;currency;amount";

fn invoices(rows: &[(&str, &str)]) -> String {
    let mut out = format!("{HEADER}\n");
    for (no, amount) in rows {
        out.push_str(&format!(
            "923609016;{no};7;person;Kari Nordmann;Storgata 1;9008;Tromsø;2026-09-01;2026-09-15;NOK;{amount}\n"
        ));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// A fresh workspace.

#[test]
fn a_fresh_workspace_answers_status_case_list_and_report_without_creating_a_database() {
    let ws = Workspace::new();
    // Something already waits: an inbox folder a sender's SFTP account filled before the
    // first run.
    ws.drop_file("nordlys", "early.csv", invoices(&[("1", "100,00")]));
    let database = ws.var().join("kravflyt.db");

    let text = ws.ok(&["status"]);
    assert!(text.contains("nothing has run yet"), "{text}");
    let nordlys = text
        .lines()
        .find(|l| l.trim_start().starts_with("nordlys"))
        .unwrap_or_else(|| panic!("no nordlys line:\n{text}"));
    assert_eq!(
        nordlys.split_whitespace().collect::<Vec<_>>(),
        ["nordlys", "1", "0", "0"],
        "{text}"
    );
    for sender in ["fjellstua", "kvarnby", "revontuli", "bank", "desk"] {
        assert!(text.contains(sender), "{sender} missing:\n{text}");
    }

    let json: Value = serde_json::from_str(&ws.ok(&["status", "--json"])).unwrap();
    assert_eq!(json["nothing_has_run"], true);
    assert_eq!(json["database"]["exists"], false);
    assert_eq!(json["last_run"]["at"], Value::Null);
    assert_eq!(json["daily_run"]["overdue"], false);
    assert_eq!(json["inboxes"].as_array().unwrap().len(), 6);
    assert_eq!(json["inboxes"][0]["sender"], "nordlys");
    assert_eq!(json["inboxes"][0]["waiting"], 1);
    assert_eq!(json["files"], serde_json::json!([]));

    assert_eq!(ws.ok(&["case", "list", "--json"]).trim(), "[]");
    let list = ws.ok(&["case", "list"]);
    assert!(
        list.contains("0 case(s)") && list.contains("nothing has run yet"),
        "{list}"
    );

    let report = ws.ok(&["report", "--date", "2026-11-23"]);
    assert!(
        report.contains("no business day yet") && report.contains("nothing has run yet"),
        "{report}"
    );

    assert!(
        !database.exists(),
        "a looking command created {}",
        database.display()
    );

    // Once something ran, the same commands say so.
    ws.process("2026-09-20");
    let json: Value = serde_json::from_str(&ws.ok(&["status", "--json"])).unwrap();
    assert_eq!(json["nothing_has_run"], false);
    assert_eq!(json["database"]["exists"], true);
    assert!(json["database"]["bytes"].as_u64().unwrap() > 0);
}

#[test]
fn config_check_shows_the_http_settings_and_rejects_bad_ones_with_their_line() {
    let ws = Workspace::new();
    assert!(
        ws.ok(&["config", "check"]).contains("http: off"),
        "the shipped configuration serves no HTTP"
    );
    let ws = Workspace::with_config(|text| {
        format!("{text}\n[http]\nlisten = \"127.0.0.1:9187\"\nready_max_wait = \"3h\"\n")
    });
    let out = ws.ok(&["config", "check"]);
    assert!(
        out.contains("http://127.0.0.1:9187") && out.contains("3h"),
        "{out}"
    );

    let ws = Workspace::with_config(|text| {
        format!("{text}\n[http]\nlisten = \"localhost\"\nready_max_wait = \"30m\"\n")
    });
    let out = ws.run(&["config", "check"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("listen: `localhost`"), "{stdout}");
    assert!(
        stdout.contains("ready_max_wait must be longer than stale_after"),
        "{stdout}"
    );
    assert!(stdout.contains("kravflyt.toml:"), "{stdout}");
}

// ---------------------------------------------------------------------------------------------
// The daemon's endpoints.

/// A free port on the loopback interface (the system picks it; the daemon binds it next).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `kravflyt run` with `[http] listen` on a free port; killed when dropped.
struct Daemon {
    child: Child,
    addr: SocketAddr,
    _log: tempfile::NamedTempFile,
}

impl Daemon {
    fn start(ws: &Workspace, addr: SocketAddr, env: &[(&str, &str)]) -> Daemon {
        // A file, not a pipe: nobody reads the log while the daemon runs.
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut command = ws.command();
        command
            .arg("run")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log.reopen().unwrap()));
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().unwrap();
        let daemon = Daemon {
            child,
            addr,
            _log: log,
        };
        // Wait for /healthz to answer.
        wait_for(|| {
            daemon
                .get("/healthz")
                .is_ok_and(|(status, _)| status == 200)
        });
        daemon
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// GET over real TCP with an HTTP client: status and body, whatever the status.
    fn get(&self, path: &str) -> Result<(u16, String), ureq::Error> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let mut response = agent.get(&self.url(path)).call()?;
        let status = response.status().as_u16();
        Ok((status, response.body_mut().read_to_string()?))
    }

    fn json(&self, path: &str) -> (u16, Value) {
        let (status, body) = self.get(path).unwrap();
        (
            status,
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}")),
        )
    }

    fn metrics(&self) -> Metrics {
        let (status, body) = self.get("/metrics").unwrap();
        assert_eq!(status, 200, "{body}");
        Metrics::parse(&body)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The samples of one scrape: `name{labels}` → value, labels as written.
struct Metrics {
    text: String,
    samples: BTreeMap<String, f64>,
}

impl Metrics {
    fn parse(text: &str) -> Metrics {
        let mut samples = BTreeMap::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("not a sample: {line}"));
            samples.insert(series.to_owned(), value.parse().unwrap());
        }
        Metrics {
            text: text.to_owned(),
            samples,
        }
    }

    fn value(&self, series: &str) -> f64 {
        *self
            .samples
            .get(series)
            .unwrap_or_else(|| panic!("no {series} in\n{}", self.text))
    }
}

fn http_workspace(extra: &str) -> (Workspace, SocketAddr) {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let ws = Workspace::with_config(|text| format!("{text}\n[http]\nlisten = \"{addr}\"\n{extra}"));
    (ws, addr)
}

#[test]
fn metrics_move_when_a_file_is_processed_and_carry_no_personal_data() {
    let (ws, addr) = http_workspace("");
    let daemon = Daemon::start(&ws, addr, &[]);

    let before = daemon.metrics();
    assert!(
        before.text.contains("# TYPE kravflyt_files_total counter"),
        "{}",
        before.text
    );
    let accepted = r#"kravflyt_files_total{sender="nordlys",status="accepted"}"#;
    assert_eq!(before.value(accepted), 0.0);
    assert_eq!(before.value(r#"kravflyt_cases{state="registered"}"#), 0.0);

    ws.drop_file(
        "nordlys",
        "f.csv",
        invoices(&[("104511", "1 499,00"), ("104512", "250,00")]),
    );
    // Wait for kravflyt_files_total to move.
    wait_for(|| daemon.metrics().value(accepted) == 1.0);
    let after = daemon.metrics();
    assert_eq!(
        after.value(r#"kravflyt_records_total{sender="nordlys",outcome="accepted"}"#),
        2.0
    );
    assert_eq!(
        after.value(r#"kravflyt_inbox_files{sender="nordlys"}"#),
        0.0
    );
    assert!(after.value(r#"kravflyt_database_size_bytes{file="database"}"#) > 0.0);
    assert!(after.value("kravflyt_daily_run_last_timestamp_seconds") > 0.0);
    let cases: f64 = after
        .samples
        .iter()
        .filter(|(series, _)| series.starts_with("kravflyt_cases{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(cases, 1.0, "{}", after.text);
    for cause in ["disk_full", "database", "other"] {
        assert_eq!(
            after.value(&format!("kravflyt_errors_total{{cause=\"{cause}\"}}")),
            0.0
        );
    }

    // No personal data, and only the closed set of label names.
    for secret in ["Kari", "Nordmann", "Storgata", "104511", "f.csv"] {
        assert!(
            !after.text.contains(secret),
            "`{secret}` in /metrics:\n{}",
            after.text
        );
    }
    for series in after.samples.keys() {
        let Some((_, labels)) = series.split_once('{') else {
            continue;
        };
        for pair in labels.trim_end_matches('}').split("\",") {
            let key = pair.split('=').next().unwrap();
            assert!(
                [
                    "sender", "status", "outcome", "state", "currency", "cause", "file", "version",
                    "method"
                ]
                .contains(&key),
                "label `{key}` in {series}"
            );
        }
        let name = series.split('{').next().unwrap();
        assert!(
            name.starts_with("kravflyt_")
                && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{name}"
        );
    }
}

#[test]
fn healthz_and_readyz_say_what_is_wrong_and_unknown_paths_are_404() {
    // A file that is never taken (a hard link: intake skips those) waits past ready_max_wait;
    // an injected read-only outbox makes a folder unwritable (tests run as root, for whom
    // permission bits do not count).
    let (ws, addr) = http_workspace("ready_max_wait = \"2s\"\n");
    // ready_max_wait must be longer than every stale_after.
    let config = std::fs::read_to_string(&ws.config).unwrap().replacen(
        "stale_after = \"1h\"",
        "stale_after = \"1s\"",
        1,
    );
    std::fs::write(&ws.config, config).unwrap();
    let faults = ws.dir.path().join("faults");
    let daemon = Daemon::start(&ws, addr, &[("KRAVFLYT_FAULTS", faults.to_str().unwrap())]);

    let (status, health) = daemon.json("/healthz");
    assert_eq!((status, &health["status"]), (200, &Value::from("alive")));
    let (status, ready) = daemon.json("/readyz");
    assert_eq!(status, 200, "{ready:#}");
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["failed"], serde_json::json!([]));
    let checks: Vec<&str> = ready["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["database", "folders", "waiting"]);

    std::fs::write(&faults, "/outbox/nordlys/ EROFS\n").unwrap();
    let (status, ready) = daemon.json("/readyz");
    assert_eq!(status, 503, "{ready:#}");
    assert_eq!(ready["status"], "not ready");
    assert_eq!(ready["failed"][0]["check"], "folders");
    assert_eq!(ready["failed"][0]["subject"], "outbox/nordlys");
    assert!(
        ready["failed"][0]["problem"]
            .as_str()
            .unwrap()
            .contains("not writable"),
        "{ready:#}"
    );
    std::fs::remove_file(&faults).unwrap();
    assert_eq!(daemon.json("/readyz").0, 200);

    let elsewhere = ws.dir.path().join("elsewhere.csv");
    std::fs::write(&elsewhere, invoices(&[("1", "10,00")])).unwrap();
    let inbox_file = ws.var().join("inbox/bank/linked.csv");
    std::fs::hard_link(&elsewhere, &inbox_file).unwrap();
    // Wait for /readyz to notice the waiting file.
    wait_for(|| daemon.json("/readyz").0 == 503);
    let (_, ready) = daemon.json("/readyz");
    assert_eq!(ready["failed"][0]["check"], "waiting", "{ready:#}");
    assert_eq!(ready["failed"][0]["subject"], "inbox/bank");
    assert!(
        !ready.to_string().contains("linked.csv"),
        "file names stay out of /readyz"
    );
    assert!(
        daemon
            .metrics()
            .value(r#"kravflyt_inbox_oldest_file_age_seconds{sender="bank"}"#)
            >= 2.0
    );
    std::fs::remove_file(&inbox_file).unwrap();
    // Wait for /readyz to be ready again.
    wait_for(|| daemon.json("/readyz").0 == 200);

    let (status, missing) = daemon.json("/nothing-here");
    assert_eq!(status, 404);
    assert_eq!(
        missing["paths"],
        serde_json::json!(["/metrics", "/healthz", "/readyz"])
    );
}

/// Sends raw bytes and returns whatever comes back before the server closes (or 10 s pass).
fn raw_exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // The server may answer and close before it read everything of an oversized request:
    // the write may then fail, the answer is still there to read.
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

fn status_line(answer: &str) -> &str {
    answer.lines().next().unwrap_or("")
}

#[test]
fn malformed_and_oversized_requests_get_an_error_and_the_server_keeps_serving() {
    let (ws, addr) = http_workspace("");
    let daemon = Daemon::start(&ws, addr, &[]);

    let cases: [(&str, Vec<u8>, &str); 5] = [
        ("garbage", b"GARBAGE\r\n\r\n".to_vec(), "HTTP/1.1 400"),
        (
            "a header line of 1 MiB",
            [
                b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ".as_slice(),
                &vec![b'a'; 1 << 20],
                b"\r\n\r\n",
            ]
            .concat(),
            "HTTP/1.1 431",
        ),
        (
            "a path of 100 KiB",
            [
                b"GET /".as_slice(),
                &vec![b'a'; 100 << 10],
                b" HTTP/1.1\r\n\r\n",
            ]
            .concat(),
            "HTTP/1.1 431",
        ),
        (
            "a body of 10 GB announced",
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\n".to_vec(),
            "HTTP/1.1 413",
        ),
        (
            "a POST",
            b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                .to_vec(),
            "HTTP/1.1 405",
        ),
    ];
    for (what, request, expected) in &cases {
        let answer = raw_exchange(addr, request);
        assert!(
            status_line(&answer).starts_with(expected),
            "{what}: expected {expected}, got {:?}",
            status_line(&answer)
        );
        let (status, _) = daemon.get("/healthz").unwrap();
        assert_eq!(status, 200, "the server stopped serving after {what}");
    }
    // Many connections at once that send nothing do not keep the server from answering.
    let idle: Vec<TcpStream> = (0..100)
        .filter_map(|_| TcpStream::connect(addr).ok())
        .collect();
    // Wait for a scrape beside 100 idle connections.
    wait_for(|| {
        daemon
            .get("/metrics")
            .is_ok_and(|(status, _)| status == 200)
    });
    drop(idle);
}

#[test]
fn the_daemon_tells_systemd_it_is_ready_and_pings_its_watchdog() {
    let (ws, addr) = http_workspace("");
    let socket_dir = tempfile::tempdir().unwrap();
    let socket_path = socket_dir.path().join("notify");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let _daemon = Daemon::start(
        &ws,
        addr,
        &[
            ("NOTIFY_SOCKET", socket_path.to_str().unwrap()),
            // 300 ms: a ping at least every 150 ms.
            ("WATCHDOG_USEC", "300000"),
        ],
    );
    let mut seen = Vec::new();
    let mut buf = [0u8; 512];
    // Wait for READY=1 and two WATCHDOG=1.
    wait_for(|| {
        if let Ok(n) = socket.recv(&mut buf) {
            seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        seen.iter().any(|m| m.starts_with("READY=1"))
            && seen.iter().filter(|m| *m == "WATCHDOG=1").count() >= 2
    });
}
