//! Test support: a temporary workspace running the real binary on the shipped configuration.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_kravflyt");

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The public sample files no one here wrote, kept in the repository: `tests/data/public/`.
pub fn public_data() -> PathBuf {
    repo().join("tests/data/public")
}

/// The names of the sample files in a copy of `tests/data/public/`, sorted; its `README.md`
/// (where the files come from) is not one of them.
pub fn public_file_names(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name != "README.md")
        .collect();
    names.sort();
    names
}

/// A temporary workspace: the shipped configuration (optionally edited) and an empty `var/`.
pub struct Workspace {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    /// The PostgreSQL database the workspace's ledger is in, if not the embedded one.
    pub postgres: Option<PgDatabase>,
}

impl Workspace {
    /// The shipped configuration with no quiet period, so tests do not wait.
    pub fn new() -> Workspace {
        Workspace::with_config(|text| text)
    }

    /// The shipped configuration with no quiet period, edited by `edit`.
    pub fn with_config(edit: impl FnOnce(String) -> String) -> Workspace {
        Workspace::with_config_in(&std::env::temp_dir(), edit)
    }

    /// As [`Workspace::with_config`], in a new folder under `parent`.
    pub fn with_config_in(parent: &Path, edit: impl FnOnce(String) -> String) -> Workspace {
        let shipped = std::fs::read_to_string(repo().join("config/kravflyt.toml")).unwrap();
        let quiet = shipped.replacen("quiet_period = \"5s\"", "quiet_period = \"0s\"", 1);
        assert_ne!(
            quiet, shipped,
            "the shipped config sets quiet_period = \"5s\""
        );
        let dir = tempfile::tempdir_in(parent).unwrap();
        let config = dir.path().join("kravflyt.toml");
        std::fs::write(&config, edit(quiet)).unwrap();
        std::fs::copy(
            repo().join("config/rules.toml"),
            dir.path().join("rules.toml"),
        )
        .unwrap();
        Workspace {
            dir,
            config,
            postgres: None,
        }
    }

    /// The shipped configuration (edited by `edit`) with its ledger in a new PostgreSQL
    /// database on the test server; `None`, after saying so, where there is no server.
    pub fn on_postgres(test: &str, edit: impl FnOnce(String) -> String) -> Option<Workspace> {
        let database = PgDatabase::create(test)?;
        let url = database.url.clone();
        let mut ws =
            Workspace::with_config(|text| format!("{}\n[store]\nurl = \"{url}\"\n", edit(text)));
        ws.postgres = Some(database);
        Some(ws)
    }

    pub fn var(&self) -> PathBuf {
        self.dir.path().join("var")
    }

    /// A `kravflyt` command on this workspace.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("--config")
            .arg(&self.config)
            .arg("--data-dir")
            .arg(self.dir.path())
            .env("KRAVFLYT_LOG", "warn")
            .env_remove("KRAVFLYT_CONFIG");
        cmd
    }

    /// Runs `kravflyt ARGS` and returns its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    /// Runs `kravflyt ARGS`, asserting exit code 0, and returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kravflyt {args:?} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn process(&self, as_of: &str) -> String {
        self.ok(&["process", "--as-of", as_of])
    }

    /// Drops a file into a sender's inbox.
    pub fn drop_file(&self, sender: &str, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let inbox = self.var().join("inbox").join(sender);
        std::fs::create_dir_all(&inbox).unwrap();
        let path = inbox.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    /// Files of a folder under `var/`, recursively, as relative paths with contents; dated
    /// archive folders are shown as `YYYY/MM/DD` so snapshots do not depend on today.
    pub fn files_under(&self, folder: &str) -> BTreeMap<String, Vec<u8>> {
        let root = self.var().join(folder);
        let mut out = BTreeMap::new();
        collect(&root, &root, &mut out);
        out.into_iter()
            .map(|(k, v)| (redact_date_folders(&k), v))
            .collect()
    }

    /// Names of files under a folder of `var/`.
    pub fn names_under(&self, folder: &str) -> Vec<String> {
        self.files_under(folder).into_keys().collect()
    }

    /// One outbound file as text.
    pub fn outbox_file(&self, sender: &str, name: &str) -> String {
        let path = self.var().join("outbox").join(sender).join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    pub fn case_list(&self) -> Value {
        serde_json::from_str(&self.ok(&["case", "list", "--json"])).unwrap()
    }

    pub fn case_show(&self, key: &str) -> Value {
        serde_json::from_str(&self.ok(&["case", "show", key, "--json"])).unwrap()
    }
}

fn collect(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            collect(root, &path, out);
        } else {
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            // A running daemon may move the file between listing and reading it.
            match std::fs::read(&path) {
                Ok(bytes) => {
                    out.insert(relative, bytes);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => panic!("{}: {e}", path.display()),
            }
        }
    }
}

