//! Configuration: `config/kravflyt.toml` read with serde, then checked into typed settings.
//!
//! Two layers, as "parse, don't validate" asks: [`RawConfig`] mirrors the TOML (unknown keys
//! rejected, values kept as spanned text), and [`Config`] holds only checked, typed values.
//! Checking collects every problem with its `file:line:column`, so `kravflyt config check`
//! can list them all at once instead of one per run.

// The legal rule tables, and the interest arithmetic their rate periods and day counts are
// stated in.
pub mod rules;
pub mod interest;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use toml::Spanned;

use crate::columns;
use crate::domain::{Country, HandoverStep, InboundFormat, OnInvalidRecord, OutboundDialect};
use crate::reference::Scheme;

/// The default config path, relative to the working directory.
pub const DEFAULT_CONFIG_PATH: &str = "config/kravflyt.toml";

/// The rule tables' file name, next to the configuration, unless `[workspace] rules` names
/// another.
pub const DEFAULT_RULES_FILE: &str = "rules.toml";

/// Ignore patterns every sender gets unless it sets its own (SPEC §4).
pub const DEFAULT_IGNORE: &[&str] = &["*.tmp", "*.part", "*.filepart", ".*"];

/// One problem in the configuration, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// `path:line:column`, or just the path when the problem has no single place.
    pub location: String,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// Every problem found in one configuration file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} problem(s) in the configuration:\n{}", .0.len(), .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigErrors(pub Vec<ConfigError>);

// ---------------------------------------------------------------------------------------------
// The raw layer: exactly the TOML.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    workspace: RawWorkspace,
    #[serde(default)]
    intake: RawIntake,
    agency: RawAgency,
    #[serde(default, rename = "creditor")]
    creditors: Vec<RawCreditor>,
    #[serde(default, rename = "sender")]
    senders: Vec<RawSender>,
    #[serde(default)]
    http: RawHttp,
    #[serde(default)]
    store: RawStore,
    #[serde(default)]
    node: RawNode,
}

/// `[store]`: the embedded SQLite database unless `url` names a PostgreSQL one (SPEC §10).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    url: Option<Spanned<String>>,
    password_file: Option<Spanned<String>>,
}

/// `[node]`: this daemon among several sharing one PostgreSQL database (SPEC §10).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    name: Option<Spanned<String>>,
    lease: Option<Spanned<String>>,
    senders: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkspace {
    var_dir: Spanned<String>,
    time_zone: Spanned<String>,
    scan_interval: Option<Spanned<String>>,
    /// The legal rule tables, relative to the configuration file's folder.
    rules: Option<Spanned<String>>,
    /// Local time of day the daemon runs the daily steps, `HH:MM`.
    daily_run_at: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIntake {
    quiet_period: Option<Spanned<String>>,
    stale_after: Option<Spanned<String>>,
    writer_detection: Option<Spanned<String>>,
    ignore: Option<Vec<Spanned<String>>>,
    max_file_bytes: Option<Spanned<u64>>,
}

/// `[http]`: metrics and health checks over HTTP, off unless `listen` is set.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    listen: Option<Spanned<String>>,
    ready_max_wait: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgency {
    name: String,
    reference_prefix: Spanned<String>,
    #[serde(default)]
    accounts: BTreeMap<String, Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCreditor {
    id: Spanned<String>,
    name: String,
    country: Spanned<String>,
    currency: Spanned<String>,
    #[serde(default)]
    other_currencies: Vec<Spanned<String>>,
    reference_scheme: Spanned<String>,
    #[serde(default)]
    reference_lengths: Vec<Spanned<usize>>,
    handover: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSender {
    id: Spanned<String>,
    acts_for: Spanned<Vec<Spanned<String>>>,
    reads: Spanned<Vec<Spanned<String>>>,
    writes: Option<Spanned<String>>,
    on_invalid_record: Option<Spanned<String>>,
    #[serde(default)]
    intake: RawIntake,
    #[serde(default)]
    csv: RawCsv,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCsv {
    delimiter: Option<Spanned<String>>,
    decimal_separator: Option<Spanned<String>>,
    date_format: Option<Spanned<String>>,
    encoding: Option<Spanned<String>>,
    #[serde(default)]
    columns: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    values: BTreeMap<String, Spanned<BTreeMap<String, String>>>,
    #[serde(default)]
    fixed: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    ignore_columns: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// The typed layer.

/// The whole, checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub source: PathBuf,
    /// Absolute root of the workspace folders (`var/`).
    pub var_dir: PathBuf,
    pub time_zone: Tz,
    /// How often the daemon rescans the inboxes; filesystem events only wake it earlier.
    pub scan_interval: Duration,
    /// Local time of day (in `time_zone`) from which the daemon runs a day's steps.
    pub daily_run_at: chrono::NaiveTime,
    pub agency: Agency,
    /// The legal rule tables (fees, interest rates, days, allocation order) per country.
    pub rules: crate::config::rules::Rules,
    /// Creditors by organisation number.
    pub creditors: BTreeMap<String, Creditor>,
    /// Senders in configuration order.
    pub senders: Vec<Sender>,
    /// Metrics and health checks over HTTP (`kravflyt run` only).
    pub http: HttpSettings,
    /// Where the ledger lives.
    pub store: StoreSettings,
    /// This daemon among several.
    pub node: NodeSettings,
}

/// `[store]`.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreSettings {
    /// A `postgresql://` URL; `None`: the embedded SQLite database `var/kravflyt.db`.
    pub url: Option<String>,
    /// A file whose first line is the database password (else `PGPASSWORD`, or none).
    pub password_file: Option<PathBuf>,
}

/// Shows the URL without a password in it (`config check`, logs).
impl std::fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSettings")
            .field("url", &self.url.as_deref().map(mask_password))
            .field("password_file", &self.password_file)
            .finish()
    }
}

/// A database URL with the password in it, if any, replaced by `****`.
pub fn mask_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = scheme_end + 3;
    let authority_end = url[rest..].find(['/', '?']).map_or(url.len(), |i| rest + i);
    let mut shown = url.to_owned();
    if let Some(at) = url[rest..authority_end].rfind('@')
        && let Some(colon) = url[rest..rest + at].find(':')
    {
        shown.replace_range(rest + colon + 1..rest + at, "****");
    }
    if let Some(query_start) = shown.find('?') {
        let (head, query) = shown.split_at(query_start + 1);
        let masked: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=****"),
                _ => pair.to_owned(),
            })
            .collect();
        shown = format!("{head}{}", masked.join("&"));
    }
    shown
}

