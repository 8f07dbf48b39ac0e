//! The `kravflyt` binary: argument parsing, logging set-up and exit codes; the work is in the
//! library.
//!
//! Exit codes (SPEC §3): 0 done (rejected inbound files are reported in receipts, not
//! failures), 1 operational failure, 2 usage error.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use chrono::NaiveDate;
use clap::{Parser, Subcommand};

use kravflyt::config::{Config, DEFAULT_CONFIG_PATH};
use kravflyt::domain::CaseState;
use kravflyt::outbound::report;
use kravflyt::reference::{self, Scheme};
use kravflyt::service::daemon;
use kravflyt::service::pipeline;
use kravflyt::service::status;
use kravflyt::store::{CaseFilter, Store, StoreLocation};
use kravflyt::workspace::Workspace;

#[derive(Debug, Parser)]
#[command(
    name = "kravflyt",
    version,
    about = "Nordic invoice follow-up and debt collection: inbox folders in, receipts, status, reconciliation and letters out",
    after_help = "Examples:\n  kravflyt run                              the daemon, on config/kravflyt.toml\n  kravflyt process --as-of 2026-11-23       one pass, then exit\n  kravflyt status                           what is waiting, failing, unmatched\n  kravflyt case show 2026-000017            one case\n\nReference: README.md and docs/ (configuration, formats, receipts, outbound files, lifecycle)."
)]
struct Cli {
    /// The configuration file.
    #[arg(long, global = true, env = "KRAVFLYT_CONFIG", default_value = DEFAULT_CONFIG_PATH)]
    config: PathBuf,
    /// The folder the configuration's relative paths resolve against (default: the current
    /// directory).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Log lines as text (default) or as JSON objects, one per line, for log shippers.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The daemon: watch every inbox and process files as they become ready, until SIGINT or
    /// SIGTERM.
    #[command(
        after_help = "Example:\n  kravflyt run\n  KRAVFLYT_LOG=debug kravflyt --log-format json run"
    )]
    Run,
    /// One pass: every ready file in every inbox, the daily steps, the reconciliation of the
    /// days before, outbound files; then exit.
    #[command(after_help = "Example:\n  kravflyt process --as-of 2026-11-23")]
    Process {
        /// The business date the pass runs as of (default: today in the configured time zone).
        #[arg(long, value_parser = parse_date)]
        as_of: Option<NaiveDate>,
    },
    /// (Re)write the reconciliation files of business day DATE for every sender and the
    /// agency; the same DATE always gives the same content. Runs beside the daemon.
    #[command(after_help = "Example:\n  kravflyt reconcile --date 2026-11-23")]
    Reconcile {
        /// A closed business day (before the one kravflyt works on), YYYY-MM-DD.
        #[arg(long, value_parser = parse_date)]
        date: NaiveDate,
    },
    /// Write the agency's HTML page for business day DATE (files in and out, cases, money,
    /// unmatched payments, 30 days of collections) to var/outbox/_agency/report-YYYYMMDD.html.
    /// The daily run writes it too, for each day it closes.
    #[command(
        after_help = "Example:\n  kravflyt report --date 2026-11-23 && xdg-open var/outbox/_agency/report-20261123.html"
    )]
    Report {
        /// The business day, YYYY-MM-DD.
        #[arg(long, value_parser = parse_date)]
        date: NaiveDate,
    },
    /// Copy the database to PATH while kravflyt runs (SQLite online backup), checked and
    /// written atomically.
    #[command(after_help = "Example:\n  kravflyt backup /backup/kravflyt-2026-11-23.db")]
    Backup {
        /// Where the copy goes; must not exist yet.
        path: PathBuf,
    },
    /// Check the database: SQLite integrity, foreign keys, allocations, postings, and that
    /// every reconciled day rebuilds to the files that were written. Exit 1 on any problem.
    #[command(after_help = "Example:\n  kravflyt verify")]
    Verify,
    /// Create a workspace in DIR: a commented configuration, the rule tables and the folder
    /// tree. Safe to run twice: nothing that exists is overwritten.
    #[command(
        after_help = "Example:\n  kravflyt init /srv/kravflyt\n  cd /srv/kravflyt && kravflyt config check && kravflyt run"
    )]
    Init {
        /// The folder to set up (created if missing).
        dir: PathBuf,
    },
    /// Dry run: print the receipt SENDER would get for FILE; changes nothing.
    #[command(after_help = "Example:\n  kravflyt check --sender nordlys faktura-20261109.csv")]
    Check {
        /// The sender whose dialect and creditors apply.
        #[arg(long)]
        sender: String,
        file: PathBuf,
    },
    /// Cases: show one, list many.
    #[command(subcommand)]
    Case(CaseCommand),
    /// Payment references: check one, or add check digits.
    #[command(subcommand, name = "ref")]
    Ref(RefCommand),
    /// Backlog per inbox, files, cases, the payments of each day (and whether they tie out),
    /// unmatched payments with suggestions, and the last run.
    #[command(after_help = "Example:\n  kravflyt status\n  kravflyt status --json | jq .unmatched")]
    Status {
        /// JSON for monitoring instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// The configuration: check it.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The database: move the embedded one into PostgreSQL.
    #[command(subcommand)]
    Store(StoreCommand),
}

