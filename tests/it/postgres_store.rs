//! The PostgreSQL store as an operator meets it (SPEC §10): `kravflyt store copy --to URL` (an
//! embedded workspace moved into PostgreSQL, proven by its digests and `verify`, then run on
//! as if nothing happened; a target that is not empty is refused), `config check` showing the
//! store without its password, and a daemon that connects again when the server ends its
//! session. (The scenarios, the month of reconciliation and the crash tests run on both stores
//! in their own modules.)

use crate::support::{PgDatabase, Workspace, repo};

/// The shipped samples, processed into the embedded store.
fn samples_workspace() -> Workspace {
    let ws = Workspace::new();
    let samples = repo().join("samples/inbox");
    for sender in std::fs::read_dir(&samples).unwrap().flatten() {
        for file in std::fs::read_dir(sender.path()).unwrap().flatten() {
            ws.drop_file(
                &sender.file_name().to_string_lossy(),
                &file.file_name().to_string_lossy(),
                std::fs::read(file.path()).unwrap(),
            );
        }
    }
    ws.process("2026-11-23");
    ws
}

/// `url` with a password the test server does not need (it trusts local connections): what
/// an operator's URL might hold, to see it is never printed.
fn with_password(url: &str) -> String {
    url.replacen("postgres@", "postgres:s3cret-pw@", 1)
}

#[test]
fn an_embedded_workspace_copied_to_postgresql_runs_on_unchanged() {
    let Some(target) = PgDatabase::create("store_copy") else {
        return;
    };
    let ws = samples_workspace();
    let cases_before = ws.ok(&["case", "list", "--json"]);
    let url = with_password(&target.url);
    let out = ws.run(&["store", "copy", "--to", &url]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("ok      every table holds the same rows"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ok      reconciled days rebuild byte for byte and tie out"),
        "{stdout}"
    );
    assert!(!stdout.contains("FAILED"), "{stdout}");
    assert!(stderr.contains("copied  cases:"), "{stderr}");
    for text in [&stdout, &stderr] {
        assert!(
            !text.contains("s3cret-pw"),
            "the password was printed:\n{text}"
        );
    }
    assert!(stdout.contains("postgres:****@"), "{stdout}");
    // As an operator sees it with psql: the cases are there.
    let listed = serde_json::from_str::<serde_json::Value>(&cases_before).unwrap();
    let in_postgres: i64 = target
        .connect()
        .query_one("SELECT count(*) FROM cases", &[])
        .unwrap()
        .get(0);
    assert_eq!(in_postgres as usize, listed.as_array().unwrap().len());

    // The same workspace on the copy: the same cases, and the next day runs there.
    let config = std::fs::read_to_string(&ws.config).unwrap();
    std::fs::write(
        &ws.config,
        format!("{config}\n[store]\nurl = \"{}\"\n", target.url),
    )
    .unwrap();
    assert_eq!(ws.ok(&["case", "list", "--json"]), cases_before);
    ws.process("2026-11-24");
    assert!(
        ws.ok(&["verify"])
            .contains("ok      reconciled days rebuild")
    );

    // A second copy into the now non-empty database is refused, and changes nothing.
    std::fs::write(&ws.config, config).unwrap();
    let again = ws.run(&["store", "copy", "--to", &url]);
    assert_eq!(again.status.code(), Some(1));
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(
        said.contains("is not empty") && said.contains("cases:"),
        "{said}"
    );
    assert!(!said.contains("s3cret-pw"), "{said}");
}

#[test]
fn a_copy_without_an_embedded_database_says_there_is_nothing_to_copy() {
    let Some(target) = PgDatabase::create("store_copy_nothing") else {
        return;
    };
    let ws = Workspace::new();
    let out = ws.run(&["store", "copy", "--to", &target.url]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nothing to copy"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn config_check_shows_the_store_without_its_password() {
    let ws = Workspace::with_config(|text| {
        format!(
            "{text}\n[store]\nurl = \"postgresql://kravflyt:s3cret-pw@db.example:5433/ledger?sslmode=verify-full\"\n\n[node]\nname = \"sftp-a\"\nlease = \"20s\"\nsenders = [\"nordlys\"]\n"
        )
    });
    let out = ws.ok(&["config", "check"]);
    assert!(
        out.contains("store: PostgreSQL at postgresql://kravflyt:****@db.example:5433/ledger?sslmode=verify-full (password in the URL); node `sftp-a`, lease 20s, serving nordlys"),
        "{out}"
    );
    assert!(!out.contains("s3cret-pw"), "{out}");
}

#[test]
fn node_settings_without_a_shared_store_are_refused() {
    let ws = Workspace::with_config(|text| format!("{text}\n[node]\nlease = \"20s\"\n"));
    let out = ws.run(&["config", "check"]);
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("[node] lease and senders are for several daemons"),
        "{said}"
    );
}

/// SPEC §10, "what happens when the database goes away": the daemon's session is ended by the
/// server (as when PostgreSQL restarts); the daemon connects again and takes the next file.
#[test]
fn the_daemon_connects_again_when_postgresql_ends_its_session() {
    let Some(ws) = Workspace::on_postgres("reconnect", |text| text) else {
        return;
    };
    let scenario = repo().join("tests/data/scenarios/matching");
    let log = ws.dir.path().join("daemon.log");
    let mut daemon = ws
        .command()
        .arg("run")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let archived = |name: &str| ws.names_under("archive").iter().any(|n| n.ends_with(name));
    ws.drop_file(
        "nordlys",
        "faktura.csv",
        std::fs::read(scenario.join("2026-10-01/nordlys/faktura.csv")).unwrap(),
    );
    crate::support::wait_for(|| archived("faktura.csv"));
    let ended: i64 = ws
        .postgres
        .as_ref()
        .unwrap()
        .connect()
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(ended >= 1, "the daemon had no session to end");
    ws.drop_file(
        "nordlys",
        "faktura-2.csv",
        std::fs::read(scenario.join("2026-10-06/nordlys/faktura-2.csv")).unwrap(),
    );
    crate::support::wait_for(|| archived("faktura-2.csv"));
    let _ = daemon.kill();
    let _ = daemon.wait();
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(said.contains("connecting again"), "{said}");
}