/// `[node]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSettings {
    /// Unique per running daemon; defaults to the host name.
    pub name: String,
    /// How long a silent node keeps the files it claimed before another takes them over.
    pub lease: Duration,
    /// The senders this node serves; `None`: every sender.
    pub senders: Option<BTreeSet<String>>,
}

impl NodeSettings {
    /// Whether this node takes files from `sender`'s inbox.
    pub fn serves(&self, sender: &str) -> bool {
        self.senders.as_ref().is_none_or(|s| s.contains(sender))
    }
}

/// The default `[node] lease`.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// The host name, the default node name (`node` if it cannot be read).
fn declared_senders(senders: &[RawSender]) -> BTreeSet<String> {
    senders.iter().map(|s| s.id.get_ref().clone()).collect()
}

pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".to_owned())
}

/// `[http]`: where `kravflyt run` serves `/metrics`, `/healthz` and `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// The address to listen on; `None` (the default): no HTTP server at all.
    pub listen: Option<std::net::SocketAddr>,
    /// `/readyz` fails while a file has been waiting in an inbox longer than this.
    pub ready_max_wait: Duration,
}

/// The default of `[http] ready_max_wait` (or an hour more than the longest `stale_after`, if
/// that is longer): comfortably above the time after which even an incomplete file is taken,
/// so only a daemon that stopped taking files trips it.
pub const DEFAULT_READY_MAX_WAIT: Duration = Duration::from_secs(2 * 3600);

/// The agency itself.
#[derive(Debug, Clone)]
pub struct Agency {
    pub name: String,
    /// Leading digits of every agency reference, so agency references and creditors' own
    /// references are unlikely to look alike.
    pub reference_prefix: String,
    /// The account debtors pay to, per currency, printed on letters.
    pub accounts: BTreeMap<String, String>,
}

/// A creditor the agency collects for.
#[derive(Debug, Clone)]
pub struct Creditor {
    pub id: String,
    pub name: String,
    pub country: Country,
    pub currency: String,
    /// Currencies accepted besides `currency`.
    pub other_currencies: Vec<String>,
    /// The scheme of the creditor's own invoice references.
    pub reference_scheme: Scheme,
    /// Allowed total lengths of its references; empty: any length the scheme allows.
    pub reference_lengths: Vec<usize>,
    pub handover: HandoverStep,
}

impl Creditor {
    /// Whether invoices in `currency` are accepted for this creditor.
    pub fn accepts_currency(&self, currency: &str) -> bool {
        self.currency == currency || self.other_currencies.iter().any(|c| c == currency)
    }
}

/// Which creditors a sender acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActsFor {
    /// The agency's own channels (`*`): every creditor.
    AllCreditors,
    Creditors(BTreeSet<String>),
}

/// One integration endpoint: an inbox, an outbox and the creditors it may act for.
#[derive(Debug, Clone)]
pub struct Sender {
    pub id: String,
    pub acts_for: ActsFor,
    /// The inbound formats this sender may deliver.
    pub reads: Vec<InboundFormat>,
    pub writes: OutboundDialect,
    pub on_invalid_record: OnInvalidRecord,
    pub intake: IntakeRules,
    pub csv: CsvDialect,
}

impl Sender {
    /// Whether the sender may create, read or change data of this creditor.
    pub fn may_act_for(&self, creditor_id: &str) -> bool {
        match &self.acts_for {
            ActsFor::AllCreditors => true,
            ActsFor::Creditors(ids) => ids.contains(creditor_id),
        }
    }
}

/// When a file in an inbox is ready to be taken.
#[derive(Debug, Clone)]
pub struct IntakeRules {
    /// Unchanged size and mtime for this long, measured from when kravflyt first saw them.
    pub quiet_period: Duration,
    /// A quiet file still incomplete by its format's own structure after this long since it
    /// was first seen is rejected as `incomplete_file`.
    pub stale_after: Duration,
    /// How intake tells a finished upload from one still being written (see
    /// [`WriterDetection`]).
    pub writer_detection: WriterDetection,
    pub ignore_patterns: Vec<String>,
    pub ignore: GlobSet,
    pub max_file_bytes: u64,
}