#[derive(Debug, Subcommand)]
enum StoreCommand {
    /// Copy the embedded database (var/kravflyt.db) into an empty PostgreSQL database, then
    /// compare every table and run `verify` on the copy. The daemon must be stopped; the
    /// configuration is left as it is (set `[store] url` afterwards). Exit 1 if the copy
    /// differs or a check fails.
    #[command(
        after_help = "Example:\n  kravflyt store copy --to 'postgresql://kravflyt@db.example/kravflyt?sslmode=verify-full' --password-file /etc/kravflyt/db-password"
    )]
    Copy {
        /// The PostgreSQL database, a postgresql:// URL (its password is never printed).
        #[arg(long)]
        to: String,
        /// A file whose first line is the password (else PGPASSWORD, or none).
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum CaseCommand {
    /// One case with balance, invoices and events. KEY is a case number, an agency reference
    /// or CREDITOR_ID/INVOICE_NO.
    #[command(
        after_help = "Examples:\n  kravflyt case show 2026-000017\n  kravflyt case show 7000000179\n  kravflyt case show 923609016/104510 --json"
    )]
    Show {
        key: String,
        /// The JSON of SPEC §3 instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Cases, filtered by state and creditor.
    #[command(after_help = "Example:\n  kravflyt case list --state disputed --creditor 923609016")]
    List {
        #[arg(long, value_parser = parse_state)]
        state: Option<CaseState>,
        #[arg(long)]
        creditor: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum RefCommand {
    /// Validate a reference: prints the scheme(s) it is valid under, or why not.
    #[command(
        after_help = "Example:\n  kravflyt ref check 7000000179\n  kravflyt ref check --scheme se-ocr 1342043708"
    )]
    Check {
        reference: String,
        #[arg(long, value_parser = parse_scheme)]
        scheme: Option<Scheme>,
    },
    /// Append the check digit(s) to BASE.
    #[command(after_help = "Example:\n  kravflyt ref new --scheme kid-mod10 700000017")]
    New {
        #[arg(long, value_parser = parse_scheme)]
        scheme: Scheme,
        base: String,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate the configuration and list every error with its location.
    #[command(
        after_help = "Example:\n  kravflyt config check\n  kravflyt --config /etc/kravflyt/kravflyt.toml config check"
    )]
    Check,
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("`{text}` is not a date (YYYY-MM-DD)"))
}

fn parse_state(text: &str) -> Result<CaseState, String> {
    text.parse()
        .map_err(|e: kravflyt::domain::UnknownValue| e.to_string())
}

fn parse_scheme(text: &str) -> Result<Scheme, String> {
    text.parse()
        .map_err(|e: reference::ReferenceError| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match execute(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kravflyt: {e}");
            ExitCode::from(1)
        }
    }
}