/// `nordlys/2026/11/23/x.csv` → `nordlys/YYYY/MM/DD/x.csv`.
pub fn redact_date_folders(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() == 5
        && parts[1].len() == 4
        && parts[2].len() == 2
        && parts[3].len() == 2
        && parts[1..4]
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_digit()))
    {
        format!("{}/YYYY/MM/DD/{}", parts[0], parts[4])
    } else {
        path.to_owned()
    }
}

/// The receipt rows of a CSV receipt as maps of column → value.
pub fn receipt_rows(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

/// A running daemon, stopped with SIGTERM when dropped. Its log goes to a file beside the
/// workspace (a pipe nobody reads would block the daemon once full), and a failing test shows
/// it.
pub struct Daemon {
    child: Child,
    log: Option<PathBuf>,
}

impl Daemon {
    pub fn start(ws: &Workspace) -> Daemon {
        let log = ws.dir.path().join("daemon.log");
        let child = ws
            .command()
            .arg("run")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let lock = ws.var().join("kravflyt.lock");
        wait_for(|| {
            std::fs::read_to_string(&lock).is_ok_and(|pid| pid.trim() == child.id().to_string())
        });
        Daemon {
            child,
            log: Some(log),
        }
    }

    /// The daemon's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// A daemon started some other way (as another account, say).
    pub fn adopt(child: Child) -> Daemon {
        Daemon { child, log: None }
    }

    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        let status = self.child.wait().unwrap();
        self.log = None;
        status
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking()
            && let Some(log) = &self.log
        {
            eprintln!(
                "the daemon's log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
    }
}

/// Waits until `condition` holds. The limit guards against a hang, not a slow machine: a
/// loaded CI machine may take seconds where a quiet one takes milliseconds.
#[track_caller]
pub fn wait_for(mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Where the PostgreSQL tests find their server: a URL of its maintenance database (see
/// `scripts/pg-test-cluster.sh`, which `.ci/run` starts).
pub const POSTGRES_URL_VARIABLE: &str = "KRAVFLYT_TEST_POSTGRES";

/// A new, empty database on the test server, dropped when this is.
pub struct PgDatabase {
    /// The URL kravflyt is configured with.
    pub url: String,
    admin_url: String,
    name: String,
}

impl PgDatabase {
    /// Creates the database, or returns `None` after saying the test was skipped when no server
    /// is configured. With `KRAVFLYT_REQUIRE_POSTGRES=1` (CI) a missing server fails instead.
    pub fn create(test: &str) -> Option<PgDatabase> {
        let Ok(admin_url) = std::env::var(POSTGRES_URL_VARIABLE) else {
            assert!(
                std::env::var_os("KRAVFLYT_REQUIRE_POSTGRES").is_none(),
                "KRAVFLYT_REQUIRE_POSTGRES is set but {POSTGRES_URL_VARIABLE} is not: start a server with `eval \"$(scripts/pg-test-cluster.sh)\"`"
            );
            eprintln!(
                "SKIPPED {test} on PostgreSQL: no server; run `eval \"$(scripts/pg-test-cluster.sh)\"` first to set {POSTGRES_URL_VARIABLE} (CI sets it and KRAVFLYT_REQUIRE_POSTGRES=1)"
            );
            return None;
        };
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let short: String = test
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(30)
            .collect::<String>()
            .to_ascii_lowercase();
        let name = format!("kt_{short}_{}_{n}", std::process::id());
        let mut client = postgres::Client::connect(&admin_url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("cannot reach the test server at {admin_url}: {e}"));
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let (base, query) = match admin_url.split_once('?') {
            Some((base, query)) => (base, format!("?{query}")),
            None => (admin_url.as_str(), String::new()),
        };
        let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
        Some(PgDatabase {
            url: format!("{server}/{name}{query}"),
            admin_url,
            name,
        })
    }

    /// A connection to this database, to look at it as an operator would with psql.
    pub fn connect(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.admin_url, postgres::NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}