/// How intake tells whether another process still has an inbox file open for writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriterDetection {
    /// Ask the kernel (a read lease), else the daemon's inotify close-write events, else fall
    /// back to the quiet period alone.
    Auto,
    /// The quiet period alone: for file systems where a lease or inotify would answer for this
    /// host only while writers sit on another one (a FUSE or SMB mount of a remote inbox).
    QuietPeriod,
}

impl WriterDetection {
    pub fn as_str(self) -> &'static str {
        match self {
            WriterDetection::Auto => "auto",
            WriterDetection::QuietPeriod => "quiet_period",
        }
    }
}

impl IntakeRules {
    /// Whether a file name is one the sender's uploads use for files still in transit.
    pub fn ignores(&self, file_name: &str) -> bool {
        self.ignore.is_match(file_name)
    }
}

/// Text encodings accepted for CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    /// `windows-1252`; `iso-8859-1` is read the same way, as Nordic exports mean it in practice
    /// (the WHATWG encoding standard maps the label to windows-1252 too).
    Windows1252,
}

impl TextEncoding {
    pub fn as_str(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "utf-8",
            TextEncoding::Windows1252 => "windows-1252",
        }
    }
}

/// Date formats in CSV; both are always read, `date_format` is the one written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateFormat {
    Iso,
    Nordic,
}

impl DateFormat {
    /// The chrono format string.
    pub fn pattern(self) -> &'static str {
        match self {
            DateFormat::Iso => "%Y-%m-%d",
            DateFormat::Nordic => "%d.%m.%Y",
        }
    }
}

/// How one sender writes and reads CSV.
#[derive(Debug, Clone)]
pub struct CsvDialect {
    pub delimiter: u8,
    pub decimal_separator: char,
    pub date_format: DateFormat,
    pub encoding: TextEncoding,
    /// The sender's own column names → canonical names.
    pub columns: BTreeMap<String, String>,
    /// Per canonical column: the sender's values → canonical values.
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    /// Canonical columns the sender's settings give when its files lack them.
    pub fixed: BTreeMap<String, String>,
    /// Columns in the sender's files that are read past without complaint.
    pub ignore_columns: BTreeSet<String>,
}

impl Default for CsvDialect {
    fn default() -> Self {
        CsvDialect {
            delimiter: b';',
            decimal_separator: ',',
            date_format: DateFormat::Iso,
            encoding: TextEncoding::Utf8,
            columns: BTreeMap::new(),
            values: BTreeMap::new(),
            fixed: BTreeMap::new(),
            ignore_columns: BTreeSet::new(),
        }
    }
}

impl Config {
    /// Whether several daemons may share this configuration's database (a PostgreSQL store):
    /// then each is a node with a `work/` folder and a lock of its own (SPEC §10).
    pub fn shared_store(&self) -> bool {
        self.store.url.is_some()
    }

    /// The workspace as this node sees it: `work/<node>/…` and `kravflyt.<node>.lock` with a
    /// shared store, the single node's `work/…` and `kravflyt.lock` otherwise.
    pub fn workspace(&self) -> crate::workspace::Workspace {
        crate::workspace::Workspace::new(&self.var_dir)
            .for_node(self.shared_store().then_some(self.node.name.as_str()))
    }

    /// Reads and checks the configuration at `path`; relative workspace paths resolve against
    /// `data_dir` (the `--data-dir` option) or else the current directory.
    pub fn load(path: &Path, data_dir: Option<&Path>) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                location: path.display().to_string(),
                message: if e.kind() == std::io::ErrorKind::NotFound {
                    format!(
                        "cannot read the configuration: {e}; give its path with --config (or KRAVFLYT_CONFIG), run from the folder that holds config/, or create a workspace with `kravflyt init DIR`"
                    )
                } else {
                    format!("cannot read the configuration: {e}")
                },
            }])
        })?;
        let base = match data_dir {
            Some(dir) => dir.to_path_buf(),
            None => std::env::current_dir().map_err(|e| {
                ConfigErrors(vec![ConfigError {
                    location: path.display().to_string(),
                    message: format!("cannot determine the current directory: {e}"),
                }])
            })?,
        };
        Config::from_toml(&text, path, &base)
    }

    /// Checks configuration text read from `source`; the rule tables it names are read
    /// relative to `source`'s folder.
    pub fn from_toml(text: &str, source: &Path, base: &Path) -> Result<Config, ConfigErrors> {
        let checker = Checker::new(text, source);
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let location = match e.span() {
                Some(span) => checker.location(span.start),
                None => source.display().to_string(),
            };
            ConfigErrors(vec![ConfigError {
                location,
                message: e.message().trim_end().to_owned(),
            }])
        })?;
        checker.check(raw, base)
    }

    /// A sender by id.
    pub fn sender(&self, id: &str) -> Option<&Sender> {
        self.senders.iter().find(|s| s.id == id)
    }

    /// A creditor by organisation number.
    pub fn creditor(&self, id: &str) -> Option<&Creditor> {
        self.creditors.get(id)
    }

    /// The latest day whose daily run is due now: today once the local time has reached
    /// `daily_run_at`, yesterday before that.
    pub fn last_due_run_day(&self) -> chrono::NaiveDate {
        let now = chrono::Utc::now().with_timezone(&self.time_zone);
        let today = now.date_naive();
        if now.time() >= self.daily_run_at {
            today
        } else {
            today.pred_opt().unwrap_or(today)
        }
    }

    /// Today's date in the configured time zone.
    pub fn today(&self) -> chrono::NaiveDate {
        chrono::Utc::now()
            .with_timezone(&self.time_zone)
            .date_naive()
    }
}