fn init_logging(format: LogFormat) {
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("KRAVFLYT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // The PostgreSQL client logs every statement's values at debug level: debtors' names and
    // national identity numbers among them. Never below info, whatever KRAVFLYT_LOG asks.
    for quiet in ["tokio_postgres=info", "postgres=info"] {
        if let Ok(directive) = quiet.parse() {
            filter = filter.add_directive(directive);
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// The configuration and rule tables `init` writes: the shipped, commented ones.
const INIT_CONFIG: &str = include_str!("../config/kravflyt.toml");
const INIT_RULES: &str = include_str!("../config/rules.toml");

/// `kravflyt init DIR`: `DIR/config/kravflyt.toml`, `DIR/config/rules.toml` and the folder
/// tree of every configured sender under `DIR/var/`. Files that exist are kept as they are.
fn init_workspace(dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    let config_dir = dir.join("config");
    std::fs::create_dir_all(&config_dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot create {}: {e}; check that the parent folder exists and is writable",
            config_dir.display()
        )
    })?;
    for (name, text) in [("kravflyt.toml", INIT_CONFIG), ("rules.toml", INIT_RULES)] {
        let path = config_dir.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut file) => {
                use std::io::Write;
                file.write_all(text.as_bytes())?;
                file.sync_all()?;
                println!("created {}", path.display());
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                println!("kept    {} (exists)", path.display());
            }
            Err(e) => bail!("cannot write {}: {e}", path.display()),
        }
    }
    // The folders of the senders the configuration (new or kept) names.
    let config = Config::load(&config_dir.join("kravflyt.toml"), Some(dir)).map_err(|errors| {
        anyhow::anyhow!(
            "{} has problems; fix them, then run init again:\n{errors}",
            config_dir.join("kravflyt.toml").display()
        )
    })?;
    let workspace = Workspace::new(&config.var_dir);
    for sender in &config.senders {
        workspace.create_sender_folders(&sender.id)?;
    }
    println!(
        "workspace {} ready: inbox, work, archive, rejected and outbox folders for {} senders",
        config.var_dir.display(),
        config.senders.len()
    );
    println!(
        "next: edit {} (creditors, senders, [agency]), then\n  cd {} && kravflyt config check && kravflyt run",
        config_dir.join("kravflyt.toml").display(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    Config::load(&cli.config, cli.data_dir.as_deref()).map_err(anyhow::Error::from)
}

/// Opens the workspace database for reading commands; refuses to create one.
fn open_existing_store(config: &Config) -> anyhow::Result<Store> {
    match existing_store(config)? {
        Some(store) => Ok(store),
        None => bail!(
            "no database at {}: run `kravflyt process` or `kravflyt run` first",
            Workspace::new(&config.var_dir).database().display()
        ),
    }
}

/// The workspace database if there is one: commands that only look answer a fresh workspace
/// (no database yet) instead of failing, and never create one as a side effect.
fn existing_store(config: &Config) -> anyhow::Result<Option<Store>> {
    let location = StoreLocation::from_config(config);
    if let StoreLocation::Sqlite(path) = &location
        && !path.exists()
    {
        return Ok(None);
    }
    Ok(Some(Store::open_at(&location)?))
}

/// What a looking command says on a fresh workspace.
fn nothing_has_run(config: &Config) -> String {
    format!(
        "nothing has run yet: no database at {} (the first `kravflyt run` or `kravflyt process` creates it)",
        Workspace::new(&config.var_dir).database().display()
    )
}

fn execute(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Config(ConfigCommand::Check) => {
            match Config::load(&cli.config, cli.data_dir.as_deref()) {
                Ok(config) => {
                    println!(
                        "{}: ok ({} creditors, {} senders; workspace {})",
                        cli.config.display(),
                        config.creditors.len(),
                        config.senders.len(),
                        config.var_dir.display()
                    );
                    match config.http.listen {
                        Some(addr) => println!(
                            "http: `kravflyt run` serves /metrics, /healthz and /readyz on http://{addr}; ready while no file waits longer than {}",
                            humantime::format_duration(config.http.ready_max_wait)
                        ),
                        None => println!("http: off (no [http] listen)"),
                    }
                    match StoreLocation::from_config(&config) {
                        StoreLocation::Sqlite(path) => {
                            println!("store: embedded SQLite at {}", path.display())
                        }
                        StoreLocation::Postgres(settings) => {
                            if let Err(problem) = settings.check() {
                                println!("store: {}: {problem}", settings.shown_url());
                                return Ok(ExitCode::from(1));
                            }
                            println!(
                                "store: PostgreSQL at {} (password {}); node `{}`, lease {}{}",
                                settings.shown_url(),
                                match &config.store.password_file {
                                    _ if settings.shown_url() != settings.url => {
                                        "in the URL".to_owned()
                                    }
                                    Some(file) => format!("from {}", file.display()),
                                    None if std::env::var_os("PGPASSWORD").is_some() => {
                                        "from PGPASSWORD".to_owned()
                                    }
                                    None => "none given".to_owned(),
                                },
                                config.node.name,
                                humantime::format_duration(config.node.lease),
                                match &config.node.senders {
                                    Some(senders) => format!(
                                        ", serving {}",
                                        senders.iter().cloned().collect::<Vec<_>>().join(", ")
                                    ),
                                    None => ", serving every sender".to_owned(),
                                }
                            )
                        }
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(errors) => {
                    for e in &errors.0 {
                        println!("{e}");
                    }
                    println!("{} problem(s)", errors.0.len());
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Run => {
            let config = load_config(&cli)?;
            daemon::run(config)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Process { as_of } => {
            let config = load_config(&cli)?;
            let as_of = as_of.unwrap_or_else(|| config.today());
            let summary = daemon::process_once(config, as_of)?;
            for f in &summary.files {
                println!(
                    "{:<10} {:<40} {:<16} {}",
                    f.sender,
                    f.name,
                    f.status.as_str(),
                    f.destination
                );
            }
            println!(
                "{} file(s) processed as of {as_of}; {} waiting in inboxes{}",
                summary.files.len(),
                summary.waiting,
                if summary.interrupted {
                    "; interrupted by a signal"
                } else {
                    ""
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Reconcile { date } => {
            let config = load_config(&cli)?;
            open_existing_store(&config)?;
            let mut engine = pipeline::Engine::open(config)?;
            for path in engine.reconcile_day(*date)? {
                println!("{}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Report { date } => {
            let config = load_config(&cli)?;
            if !Workspace::new(&config.var_dir).database().exists() {
                println!(
                    "no report for {date}: there is no business day yet; {}",
                    nothing_has_run(&config)
                );
                return Ok(ExitCode::SUCCESS);
            }
            let mut engine = pipeline::Engine::open(config)?;
            println!("{}", engine.write_report(*date, None)?.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { path } => {
            let config = load_config(&cli)?;
            open_existing_store(&config)?;
            if path.exists() {
                bail!(
                    "{} exists already; a backup never overwrites a file: choose a new name",
                    path.display()
                );
            }
            let mut engine = pipeline::Engine::open(config)?;
            let summary = engine.backup(path)?;
            println!(
                "{}: {} pages, {} bytes, integrity ok",
                path.display(),
                summary.pages,
                summary.bytes
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Store(StoreCommand::Copy { to, password_file }) => {
            let config = load_config(&cli)?;
            let report = kravflyt::service::store_copy::copy_store(
                &config,
                to,
                password_file.clone(),
                |table, rows| eprintln!("copied  {table}: {rows} rows"),
            )?;
            println!("copied to {}", report.target);
            if report.differing.is_empty() {
                println!("ok      every table holds the same rows as the embedded database");
            } else {
                println!("FAILED  tables differ from the embedded database");
                for line in &report.differing {
                    println!("        {line}");
                }
            }
            for (check, problems) in &report.checks {
                if problems.is_empty() {
                    println!("ok      {check}");
                } else {
                    println!("FAILED  {check}");
                    for problem in problems.iter().take(20) {
                        println!("        {problem}");
                    }
                }
            }
            if !report.proven() {
                return Ok(ExitCode::from(1));
            }
            println!(
                "the copy is complete: set [store] url in {} to use it",
                config.source.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify => {
            let config = load_config(&cli)?;
            open_existing_store(&config)?;
            let mut engine = pipeline::Engine::open(config)?;
            let mut failed = false;
            for (check, problems) in engine.verify()? {
                if problems.is_empty() {
                    println!("ok      {check}");
                } else {
                    failed = true;
                    println!("FAILED  {check}");
                    for problem in problems.iter().take(20) {
                        println!("        {problem}");
                    }
                    if problems.len() > 20 {
                        println!("        … and {} more", problems.len() - 20);
                    }
                }
            }
            Ok(if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Init { dir } => init_workspace(dir),
        Command::Check { sender, file } => {
            let config = load_config(&cli)?;
            let Some(sender) = config.sender(sender) else {
                let known: Vec<_> = config.senders.iter().map(|s| s.id.as_str()).collect();
                eprintln!(
                    "kravflyt: no sender `{sender}` in the configuration (senders: {})",
                    known.join(", ")
                );
                return Ok(ExitCode::from(2));
            };
            let location = StoreLocation::from_config(&config);
            let mut store = if !matches!(&location, StoreLocation::Sqlite(path) if !path.exists()) {
                Store::open_at(&location)?
            } else {
                let mut store = Store::open_in_memory()?;
                store.sync_creditors(config.creditors.values())?;
                store
            };
            let receipt = pipeline::check_file(&mut store, &config, sender, file, config.today())?;
            let rendered = receipt.render_csv(sender);
            use std::io::Write;
            std::io::stdout().write_all(&rendered)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Case(CaseCommand::Show { key, json }) => {
            let config = load_config(&cli)?;
            let Some(mut store) = existing_store(&config)? else {
                bail!("no case `{key}`: {}", nothing_has_run(&config));
            };
            let tx = store.read()?;
            let Some(case_id) = tx.find_case_id(key)? else {
                bail!("no case with case number, reference or CREDITOR_ID/INVOICE_NO `{key}`");
            };
            let mut view = tx.case_view(case_id)?;
            // balance.interest: accrued up to the as-of date of the last run (SPEC §3), the
            // posted part plus what has run on since it was last posted.
            let as_of = tx
                .meta("last_as_of")?
                .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
                .unwrap_or_else(|| config.today());
            if view.state != CaseState::Closed {
                let running: i64 = kravflyt::apply::interest_due(&tx, &config, case_id, as_of)?
                    .iter()
                    .map(|(_, _, minor)| minor)
                    .sum();
                view.balance.interest += running;
            }
            if *json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report::case_json(&view))?
                );
            } else {
                print!("{}", report::case_text(&view));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Case(CaseCommand::List {
            state,
            creditor,
            json,
        }) => {
            let config = load_config(&cli)?;
            let Some(mut store) = existing_store(&config)? else {
                if *json {
                    println!("[]");
                } else {
                    print!("{}", report::case_list_text(&[]));
                    println!("{}", nothing_has_run(&config));
                }
                return Ok(ExitCode::SUCCESS);
            };
            let tx = store.read()?;
            let cases = tx.case_list(&CaseFilter {
                state: *state,
                creditor_id: creditor.clone(),
                visible_creditors: None,
            })?;
            if *json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report::case_list_json(&cases))?
                );
            } else {
                print!("{}", report::case_list_text(&cases));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { json } => {
            let config = load_config(&cli)?;
            let workspace = config.workspace();
            let report = match existing_store(&config)? {
                None => status::fresh(&config, &workspace),
                Some(mut store) => status::gather(&store.read()?, &config, &workspace, true)?,
            };
            if *json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report::status_json(&report))?
                );
            } else {
                print!("{}", report::status_text(&report));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Ref(RefCommand::Check { reference, scheme }) => {
            let schemes = match scheme {
                Some(s) => match reference::validate(*s, reference) {
                    Ok(()) => vec![*s],
                    Err(e) => {
                        println!("invalid {s}: {e}");
                        return Ok(ExitCode::from(1));
                    }
                },
                None => reference::schemes_valid_for(reference),
            };
            if schemes.is_empty() {
                println!(
                    "invalid: valid under none of {}",
                    Scheme::ALL.map(|s| s.as_str()).join(", ")
                );
                return Ok(ExitCode::from(1));
            }
            println!(
                "valid: {}",
                schemes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Ref(RefCommand::New { scheme, base }) => {
            match reference::generate(*scheme, base) {
                Ok(reference) => {
                    println!("{reference}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("kravflyt: cannot make a {scheme} reference from `{base}`: {e}");
                    Ok(ExitCode::from(2))
                }
            }
        }
    }
}