/// Turns the raw layer into the typed one, collecting every problem.
struct Checker<'a> {
    text: &'a str,
    source: &'a Path,
    errors: std::cell::RefCell<Vec<ConfigError>>,
}

impl<'a> Checker<'a> {
    fn new(text: &'a str, source: &'a Path) -> Self {
        Checker {
            text,
            source,
            errors: Default::default(),
        }
    }

    fn location(&self, offset: usize) -> String {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!("{}:{line}:{column}", self.source.display())
    }

    fn error_at(&self, offset: usize, message: impl Into<String>) {
        self.errors.borrow_mut().push(ConfigError {
            location: self.location(offset),
            message: message.into(),
        });
    }

    fn error<T>(&self, at: &Spanned<T>, message: impl Into<String>) {
        self.error_at(at.span().start, message);
    }

    fn parse_enum<T: std::str::FromStr<Err = E>, E: std::fmt::Display>(
        &self,
        value: &Spanned<String>,
        key: &str,
    ) -> Option<T> {
        match value.get_ref().parse::<T>() {
            Ok(v) => Some(v),
            Err(e) => {
                self.error(value, format!("{key}: {e}"));
                None
            }
        }
    }

    fn duration(&self, value: &Option<Spanned<String>>, key: &str) -> Option<Duration> {
        let value = value.as_ref()?;
        match humantime::parse_duration(value.get_ref()) {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(
                    value,
                    format!(
                        "{key}: `{}` is not a duration ({e}); write e.g. \"5s\", \"2m\" or \"1h\"",
                        value.get_ref()
                    ),
                );
                None
            }
        }
    }

    fn check(self, raw: RawConfig, base: &Path) -> Result<Config, ConfigErrors> {
        let var_dir = base.join(raw.workspace.var_dir.get_ref());
        let time_zone = match raw.workspace.time_zone.get_ref().parse::<Tz>() {
            Ok(tz) => tz,
            Err(_) => {
                self.error(
                    &raw.workspace.time_zone,
                    format!(
                        "time_zone: `{}` is not an IANA time zone name such as Europe/Oslo, Europe/Stockholm or Europe/Helsinki",
                        raw.workspace.time_zone.get_ref()
                    ),
                );
                Tz::UTC
            }
        };
        let scan_interval = self
            .duration(&raw.workspace.scan_interval, "scan_interval")
            .unwrap_or(Duration::from_secs(2));
        let daily_run_at = match &raw.workspace.daily_run_at {
            None => chrono::NaiveTime::from_hms_opt(6, 0, 0).unwrap_or_default(),
            Some(at) => {
                match chrono::NaiveTime::parse_from_str(at.get_ref(), "%H:%M") {
                    Ok(time) => time,
                    Err(_) => {
                        self.error(at, format!("daily_run_at: `{}` is not a time of day; write HH:MM, e.g. \"06:00\"", at.get_ref()));
                        chrono::NaiveTime::default()
                    }
                }
            }
        };
        if scan_interval.is_zero()
            && let Some(at) = &raw.workspace.scan_interval
        {
            self.error(at, "scan_interval must be more than zero");
        }

        let prefix = raw.agency.reference_prefix.get_ref();
        if prefix.is_empty() || prefix.len() > 4 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            self.error(
                &raw.agency.reference_prefix,
                "reference_prefix must be one to four digits",
            );
        }
        let agency = Agency {
            name: raw.agency.name.clone(),
            reference_prefix: prefix.clone(),
            accounts: raw
                .agency
                .accounts
                .iter()
                .map(|(currency, account)| (currency.clone(), account.get_ref().clone()))
                .collect(),
        };

        let defaults = self.intake_rules(&raw.intake, None);
        let creditors = self.creditors(&raw.creditors);
        // Senders are checked against every declared creditor, valid or not, so one bad
        // creditor does not also produce an error for each sender acting for it.
        let declared: BTreeSet<String> = raw
            .creditors
            .iter()
            .map(|c| c.id.get_ref().clone())
            .collect();
        let senders = raw
            .senders
            .iter()
            .map(|s| self.sender(s, &defaults, &declared))
            .collect::<Vec<_>>();
        for c in &raw.creditors {
            let currency = c.currency.get_ref();
            if !raw.agency.accounts.contains_key(currency) {
                self.error(
                    &c.currency,
                    format!("no [agency.accounts] entry for {currency}: letters to this creditor's debtors need the account to pay to"),
                );
            }
        }
        let mut seen = BTreeSet::new();
        for sender in &raw.senders {
            let id = sender.id.get_ref();
            if !seen.insert(id.clone()) {
                self.error(&sender.id, format!("sender `{id}` is defined twice"));
            }
        }

        let rules_name = raw
            .workspace
            .rules
            .as_ref()
            .map_or(DEFAULT_RULES_FILE.to_owned(), |r| r.get_ref().clone());
        let rules_path = self
            .source
            .parent()
            .unwrap_or(Path::new("."))
            .join(&rules_name);
        let rules = match crate::config::rules::Rules::load(&rules_path) {
            Ok(rules) => Some(rules),
            Err(ConfigErrors(mut problems)) => {
                self.errors.borrow_mut().append(&mut problems);
                None
            }
        };
        let http = self.http(&raw.http, &senders);
        let store = self.store(&raw.store);
        let node = self.node(
            &raw.node,
            &declared_senders(&raw.senders),
            store.url.is_some(),
        );
        let errors = self.errors.into_inner();
        let Some(rules) = rules.filter(|_| errors.is_empty()) else {
            return Err(ConfigErrors(errors));
        };
        Ok(Config {
            source: self.source.to_path_buf(),
            var_dir,
            time_zone,
            scan_interval,
            daily_run_at,
            agency,
            rules,
            creditors,
            senders: senders.into_iter().flatten().collect(),
            http,
            store,
            node,
        })
    }

    fn store(&self, raw: &RawStore) -> StoreSettings {
        let url = raw.url.as_ref().and_then(|url| {
            let text = url.get_ref();
            if text.starts_with("postgresql://") || text.starts_with("postgres://") {
                Some(text.clone())
            } else {
                self.error(
                    url,
                    format!(
                        "url `{}` is not a PostgreSQL URL; write e.g. \"postgresql://kravflyt@db.example/kravflyt?sslmode=verify-full\", or leave [store] out for the embedded database",
                        mask_password(text)
                    ),
                );
                None
            }
        });
        let password_file = raw.password_file.as_ref().map(|p| {
            self.source
                .parent()
                .unwrap_or(Path::new("."))
                .join(p.get_ref())
        });
        if let (Some(at), None) = (&raw.password_file, &raw.url) {
            self.error(
                at,
                "password_file is for a PostgreSQL store: set url too, or remove it".to_owned(),
            );
        }
        StoreSettings { url, password_file }
    }

    fn node(&self, raw: &RawNode, declared: &BTreeSet<String>, shared_store: bool) -> NodeSettings {
        let name = match &raw.name {
            Some(name) => {
                let text = name.get_ref();
                let fits = !text.is_empty()
                    && text.len() <= 64
                    && text
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                    && !text.starts_with('.');
                if !fits {
                    self.error(
                        name,
                        format!("node name `{text}` must be 1–64 letters, digits, `-`, `_` or `.` (it names a folder under work/)"),
                    );
                }
                text.clone()
            }
            None => host_name(),
        };
        let lease = self.duration(&raw.lease, "lease").unwrap_or(DEFAULT_LEASE);
        if let Some(at) = &raw.lease
            && lease < Duration::from_secs(2)
        {
            self.error(
                at,
                "lease must be at least 2s: heartbeats are sent every third of it".to_owned(),
            );
        }
        let senders = raw.senders.as_ref().map(|list| {
            list.iter()
                .filter_map(|s| {
                    if declared.contains(s.get_ref()) {
                        Some(s.get_ref().clone())
                    } else {
                        self.error(
                            s,
                            format!("[node] senders: `{}` is not a [[sender]] id", s.get_ref()),
                        );
                        None
                    }
                })
                .collect()
        });
        if !shared_store && (raw.senders.is_some() || raw.lease.is_some()) {
            let at = raw
                .lease
                .as_ref()
                .or(raw.senders.as_ref().and_then(|s| s.first()));
            if let Some(at) = at {
                self.error(
                    at,
                    "[node] lease and senders are for several daemons on one PostgreSQL store: set [store] url, or remove them".to_owned(),
                );
            }
        }
        NodeSettings {
            name,
            lease,
            senders,
        }
    }

    fn http(&self, raw: &RawHttp, senders: &[Option<Sender>]) -> HttpSettings {
        let listen = raw.listen.as_ref().and_then(|at| {
            match at.get_ref().parse::<std::net::SocketAddr>() {
                Ok(addr) => Some(addr),
                Err(_) => {
                    self.error(
                        at,
                        format!(
                            "listen: `{}` is not an address and port; write e.g. \"127.0.0.1:9187\" (or \"[::1]:9187\")",
                            at.get_ref()
                        ),
                    );
                    None
                }
            }
        });
        let longest_stale = senders
            .iter()
            .flatten()
            .map(|s| s.intake.stale_after)
            .max()
            .unwrap_or_default();
        let ready_max_wait = self
            .duration(&raw.ready_max_wait, "ready_max_wait")
            .unwrap_or(DEFAULT_READY_MAX_WAIT.max(longest_stale + Duration::from_secs(3600)));
        // A file that is incomplete by its own structure waits, rightly, until `stale_after`:
        // a shorter limit would make a healthy daemon unready during every slow upload.
        if let Some(at) = &raw.ready_max_wait
            && let Some(sender) = senders
                .iter()
                .flatten()
                .filter(|s| s.intake.stale_after >= ready_max_wait)
                .max_by_key(|s| s.intake.stale_after)
        {
            self.error(
                at,
                format!(
                    "ready_max_wait must be longer than stale_after ({} for sender `{}`): files may rightly wait that long",
                    humantime::format_duration(sender.intake.stale_after),
                    sender.id
                ),
            );
        }
        HttpSettings {
            listen,
            ready_max_wait,
        }
    }

    fn intake_rules(&self, raw: &RawIntake, defaults: Option<&IntakeRules>) -> IntakeRules {
        let quiet_period = self
            .duration(&raw.quiet_period, "quiet_period")
            .or(defaults.map(|d| d.quiet_period))
            .unwrap_or(Duration::from_secs(5));
        let stale_after = self
            .duration(&raw.stale_after, "stale_after")
            .or(defaults.map(|d| d.stale_after))
            .unwrap_or(Duration::from_secs(3600));
        let writer_detection = match &raw.writer_detection {
            Some(value) => match value.get_ref().as_str() {
                "auto" => WriterDetection::Auto,
                "quiet_period" => WriterDetection::QuietPeriod,
                other => {
                    self.error(
                        value,
                        format!(
                            "writer_detection `{other}` is not known: use \"auto\" (kernel lease, then inotify, then the quiet period) or \"quiet_period\""
                        ),
                    );
                    WriterDetection::Auto
                }
            },
            None => defaults.map_or(WriterDetection::Auto, |d| d.writer_detection),
        };
        let max_file_bytes = raw
            .max_file_bytes
            .as_ref()
            .map(|m| *m.get_ref())
            .or(defaults.map(|d| d.max_file_bytes))
            .unwrap_or(512 * 1024 * 1024);
        let patterns: Vec<String> = match (&raw.ignore, defaults) {
            (Some(list), _) => list.iter().map(|p| p.get_ref().clone()).collect(),
            (None, Some(d)) => d.ignore_patterns.clone(),
            (None, None) => DEFAULT_IGNORE.iter().map(|p| p.to_string()).collect(),
        };
        let mut builder = GlobSetBuilder::new();
        for (i, pattern) in patterns.iter().enumerate() {
            match Glob::new(pattern) {
                Ok(glob) => {
                    builder.add(glob);
                }
                Err(e) => match raw.ignore.as_ref().and_then(|l| l.get(i)) {
                    Some(at) => self.error(at, format!("ignore pattern `{pattern}`: {e}")),
                    None => self.error_at(0, format!("ignore pattern `{pattern}`: {e}")),
                },
            }
        }
        let ignore = builder.build().unwrap_or_else(|_| GlobSet::empty());
        IntakeRules {
            quiet_period,
            stale_after,
            writer_detection,
            ignore_patterns: patterns,
            ignore,
            max_file_bytes,
        }
    }

    fn creditors(&self, raw: &[RawCreditor]) -> BTreeMap<String, Creditor> {
        let mut out = BTreeMap::new();
        for c in raw {
            let id = c.id.get_ref().clone();
            let country = self.parse_enum::<Country, _>(&c.country, "country");
            let scheme = self.parse_enum::<Scheme, _>(&c.reference_scheme, "reference_scheme");
            let handover = self.parse_enum::<HandoverStep, _>(&c.handover, "handover");
            if let Some(country) = country
                && let Err(e) = crate::identifiers::check_organisation_number(country.as_str(), &id)
            {
                self.error(&c.id, format!("creditor id `{id}`: {e}"));
            }
            if let Some(country) = country
                && c.currency.get_ref() != country.home_currency()
            {
                self.error(
                    &c.currency,
                    format!(
                        "a creditor in {country} invoices in {}; list other currencies in other_currencies",
                        country.home_currency()
                    ),
                );
            }
            for currency in std::iter::once(&c.currency).chain(&c.other_currencies) {
                let code = currency.get_ref();
                if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                    self.error(
                        currency,
                        format!("`{code}` is not an ISO 4217 currency code"),
                    );
                }
            }
            if let Some(scheme) = scheme {
                let (min, max) = scheme.length_bounds();
                for len in &c.reference_lengths {
                    if !(min..=max).contains(len.get_ref()) {
                        self.error(
                            len,
                            format!(
                                "reference length {} is outside {min} to {max}, what {scheme} allows",
                                len.get_ref()
                            ),
                        );
                    }
                }
            }
            if out.contains_key(&id) {
                self.error(&c.id, format!("creditor `{id}` is defined twice"));
                continue;
            }
            if let (Some(country), Some(reference_scheme), Some(handover)) =
                (country, scheme, handover)
            {
                out.insert(
                    id.clone(),
                    Creditor {
                        id,
                        name: c.name.clone(),
                        country,
                        currency: c.currency.get_ref().clone(),
                        other_currencies: c
                            .other_currencies
                            .iter()
                            .map(|s| s.get_ref().clone())
                            .collect(),
                        reference_scheme,
                        reference_lengths: c
                            .reference_lengths
                            .iter()
                            .map(|l| *l.get_ref())
                            .collect(),
                        handover,
                    },
                );
            }
        }
        out
    }

    fn sender(
        &self,
        raw: &RawSender,
        defaults: &IntakeRules,
        creditors: &BTreeSet<String>,
    ) -> Option<Sender> {
        let id = raw.id.get_ref().clone();
        let id_ok = !id.is_empty()
            && id != "_agency"
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !id_ok {
            self.error(
                &raw.id,
                format!("sender id `{id}` must be lowercase letters, digits, `-` or `_` (it names folders), and not `_agency`"),
            );
        }
        let acts_for = if raw.acts_for.get_ref().iter().any(|c| c.get_ref() == "*") {
            if raw.acts_for.get_ref().len() > 1 {
                self.error(
                    &raw.acts_for,
                    "acts_for is either [\"*\"] or a list of creditor ids, not both",
                );
            }
            ActsFor::AllCreditors
        } else {
            let mut set = BTreeSet::new();
            for c in raw.acts_for.get_ref() {
                if !creditors.contains(c.get_ref()) {
                    self.error(
                        c,
                        format!(
                            "sender `{id}` acts for creditor `{}`, which no [[creditor]] defines",
                            c.get_ref()
                        ),
                    );
                }
                set.insert(c.get_ref().clone());
            }
            if set.is_empty() {
                self.error(&raw.acts_for, format!("sender `{id}` acts for no creditor"));
            }
            ActsFor::Creditors(set)
        };
        let reads: Vec<InboundFormat> = raw
            .reads
            .get_ref()
            .iter()
            .filter_map(|f| self.parse_enum::<InboundFormat, _>(f, "reads"))
            .collect();
        if raw.reads.get_ref().is_empty() {
            self.error(&raw.reads, format!("sender `{id}` reads no format"));
        }
        let writes = match &raw.writes {
            Some(w) => self.parse_enum::<OutboundDialect, _>(w, "writes")?,
            None => OutboundDialect::Csv,
        };
        let on_invalid_record = match &raw.on_invalid_record {
            Some(v) => self.parse_enum::<OnInvalidRecord, _>(v, "on_invalid_record")?,
            None => OnInvalidRecord::Skip,
        };
        let intake = self.intake_rules(&raw.intake, Some(defaults));
        let csv = self.csv_dialect(&raw.csv, &id);
        Some(Sender {
            id,
            acts_for,
            reads,
            writes,
            on_invalid_record,
            intake,
            csv,
        })
    }

    fn csv_dialect(&self, raw: &RawCsv, sender: &str) -> CsvDialect {
        let mut dialect = CsvDialect::default();
        if let Some(d) = &raw.delimiter {
            match d.get_ref().as_bytes() {
                [b] if matches!(b, b';' | b',' | b'\t' | b'|') => dialect.delimiter = *b,
                _ => self.error(d, "delimiter must be one of \";\", \",\", \"\\t\" or \"|\""),
            }
        }
        if let Some(d) = &raw.decimal_separator {
            match d.get_ref().as_str() {
                "," => dialect.decimal_separator = ',',
                "." => dialect.decimal_separator = '.',
                _ => self.error(d, "decimal_separator must be \",\" or \".\""),
            }
        }
        if dialect.decimal_separator == char::from(dialect.delimiter)
            && let Some(d) = &raw.decimal_separator
        {
            self.error(d, "decimal_separator cannot be the same as the delimiter");
        }
        if let Some(d) = &raw.date_format {
            match d.get_ref().as_str() {
                "YYYY-MM-DD" => dialect.date_format = DateFormat::Iso,
                "DD.MM.YYYY" => dialect.date_format = DateFormat::Nordic,
                _ => self.error(d, "date_format must be \"YYYY-MM-DD\" or \"DD.MM.YYYY\""),
            }
        }
        if let Some(e) = &raw.encoding {
            match e.get_ref().to_ascii_lowercase().as_str() {
                "utf-8" | "utf8" => dialect.encoding = TextEncoding::Utf8,
                "windows-1252" | "cp1252" | "iso-8859-1" | "latin1" => {
                    dialect.encoding = TextEncoding::Windows1252
                }
                _ => self.error(
                    e,
                    "encoding must be \"utf-8\", \"windows-1252\" or \"iso-8859-1\"",
                ),
            }
        }
        for (native, canonical) in &raw.columns {
            if !columns::is_canonical(canonical.get_ref()) {
                self.error(
                    canonical,
                    format!("sender `{sender}` maps column `{native}` onto `{}`, which is not a canonical column", canonical.get_ref()),
                );
            }
            dialect
                .columns
                .insert(native.clone(), canonical.get_ref().clone());
        }
        for (canonical, value) in &raw.fixed {
            if !columns::is_canonical(canonical) {
                self.error(
                    value,
                    format!(
                        "sender `{sender}` fixes `{canonical}`, which is not a canonical column"
                    ),
                );
            }
            dialect
                .fixed
                .insert(canonical.clone(), value.get_ref().clone());
        }
        for (canonical, mapping) in &raw.values {
            if !columns::is_canonical(canonical) {
                self.error(
                    mapping,
                    format!("sender `{sender}` maps values of `{canonical}`, which is not a canonical column"),
                );
            }
            dialect
                .values
                .insert(canonical.clone(), mapping.get_ref().clone());
        }
        dialect.ignore_columns = raw.ignore_columns.iter().cloned().collect();
        // A mapping that sends two native columns to one canonical column would make a row
        // ambiguous.
        let mut targets = BTreeMap::new();
        for (native, canonical) in &raw.columns {
            if let Some(first) = targets.insert(canonical.get_ref().clone(), native.clone()) {
                self.error(
                    canonical,
                    format!(
                        "columns `{first}` and `{native}` are both mapped onto `{}`",
                        canonical.get_ref()
                    ),
                );
            }
        }
        dialect
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/kravflyt.toml"))
            .unwrap()
    }

    fn check(text: &str) -> Result<Config, ConfigErrors> {
        // The shipped folder, so the shipped rule tables are found beside it.
        let source = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config/kravflyt.toml"));
        Config::from_toml(text, source, Path::new("/data"))
    }

    #[test]
    fn the_shipped_configuration_is_valid_and_has_the_sample_tenants() {
        let config = check(&shipped()).unwrap();
        let senders: Vec<_> = config.senders.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            senders,
            [
                "nordlys",
                "fjellstua",
                "kvarnby",
                "revontuli",
                "bank",
                "desk"
            ]
        );
        let creditors: Vec<_> = config.creditors.keys().map(String::as_str).collect();
        assert_eq!(
            creditors,
            ["2345678-0", "5566778899", "923609016", "987654325"]
        );
        assert_eq!(config.var_dir, Path::new("/data/var"));
        let fjellstua = config.sender("fjellstua").unwrap();
        assert_eq!(fjellstua.csv.encoding, TextEncoding::Windows1252);
        assert_eq!(
            fjellstua.csv.columns.get("Fakturanr").map(String::as_str),
            Some("invoice_no")
        );
        assert!(fjellstua.may_act_for("987654325"));
        assert!(!fjellstua.may_act_for("923609016"));
        assert!(config.sender("bank").unwrap().may_act_for("923609016"));
        assert!(fjellstua.intake.ignores("upload.csv.filepart"));
        assert!(fjellstua.intake.ignores(".hidden.csv"));
        assert!(!fjellstua.intake.ignores("eksport.csv"));
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_line() {
        let text = shipped().replacen("[workspace]\n", "[workspace]\ncolour = \"blue\"\n", 1);
        let errors = check(&text).unwrap_err().0;
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].message.contains("unknown field `colour`"),
            "{errors:?}"
        );
        let line = text.lines().position(|l| l.starts_with("colour")).unwrap() + 1;
        assert!(
            errors[0]
                .location
                .ends_with(&format!("kravflyt.toml:{line}:1")),
            "{errors:?}"
        );
    }

    #[test]
    fn every_semantic_problem_is_listed_with_its_location() {
        let text = shipped()
            .replacen("country = \"NO\"", "country = \"DK\"", 1)
            .replacen("handover = \"notice\"", "handover = \"legal\"", 1)
            .replacen(
                "acts_for = [\"987654325\"]",
                "acts_for = [\"987654320\"]",
                1,
            )
            .replacen(
                "time_zone = \"Europe/Oslo\"",
                "time_zone = \"Europe/Bergen\"",
                1,
            );
        let errors = check(&text).unwrap_err().0;
        let messages: Vec<_> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(errors.len(), 4, "{messages:#?}");
        assert!(
            messages
                .iter()
                .any(|m| m.contains("country: `DK` is not one of NO, SE, FI"))
        );
        assert!(messages.iter().any(|m| m.contains("handover: `legal`")));
        assert!(
            messages
                .iter()
                .any(|m| m.contains("`987654320`, which no [[creditor]] defines"))
        );
        assert!(messages.iter().any(|m| m.starts_with("time_zone:")));
        assert!(errors.iter().all(|e| e.location.contains("kravflyt.toml:")));
    }

    #[test]
    fn http_is_off_by_default_and_its_settings_are_checked() {
        let off = check(&shipped()).unwrap();
        assert_eq!(off.http.listen, None);
        assert_eq!(off.http.ready_max_wait, DEFAULT_READY_MAX_WAIT);

        let on = check(&format!(
            "{}\n[http]\nlisten = \"[::1]:9187\"\nready_max_wait = \"90m\"\n",
            shipped()
        ))
        .unwrap();
        assert_eq!(on.http.listen, Some("[::1]:9187".parse().unwrap()));
        assert_eq!(on.http.ready_max_wait, Duration::from_secs(90 * 60));

        // A longer stale_after moves the default past it.
        let slow =
            check(&shipped().replacen("stale_after = \"1h\"", "stale_after = \"3h\"", 1)).unwrap();
        assert_eq!(slow.http.ready_max_wait, Duration::from_secs(4 * 3600));

        let text = format!(
            "{}\n[http]\nlisten = \"9187\"\nready_max_wait = \"10m\"\n",
            shipped()
        );
        let errors = check(&text).unwrap_err().0;
        let messages: Vec<_> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(errors.len(), 2, "{messages:#?}");
        assert!(messages[0].starts_with("listen: `9187` is not an address and port"));
        assert!(messages[1].starts_with("ready_max_wait must be longer than stale_after (1h"));
        let line = text.lines().position(|l| l.starts_with("listen")).unwrap() + 1;
        assert!(
            errors[0]
                .location
                .ends_with(&format!("kravflyt.toml:{line}:10")),
            "{errors:?}"
        );
    }

    #[test]
    fn a_creditor_id_must_carry_a_valid_check_digit() {
        let text = shipped().replacen("id = \"923609016\"", "id = \"923609017\"", 1);
        let errors = check(&text).unwrap_err().0;
        assert!(
            errors
                .iter()
                .any(|e| e.message.starts_with("creditor id `923609017`")),
            "{errors:?}"
        );
    }
}
