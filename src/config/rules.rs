//! The legal rule tables per country: fees, collection fee bands, interest rates, minimum days and allocation order, dated and with their sources.
//!
//! `config/rules.toml` (described key by key in `docs/rules.md`) is read in two layers, like
//! [`crate::config`]: a raw layer that mirrors the TOML (unknown keys rejected, values kept as
//! spanned text) and the typed [`Rules`], built only when every check passed. Checking
//! collects every problem with its `file:line:column`.
//!
//! Every table is a list of entries with a `valid_from` date; an entry applies until the next
//! entry of the same table (and the same step, level or debtor type). Lookups take the country
//! and the date, and answer with the entry in force that day. No legal figure lives in this
//! file: they are all in the TOML, with their sources.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use toml::Spanned;

use crate::config::interest::{self, DayCount, InterestError, RatePeriod};
use crate::config::{ConfigError, ConfigErrors};
use crate::domain::{Component, Country, DebtorType, HandoverStep};
use crate::money;

/// The default rules path, relative to the working directory.
pub const DEFAULT_RULES_PATH: &str = "config/rules.toml";

/// Most decimals a rate may have: finer than any published rate, coarse enough that interest
/// numerators stay exact.
const RATE_DECIMALS: u32 = 4;
/// Most decimals of a multiple of the base amount.
const FACTOR_DECIMALS: u32 = 6;
/// Longest period in days a rule may name (ten years): anything longer is a typing mistake.
const MAX_DAYS: i64 = 3650;
/// Most fee-bearing letters a rule may allow per step.
const MAX_LETTERS: i64 = 100;

// ---------------------------------------------------------------------------------------------
// Public vocabulary of the tables.

/// The two levels of a collection fee (Norwegian salær: light, and heavy once the demand's
/// deadline is long past).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CollectionLevel {
    Light,
    Heavy,
}

impl CollectionLevel {
    /// Every level, in order.
    pub const ALL: &'static [CollectionLevel] = &[CollectionLevel::Light, CollectionLevel::Heavy];

    /// The text form used in `config/rules.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            CollectionLevel::Light => "light",
            CollectionLevel::Heavy => "heavy",
        }
    }
}

impl fmt::Display for CollectionLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for CollectionLevel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CollectionLevel::ALL
            .iter()
            .copied()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not one of light, heavy"))
    }
}

/// The day counts of a country's procedure, in days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Days {
    /// Days after the due date before the first fee-bearing letter may be sent.
    pub first_letter_after_due: u32,
    /// Payment deadline of a reminder, counted from the day it is sent.
    pub reminder_deadline: u32,
    /// Payment deadline of a collection notice.
    pub notice_deadline: u32,
    /// Payment deadline of a payment demand; when it has passed, the case is in collection.
    pub demand_deadline: u32,
    /// Days past the demand's deadline after which the heavy collection fee applies (it
    /// applies from the day after the deadline plus this many days); `None` where the country
    /// has no heavy level.
    pub light_to_heavy: Option<u32>,
    /// Days the creditor has to answer a dispute.
    pub dispute_reply: u32,
}

impl Days {
    /// The payment deadline of a letter of this step.
    pub fn deadline(&self, step: HandoverStep) -> u32 {
        match step {
            HandoverStep::Reminder => self.reminder_deadline,
            HandoverStep::Notice => self.notice_deadline,
            HandoverStep::Demand => self.demand_deadline,
        }
    }
}

/// A fee to post: its amount and the balance component it belongs to (the creditor's `fee`, or
/// the agency's `collection_cost`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    pub amount_minor: i64,
    pub component: Component,
}

/// A lookup the tables cannot answer. The shipped tables are checked at load, so in practice
/// this is a date before the tables start ([`Rules::covers_from`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("the {table} rules for {country} start on {starts}; none apply on {date}")]
    BeforeStart {
        country: Country,
        table: &'static str,
        date: NaiveDate,
        starts: NaiveDate,
    },
    #[error("{country} has no {table} rules")]
    Missing {
        country: Country,
        table: &'static str,
    },
    #[error("the {table} amount for {country} on {date} is not a whole number of minor units")]
    NotWholeMinorUnits {
        country: Country,
        table: &'static str,
        date: NaiveDate,
    },
    #[error(transparent)]
    Interest(#[from] InterestError),
}

// ---------------------------------------------------------------------------------------------
// The typed tables.

/// A table of dated entries, ascending by their first day.
#[derive(Debug, Clone)]
struct Series<T> {
    entries: Vec<(NaiveDate, T)>,
}

impl<T> Series<T> {
    fn start(&self) -> Option<NaiveDate> {
        self.entries.first().map(|(from, _)| *from)
    }

    /// The entry in force on `date`.
    fn at(&self, date: NaiveDate) -> Option<&T> {
        let after = self.entries.partition_point(|(from, _)| *from <= date);
        let index = after.checked_sub(1)?;
        self.entries.get(index).map(|(_, value)| value)
    }

    /// The entry in force on `date`, or why there is none.
    fn lookup(
        &self,
        country: Country,
        table: &'static str,
        date: NaiveDate,
    ) -> Result<&T, RuleError> {
        match (self.at(date), self.start()) {
            (Some(value), _) => Ok(value),
            (None, Some(starts)) => Err(RuleError::BeforeStart {
                country,
                table,
                date,
                starts,
            }),
            (None, None) => Err(RuleError::Missing { country, table }),
        }
    }
}

/// Annual late-payment rates in percent.
#[derive(Debug, Clone, Copy)]
struct Rates {
    person: Decimal,
    business: Decimal,
}

/// An amount as the table states it.
#[derive(Debug, Clone, Copy)]
enum Value {
    /// A fixed amount in minor units.
    Minor(i64),
    /// A multiple of the base amount in force on the day.
    TimesBase(Decimal),
}

/// One band of a banded amount: applies to principals up to and including `up_to_minor` (the
/// last band has none and takes everything above).
#[derive(Debug, Clone, Copy)]
struct Band {
    up_to_minor: Option<i64>,
    value: Value,
}

/// The fee of one step for one debtor type.
#[derive(Debug, Clone)]
struct FeeRule {
    component: Component,
    /// A flat fee is a single band without `up_to`.
    bands: Vec<Band>,
}

/// Allocation orders per debtor type.
#[derive(Debug, Clone, Copy)]
struct Allocation {
    person: [Component; 4],
    business: [Component; 4],
}

/// Fee-bearing letters allowed per step.
#[derive(Debug, Clone, Copy)]
struct FeeLetters {
    reminder: u32,
    notice: u32,
    demand: u32,
}

/// One country's tables.
#[derive(Debug, Clone)]
struct CountryRules {
    day_count: DayCount,
    base_amount: Series<Decimal>,
    interest: Series<Rates>,
    fees: BTreeMap<(HandoverStep, DebtorType), Series<FeeRule>>,
    collection_fees: BTreeMap<(CollectionLevel, DebtorType), Series<Vec<Band>>>,
    days: Series<Days>,
    allocation: Series<Allocation>,
    fee_letters: Series<FeeLetters>,
}

/// The checked rule tables of every country.
#[derive(Debug, Clone)]
pub struct Rules {
    /// The file they were read from.
    pub source: PathBuf,
    covers_from: NaiveDate,
    no: CountryRules,
    se: CountryRules,
    fi: CountryRules,
}

impl Rules {
    /// Reads and checks the rule tables at `path`.
    pub fn load(path: &Path) -> Result<Rules, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                location: path.display().to_string(),
                message: format!("cannot read the rule tables: {e}"),
            }])
        })?;
        Rules::from_toml(&text, path)
    }

    /// Checks rule table text; `source` is only used in error locations.
    pub fn from_toml(text: &str, source: &Path) -> Result<Rules, ConfigErrors> {
        let checker = Checker::new(text, source);
        let raw: RawRules = toml::from_str(text).map_err(|e| {
            let location = match e.span() {
                Some(span) => checker.location(span.start),
                None => source.display().to_string(),
            };
            ConfigErrors(vec![ConfigError {
                location,
                message: e.message().trim_end().to_owned(),
            }])
        })?;
        checker.check(raw)
    }

    /// The first day every table covers; lookups before it are errors.
    pub fn covers_from(&self) -> NaiveDate {
        self.covers_from
    }

    /// How the country divides an annual rate into days.
    pub fn day_count(&self, country: Country) -> DayCount {
        self.country(country).day_count
    }

    /// The annual late-payment rate in percent on `date`.
    pub fn interest_rate(
        &self,
        country: Country,
        debtor: DebtorType,
        date: NaiveDate,
    ) -> Result<Decimal, RuleError> {
        let rates = self
            .country(country)
            .interest
            .lookup(country, "interest", date)?;
        Ok(rate_for(rates, debtor))
    }

    /// The stretches of constant rate covering the days `from..=to` (empty when `to < from`),
    /// in order, as [`interest::accrued`] takes them.
    pub fn rate_periods(
        &self,
        country: Country,
        debtor: DebtorType,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<RatePeriod>, RuleError> {
        if to < from {
            return Ok(Vec::new());
        }
        let series = &self.country(country).interest;
        // Fails for a `from` before the table starts.
        series.lookup(country, "interest", from)?;
        let mut periods = Vec::new();
        for (i, (start, rates)) in series.entries.iter().enumerate() {
            let last = match series.entries.get(i + 1) {
                Some((next, _)) => match next.pred_opt() {
                    Some(day) => day,
                    None => continue,
                },
                None => NaiveDate::MAX,
            };
            let first = (*start).max(from);
            let last = last.min(to);
            if first <= last {
                periods.push((first, last, rate_for(rates, debtor)));
            }
        }
        Ok(periods)
    }

    /// Late-payment interest in minor units, unrounded, over a principal that moves (see
    /// [`interest::accrued_on_balance`]) for the days after `from` up to and including `to`.
    pub fn interest_on_balance(
        &self,
        country: Country,
        debtor: DebtorType,
        changes: &[(NaiveDate, i64)],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Decimal, RuleError> {
        // Rates are needed only from the day after the first change: before it nothing is owed,
        // and an old `from` must not fail for days without principal.
        let Some(first_change) = changes.iter().map(|(date, _)| *date).min() else {
            return Ok(Decimal::ZERO);
        };
        let start = first_change.max(from);
        let Some(first_day) = start.succ_opt() else {
            return Ok(Decimal::ZERO);
        };
        let periods = self.rate_periods(country, debtor, first_day, to)?;
        let day_count = self.day_count(country);
        Ok(interest::accrued_on_balance(
            changes, from, to, &periods, day_count,
        )?)
    }

    /// The fee of a letter of `step`, for a principal of `principal_minor` (banded fees
    /// depend on it), in force on `date`.
    pub fn fee(
        &self,
        country: Country,
        step: HandoverStep,
        debtor: DebtorType,
        principal_minor: i64,
        date: NaiveDate,
    ) -> Result<Charge, RuleError> {
        let rules = self.country(country);
        let rule = rules
            .fees
            .get(&(step, debtor))
            .ok_or(RuleError::Missing {
                country,
                table: "fee",
            })?
            .lookup(country, "fee", date)?;
        let amount_minor = rules.banded(country, "fee", &rule.bands, principal_minor, date)?;
        Ok(Charge {
            amount_minor,
            component: rule.component,
        })
    }

    /// Whether the country charges collection fees (Norway's salær); where not,
    /// [`Rules::collection_fee`] is always zero.
    pub fn has_collection_fees(&self, country: Country) -> bool {
        !self.country(country).collection_fees.is_empty()
    }

    /// The collection fee (posted as `collection_cost`) at `level` for a claim of
    /// `principal_minor`, in force on `date`; zero for a country without collection fees.
    pub fn collection_fee(
        &self,
        country: Country,
        level: CollectionLevel,
        debtor: DebtorType,
        principal_minor: i64,
        date: NaiveDate,
    ) -> Result<i64, RuleError> {
        let rules = self.country(country);
        if rules.collection_fees.is_empty() {
            return Ok(0);
        }
        let bands = rules
            .collection_fees
            .get(&(level, debtor))
            .ok_or(RuleError::Missing {
                country,
                table: "collection_fee",
            })?
            .lookup(country, "collection_fee", date)?;
        rules.banded(country, "collection_fee", bands, principal_minor, date)
    }

    /// The procedure's day counts in force on `date`.
    pub fn days(&self, country: Country, date: NaiveDate) -> Result<Days, RuleError> {
        self.country(country)
            .days
            .lookup(country, "days", date)
            .copied()
    }

    /// The order a payment is spread over the balance components, first to last.
    pub fn allocation_order(
        &self,
        country: Country,
        debtor: DebtorType,
        date: NaiveDate,
    ) -> Result<[Component; 4], RuleError> {
        let allocation = self
            .country(country)
            .allocation
            .lookup(country, "allocation", date)?;
        Ok(match debtor {
            DebtorType::Person => allocation.person,
            DebtorType::Business => allocation.business,
        })
    }

    /// How many letters of `step` may carry a fee on one case.
    pub fn max_fee_letters(
        &self,
        country: Country,
        step: HandoverStep,
        date: NaiveDate,
    ) -> Result<u32, RuleError> {
        let letters = self
            .country(country)
            .fee_letters
            .lookup(country, "fee_letters", date)?;
        Ok(match step {
            HandoverStep::Reminder => letters.reminder,
            HandoverStep::Notice => letters.notice,
            HandoverStep::Demand => letters.demand,
        })
    }

    fn country(&self, country: Country) -> &CountryRules {
        match country {
            Country::No => &self.no,
            Country::Se => &self.se,
            Country::Fi => &self.fi,
        }
    }
}

fn rate_for(rates: &Rates, debtor: DebtorType) -> Decimal {
    match debtor {
        DebtorType::Person => rates.person,
        DebtorType::Business => rates.business,
    }
}

impl CountryRules {
    /// The amount of the band that `principal_minor` falls in. A principal of zero or less
    /// falls in the first band.
    fn banded(
        &self,
        country: Country,
        table: &'static str,
        bands: &[Band],
        principal_minor: i64,
        date: NaiveDate,
    ) -> Result<i64, RuleError> {
        let band = bands
            .iter()
            .find(|b| b.up_to_minor.is_none_or(|up_to| principal_minor <= up_to))
            .ok_or(RuleError::Missing { country, table })?;
        match band.value {
            Value::Minor(minor) => Ok(minor),
            Value::TimesBase(factor) => {
                let base = self.base_amount.lookup(country, "base_amount", date)?;
                base.checked_mul(factor).and_then(money::to_minor).ok_or(
                    RuleError::NotWholeMinorUnits {
                        country,
                        table,
                        date,
                    },
                )
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The raw layer: exactly the TOML.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    covers_from: Spanned<String>,
    #[serde(rename = "NO")]
    no: Spanned<RawCountry>,
    #[serde(rename = "SE")]
    se: Spanned<RawCountry>,
    #[serde(rename = "FI")]
    fi: Spanned<RawCountry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCountry {
    day_count: Spanned<String>,
    #[serde(default)]
    base_amount: Vec<RawBaseAmount>,
    #[serde(default)]
    interest: Vec<RawInterest>,
    #[serde(default)]
    fee: Vec<RawFee>,
    #[serde(default)]
    collection_fee: Vec<RawCollectionFee>,
    #[serde(default)]
    days: Vec<RawDays>,
    #[serde(default)]
    allocation: Vec<RawAllocation>,
    #[serde(default)]
    fee_letters: Vec<RawFeeLetters>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBaseAmount {
    valid_from: Spanned<String>,
    amount: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInterest {
    valid_from: Spanned<String>,
    person: Spanned<String>,
    business: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFee {
    valid_from: Spanned<String>,
    step: Spanned<String>,
    debtor: Option<Spanned<String>>,
    posts_to: Spanned<String>,
    amount: Option<Spanned<String>>,
    times_base: Option<Spanned<String>>,
    bands: Option<Spanned<Vec<Spanned<RawBand>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCollectionFee {
    valid_from: Spanned<String>,
    level: Spanned<String>,
    debtor: Option<Spanned<String>>,
    bands: Spanned<Vec<Spanned<RawBand>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBand {
    up_to: Option<Spanned<String>>,
    amount: Option<Spanned<String>>,
    times_base: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDays {
    valid_from: Spanned<String>,
    first_letter_after_due: Spanned<i64>,
    reminder_deadline: Spanned<i64>,
    notice_deadline: Spanned<i64>,
    demand_deadline: Spanned<i64>,
    light_to_heavy: Option<Spanned<i64>>,
    dispute_reply: Spanned<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllocation {
    valid_from: Spanned<String>,
    person: Spanned<Vec<Spanned<String>>>,
    business: Spanned<Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeeLetters {
    valid_from: Spanned<String>,
    reminder: Spanned<i64>,
    notice: Spanned<i64>,
    demand: Spanned<i64>,
}

// ---------------------------------------------------------------------------------------------
// Checking.

/// Multiples of the base amount in a table entry, each with the offset it was written at.
type Factors = Vec<(Decimal, usize)>;

/// Series per key, each entry with its multiples of the base amount (same index).
type Grouped<K, T> = BTreeMap<K, (Series<T>, Vec<Factors>)>;

/// One parsed entry of a table, still with where it came from.
struct Row<K, T> {
    key: K,
    from: NaiveDate,
    /// Offset of the entry's `valid_from`, for errors about its place in the table.
    at: usize,
    value: T,
    /// Multiples of the base amount in the entry, with their offsets.
    factors: Factors,
}

/// Turns the raw layer into the typed one, collecting every problem.
struct Checker<'a> {
    text: &'a str,
    source: &'a Path,
    /// Problems with the offset they were found at, so they can be listed in file order.
    errors: RefCell<Vec<(usize, ConfigError)>>,
}

impl<'a> Checker<'a> {
    fn new(text: &'a str, source: &'a Path) -> Self {
        Checker {
            text,
            source,
            errors: RefCell::default(),
        }
    }

    fn location(&self, offset: usize) -> String {
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!("{}:{line}:{column}", self.source.display())
    }

    fn error_at(&self, offset: usize, message: impl Into<String>) {
        let error = ConfigError {
            location: self.location(offset),
            message: message.into(),
        };
        self.errors.borrow_mut().push((offset, error));
    }

    fn error<T>(&self, at: &Spanned<T>, message: impl Into<String>) {
        self.error_at(at.span().start, message);
    }

    fn check(self, raw: RawRules) -> Result<Rules, ConfigErrors> {
        let covers_from = self.date(&raw.covers_from, "covers_from");
        let countries = covers_from.map(|start| {
            (
                self.country(Country::No, &raw.no, start),
                self.country(Country::Se, &raw.se, start),
                self.country(Country::Fi, &raw.fi, start),
            )
        });
        let mut found = self.errors.into_inner();
        found.sort_by_key(|(offset, _)| *offset);
        let mut errors: Vec<ConfigError> = Vec::new();
        // An entry written for both debtor types reports a problem once, not twice.
        for (_, e) in found {
            if !errors.contains(&e) {
                errors.push(e);
            }
        }
        if errors.is_empty() && !matches!(countries, Some((Some(_), Some(_), Some(_)))) {
            errors.push(ConfigError {
                location: self.source.display().to_string(),
                message: "the rule tables are incomplete".to_owned(),
            });
        }
        match (covers_from, countries) {
            (Some(covers_from), Some((Some(no), Some(se), Some(fi)))) if errors.is_empty() => {
                Ok(Rules {
                    source: self.source.to_path_buf(),
                    covers_from,
                    no,
                    se,
                    fi,
                })
            }
            _ => Err(ConfigErrors(errors)),
        }
    }

    fn country(
        &self,
        country: Country,
        raw: &Spanned<RawCountry>,
        covers_from: NaiveDate,
    ) -> Option<CountryRules> {
        // Problems of the country as a whole point at its `[XX]` header.
        let header = format!("[{country}]");
        let at = self
            .text
            .find(&format!("\n{header}"))
            .map_or(raw.span().start, |i| i + 1);
        let raw = raw.get_ref();
        let day_count = self.parse::<DayCount>(&raw.day_count, "day_count");

        let base_rows: Vec<Row<(), Decimal>> = raw
            .base_amount
            .iter()
            .filter_map(|r| {
                let from = self.date(&r.valid_from, "valid_from");
                let amount = self.amount(&r.amount, "amount");
                Some(row((), from?, &r.valid_from, amount?))
            })
            .collect();
        let base_amount = self
            .series(country, "base_amount", covers_from, base_rows, false)
            .remove(&())
            .map(|(series, _)| series)
            .unwrap_or(Series {
                entries: Vec::new(),
            });

        let interest_rows: Vec<Row<(), Rates>> = raw
            .interest
            .iter()
            .filter_map(|r| {
                let from = self.date(&r.valid_from, "valid_from");
                let person = self.rate(&r.person, "person");
                let business = self.rate(&r.business, "business");
                Some(row(
                    (),
                    from?,
                    &r.valid_from,
                    Rates {
                        person: person?,
                        business: business?,
                    },
                ))
            })
            .collect();
        let interest = self.required(
            country,
            at,
            "interest",
            covers_from,
            interest_rows,
            !raw.interest.is_empty(),
        );

        let fee_rows: Vec<Row<(HandoverStep, DebtorType), FeeRule>> =
            raw.fee.iter().flat_map(|r| self.fee_rows(r)).collect();
        let fees = self.keyed(country, "fee", covers_from, fee_rows, &base_amount);
        // Keys whose entries failed to parse already have their error; only keys nobody wrote
        // are reported as missing.
        let written: Vec<(HandoverStep, DebtorType)> = raw
            .fee
            .iter()
            .filter_map(|r| {
                let step = r.step.get_ref().parse::<HandoverStep>().ok()?;
                Some(
                    written_debtors(r.debtor.as_ref())
                        .into_iter()
                        .map(move |d| (step, d)),
                )
            })
            .flatten()
            .collect();
        for step in HandoverStep::ALL {
            for debtor in DebtorType::ALL {
                if !written.contains(&(*step, *debtor)) && !raw.fee.is_empty() {
                    self.error_at(
                        at,
                        format!(
                            "{country} has no [[{country}.fee]] for step `{step}` and debtor `{debtor}`; every step needs a fee for both debtor types (amount \"0.00\" if none)"
                        ),
                    );
                }
            }
        }
        if raw.fee.is_empty() {
            self.error_at(at, format!("{country} has no [[{country}.fee]] entries"));
        }

        let collection_rows: Vec<Row<(CollectionLevel, DebtorType), Vec<Band>>> = raw
            .collection_fee
            .iter()
            .flat_map(|r| self.collection_rows(r))
            .collect();
        let collection_fees = self.keyed(
            country,
            "collection_fee",
            covers_from,
            collection_rows,
            &base_amount,
        );
        let written: Vec<(CollectionLevel, DebtorType)> = raw
            .collection_fee
            .iter()
            .filter_map(|r| {
                let level = r.level.get_ref().parse::<CollectionLevel>().ok()?;
                Some(
                    written_debtors(r.debtor.as_ref())
                        .into_iter()
                        .map(move |d| (level, d)),
                )
            })
            .flatten()
            .collect();
        if !raw.collection_fee.is_empty() {
            for level in CollectionLevel::ALL {
                for debtor in DebtorType::ALL {
                    if !written.contains(&(*level, *debtor)) {
                        self.error_at(
                            at,
                            format!(
                                "{country} has collection fees but none at level `{level}` for debtor `{debtor}`; give every level for both debtor types"
                            ),
                        );
                    }
                }
            }
        }

        let has_heavy = collection_fees
            .keys()
            .any(|(level, _)| *level == CollectionLevel::Heavy);
        let days_rows: Vec<Row<(), Days>> = raw
            .days
            .iter()
            .filter_map(|r| self.days_row(r, has_heavy))
            .collect();
        let days = self.required(
            country,
            at,
            "days",
            covers_from,
            days_rows,
            !raw.days.is_empty(),
        );

        let allocation_rows: Vec<Row<(), Allocation>> = raw
            .allocation
            .iter()
            .filter_map(|r| {
                let from = self.date(&r.valid_from, "valid_from");
                let person = self.order(&r.person, "person");
                let business = self.order(&r.business, "business");
                Some(row(
                    (),
                    from?,
                    &r.valid_from,
                    Allocation {
                        person: person?,
                        business: business?,
                    },
                ))
            })
            .collect();
        let allocation = self.required(
            country,
            at,
            "allocation",
            covers_from,
            allocation_rows,
            !raw.allocation.is_empty(),
        );

        let letters_rows: Vec<Row<(), FeeLetters>> = raw
            .fee_letters
            .iter()
            .filter_map(|r| {
                let from = self.date(&r.valid_from, "valid_from");
                let reminder = self.count(&r.reminder, "reminder");
                let notice = self.count(&r.notice, "notice");
                let demand = self.count(&r.demand, "demand");
                Some(row(
                    (),
                    from?,
                    &r.valid_from,
                    FeeLetters {
                        reminder: reminder?,
                        notice: notice?,
                        demand: demand?,
                    },
                ))
            })
            .collect();
        let fee_letters = self.required(
            country,
            at,
            "fee_letters",
            covers_from,
            letters_rows,
            !raw.fee_letters.is_empty(),
        );

        Some(CountryRules {
            day_count: day_count?,
            base_amount,
            interest: interest?,
            fees,
            collection_fees,
            days: days?,
            allocation: allocation?,
            fee_letters: fee_letters?,
        })
    }

    /// The rows of one `[[XX.fee]]` entry: one per debtor type it names (both when it names
    /// none).
    fn fee_rows(&self, raw: &RawFee) -> Vec<Row<(HandoverStep, DebtorType), FeeRule>> {
        let from = self.date(&raw.valid_from, "valid_from");
        let step = self.parse::<HandoverStep>(&raw.step, "step");
        let debtors = self.debtors(raw.debtor.as_ref());
        let component = self
            .parse::<Component>(&raw.posts_to, "posts_to")
            .and_then(|c| match c {
                Component::Fee | Component::CollectionCost => Some(c),
                Component::Principal | Component::Interest => {
                    self.error(
                        &raw.posts_to,
                        format!(
                            "posts_to: a fee is posted as `fee` or `collection_cost`, not `{c}`"
                        ),
                    );
                    None
                }
            });
        let given = [
            raw.amount.is_some(),
            raw.times_base.is_some(),
            raw.bands.is_some(),
        ];
        let bands = match (&raw.amount, &raw.times_base, &raw.bands) {
            _ if given.iter().filter(|g| **g).count() != 1 => {
                self.error(
                    &raw.valid_from,
                    "a fee gives exactly one of `amount`, `times_base` or `bands`",
                );
                None
            }
            (Some(amount), _, _) => self.amount(amount, "amount").and_then(|a| {
                Some((
                    vec![Band {
                        up_to_minor: None,
                        value: Value::Minor(self.minor(amount, a)?),
                    }],
                    Vec::new(),
                ))
            }),
            (_, Some(factor), _) => self.factor(factor).map(|f| {
                (
                    vec![Band {
                        up_to_minor: None,
                        value: Value::TimesBase(f),
                    }],
                    vec![(f, factor.span().start)],
                )
            }),
            (_, _, Some(bands)) => self.bands(bands),
            (None, None, None) => None,
        };
        let (Some(from), Some(step), Some(debtors), Some(component), Some((bands, factors))) =
            (from, step, debtors, component, bands)
        else {
            return Vec::new();
        };
        debtors
            .into_iter()
            .map(|debtor| Row {
                key: (step, debtor),
                from,
                at: raw.valid_from.span().start,
                value: FeeRule {
                    component,
                    bands: bands.clone(),
                },
                factors: factors.clone(),
            })
            .collect()
    }

    fn collection_rows(
        &self,
        raw: &RawCollectionFee,
    ) -> Vec<Row<(CollectionLevel, DebtorType), Vec<Band>>> {
        let from = self.date(&raw.valid_from, "valid_from");
        let level = self.parse::<CollectionLevel>(&raw.level, "level");
        let debtors = self.debtors(raw.debtor.as_ref());
        let bands = self.bands(&raw.bands);
        let (Some(from), Some(level), Some(debtors), Some((bands, factors))) =
            (from, level, debtors, bands)
        else {
            return Vec::new();
        };
        debtors
            .into_iter()
            .map(|debtor| Row {
                key: (level, debtor),
                from,
                at: raw.valid_from.span().start,
                value: bands.clone(),
                factors: factors.clone(),
            })
            .collect()
    }

    fn days_row(&self, raw: &RawDays, has_heavy: bool) -> Option<Row<(), Days>> {
        let from = self.date(&raw.valid_from, "valid_from");
        let first = self.day_count_value(&raw.first_letter_after_due, "first_letter_after_due");
        let reminder = self.day_count_value(&raw.reminder_deadline, "reminder_deadline");
        let notice = self.day_count_value(&raw.notice_deadline, "notice_deadline");
        let demand = self.day_count_value(&raw.demand_deadline, "demand_deadline");
        let dispute = self.day_count_value(&raw.dispute_reply, "dispute_reply");
        let light_to_heavy = match &raw.light_to_heavy {
            Some(v) => Some(self.day_count_value(v, "light_to_heavy")?),
            None if has_heavy => {
                self.error(
                    &raw.valid_from,
                    "light_to_heavy is required: this country has heavy collection fees",
                );
                return None;
            }
            None => None,
        };
        Some(row(
            (),
            from?,
            &raw.valid_from,
            Days {
                first_letter_after_due: first?,
                reminder_deadline: reminder?,
                notice_deadline: notice?,
                demand_deadline: demand?,
                light_to_heavy,
                dispute_reply: dispute?,
            },
        ))
    }

    /// Bands of a banded amount, and the multiples of the base amount among them.
    fn bands(&self, raw: &Spanned<Vec<Spanned<RawBand>>>) -> Option<(Vec<Band>, Factors)> {
        let list = raw.get_ref();
        if list.is_empty() {
            self.error(raw, "bands is empty; give at least one band");
            return None;
        }
        let mut bands = Vec::with_capacity(list.len());
        let mut factors = Vec::new();
        let mut ok = true;
        let mut previous: Option<i64> = None;
        for (i, spanned) in list.iter().enumerate() {
            let band = spanned.get_ref();
            let last = i + 1 == list.len();
            let up_to_minor = match (&band.up_to, last) {
                (Some(up_to), false) => {
                    let minor = self
                        .amount(up_to, "up_to")
                        .and_then(|a| self.minor(up_to, a));
                    if let (Some(m), Some(p)) = (minor, previous)
                        && m <= p
                    {
                        self.error(up_to, "up_to must grow from band to band");
                        ok = false;
                    }
                    previous = minor.or(previous);
                    ok &= minor.is_some();
                    minor
                }
                (None, true) => None,
                (Some(up_to), true) => {
                    self.error(
                        up_to,
                        "the last band takes every principal above the one before; leave out its up_to",
                    );
                    ok = false;
                    None
                }
                (None, false) => {
                    self.error(spanned, "only the last band may leave out up_to");
                    ok = false;
                    None
                }
            };
            let value = match (&band.amount, &band.times_base) {
                (Some(amount), None) => self
                    .amount(amount, "amount")
                    .and_then(|a| self.minor(amount, a))
                    .map(Value::Minor),
                (None, Some(factor)) => self.factor(factor).map(|f| {
                    factors.push((f, factor.span().start));
                    Value::TimesBase(f)
                }),
                _ => {
                    self.error(
                        spanned,
                        "a band gives exactly one of `amount` or `times_base`",
                    );
                    None
                }
            };
            match value {
                Some(value) => bands.push(Band { up_to_minor, value }),
                None => ok = false,
            }
        }
        ok.then_some((bands, factors))
    }

    /// A table that every country must have, with a single series.
    fn required<T>(
        &self,
        country: Country,
        at: usize,
        table: &'static str,
        covers_from: NaiveDate,
        rows: Vec<Row<(), T>>,
        written: bool,
    ) -> Option<Series<T>> {
        let series = self
            .series(country, table, covers_from, rows, true)
            .remove(&())
            .map(|(series, _)| series);
        if series.is_none() && !written {
            self.error_at(
                at,
                format!("{country} has no [[{country}.{table}]] entries"),
            );
        }
        series
    }

    /// Series per key, with the base-amount check for entries that use `times_base`.
    fn keyed<K: Ord + Copy, T>(
        &self,
        country: Country,
        table: &'static str,
        covers_from: NaiveDate,
        rows: Vec<Row<K, T>>,
        base: &Series<Decimal>,
    ) -> BTreeMap<K, Series<T>> {
        let grouped = self.series(country, table, covers_from, rows, true);
        grouped
            .into_iter()
            .map(|(key, (series, factors))| {
                for (i, (from, _)) in series.entries.iter().enumerate() {
                    let until = series.entries.get(i + 1).map(|(next, _)| *next);
                    for (factor, offset) in factors.get(i).into_iter().flatten() {
                        self.check_factor(country, base, *from, until, *factor, *offset);
                    }
                }
                (key, series)
            })
            .collect()
    }

    /// A multiple of the base amount must find a base amount in force throughout its entry's
    /// period and give whole minor units with each one.
    fn check_factor(
        &self,
        country: Country,
        base: &Series<Decimal>,
        from: NaiveDate,
        until: Option<NaiveDate>,
        factor: Decimal,
        offset: usize,
    ) {
        if base.at(from).is_none() {
            self.error_at(
                offset,
                format!(
                    "times_base needs a base amount, but no [[{country}.base_amount]] is in force on {from}"
                ),
            );
            return;
        }
        for (i, (base_from, amount)) in base.entries.iter().enumerate() {
            let base_until = base.entries.get(i + 1).map(|(next, _)| *next);
            let overlaps =
                until.is_none_or(|u| *base_from < u) && base_until.is_none_or(|u| u > from);
            if !overlaps {
                continue;
            }
            if amount
                .checked_mul(factor)
                .and_then(money::to_minor)
                .is_none()
            {
                self.error_at(
                    offset,
                    format!(
                        "times_base {factor} of the base amount {amount} in force from {base_from} is not a whole number of minor units"
                    ),
                );
            }
        }
    }

    /// Groups rows by key in file order, checks that each key's dates ascend and that its first
    /// entry starts on or before `covers_from`.
    fn series<K: Ord + Copy, T>(
        &self,
        country: Country,
        table: &'static str,
        covers_from: NaiveDate,
        rows: Vec<Row<K, T>>,
        must_cover: bool,
    ) -> Grouped<K, T> {
        let mut grouped: Grouped<K, T> = BTreeMap::new();
        let mut broken: Vec<K> = Vec::new();
        for r in rows {
            let (series, factors) = grouped.entry(r.key).or_insert_with(|| {
                (
                    Series {
                        entries: Vec::new(),
                    },
                    Vec::new(),
                )
            });
            match series.entries.last() {
                Some((previous, _)) if r.from <= *previous => {
                    self.error_at(
                        r.at,
                        format!(
                            "{country} {table}: valid_from {} is not after the previous entry's {previous}; list entries in ascending date order, one per date",
                            r.from
                        ),
                    );
                    broken.push(r.key);
                }
                None if must_cover && r.from > covers_from => {
                    self.error_at(
                        r.at,
                        format!(
                            "{country} {table}: the first entry starts on {}, so the days from covers_from {covers_from} have no rule",
                            r.from
                        ),
                    );
                    broken.push(r.key);
                }
                _ => {}
            }
            series.entries.push((r.from, r.value));
            factors.push(r.factors);
        }
        for key in broken {
            grouped.remove(&key);
        }
        grouped
    }

    fn debtors(&self, raw: Option<&Spanned<String>>) -> Option<Vec<DebtorType>> {
        match raw {
            None => Some(DebtorType::ALL.to_vec()),
            Some(d) => self.parse::<DebtorType>(d, "debtor").map(|d| vec![d]),
        }
    }

    fn parse<T>(&self, value: &Spanned<String>, key: &str) -> Option<T>
    where
        T: std::str::FromStr,
        T::Err: fmt::Display,
    {
        match value.get_ref().parse::<T>() {
            Ok(v) => Some(v),
            Err(e) => {
                self.error(value, format!("{key}: {e}"));
                None
            }
        }
    }

    fn date(&self, value: &Spanned<String>, key: &str) -> Option<NaiveDate> {
        match NaiveDate::parse_from_str(value.get_ref(), "%Y-%m-%d") {
            Ok(d) if value.get_ref().len() == 10 => Some(d),
            _ => {
                self.error(
                    value,
                    format!(
                        "{key}: `{}` is not a date; write YYYY-MM-DD",
                        value.get_ref()
                    ),
                );
                None
            }
        }
    }

    /// A non-negative decimal written as digits with an optional `.` and at most `decimals`
    /// decimals. Exponents, signs, grouping and floats are refused, so that what is read is
    /// exactly what is written.
    fn decimal(&self, value: &Spanned<String>, key: &str, decimals: u32) -> Option<Decimal> {
        let text = value.get_ref();
        if text.starts_with('-') {
            self.error(
                value,
                format!("{key}: `{text}` is negative; amounts and rates are 0 or more"),
            );
            return None;
        }
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        // A `.` must have digits on both sides: "12." and ".5" are refused.
        let (int, frac) = match text.split_once('.') {
            Some((int, frac)) => (int, Some(frac)),
            None => (text.as_str(), None),
        };
        let well_formed = digits(int) && frac.is_none_or(digits) && int.len() <= 15;
        let frac = frac.unwrap_or("");
        if !well_formed {
            self.error(
                value,
                format!("{key}: `{text}` is not a decimal; write digits with `.` for decimals, e.g. \"35.00\""),
            );
            return None;
        }
        if frac.len() > decimals as usize {
            self.error(
                value,
                format!("{key}: `{text}` has more than {decimals} decimals"),
            );
            return None;
        }
        match text.parse::<Decimal>() {
            Ok(d) => Some(d),
            Err(_) => {
                self.error(value, format!("{key}: `{text}` is not a decimal"));
                None
            }
        }
    }

    fn amount(&self, value: &Spanned<String>, key: &str) -> Option<Decimal> {
        let amount = self.decimal(value, key, 2)?;
        if amount > money::MAX_AMOUNT {
            self.error(value, format!("{key}: `{}` is too large", value.get_ref()));
            return None;
        }
        Some(amount)
    }

    fn minor(&self, value: &Spanned<String>, amount: Decimal) -> Option<i64> {
        let minor = money::to_minor(amount);
        if minor.is_none() {
            self.error(
                value,
                format!("`{}` is not a whole number of minor units", value.get_ref()),
            );
        }
        minor
    }

    fn factor(&self, value: &Spanned<String>) -> Option<Decimal> {
        self.decimal(value, "times_base", FACTOR_DECIMALS)
    }

    fn rate(&self, value: &Spanned<String>, key: &str) -> Option<Decimal> {
        let rate = self.decimal(value, key, RATE_DECIMALS)?;
        if rate > Decimal::ONE_HUNDRED {
            self.error(
                value,
                format!(
                    "{key}: `{}` % a year is not a late-payment rate",
                    value.get_ref()
                ),
            );
            return None;
        }
        Some(rate)
    }

    fn day_count_value(&self, value: &Spanned<i64>, key: &str) -> Option<u32> {
        let days = *value.get_ref();
        match u32::try_from(days) {
            Ok(d) if days <= MAX_DAYS => Some(d),
            _ => {
                self.error(
                    value,
                    format!("{key}: {days} is not a number of days from 0 to {MAX_DAYS}"),
                );
                None
            }
        }
    }

    fn count(&self, value: &Spanned<i64>, key: &str) -> Option<u32> {
        let count = *value.get_ref();
        match u32::try_from(count) {
            Ok(c) if count <= MAX_LETTERS => Some(c),
            _ => {
                self.error(
                    value,
                    format!("{key}: {count} is not a number of letters from 0 to {MAX_LETTERS}"),
                );
                None
            }
        }
    }

    /// An allocation order: each component exactly once.
    fn order(&self, value: &Spanned<Vec<Spanned<String>>>, key: &str) -> Option<[Component; 4]> {
        let mut order = Vec::with_capacity(Component::ALL.len());
        let mut ok = true;
        for item in value.get_ref() {
            match self.parse::<Component>(item, key) {
                Some(c) if order.contains(&c) => {
                    self.error(
                        item,
                        format!("{key}: `{c}` is named twice; name each component once"),
                    );
                    ok = false;
                }
                Some(c) => order.push(c),
                None => ok = false,
            }
        }
        for component in Component::ALL {
            if ok && !order.contains(component) {
                self.error(
                    value,
                    format!(
                        "{key}: the order lacks `{component}`; name each of principal, interest, fee, collection_cost exactly once"
                    ),
                );
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        <[Component; 4]>::try_from(order).ok()
    }
}

/// The debtor types an entry names, without reporting errors (those come from parsing).
fn written_debtors(raw: Option<&Spanned<String>>) -> Vec<DebtorType> {
    match raw {
        None => DebtorType::ALL.to_vec(),
        Some(d) => d.get_ref().parse::<DebtorType>().into_iter().collect(),
    }
}

/// A row of a table without keys or base-amount multiples.
fn row<K, T>(key: K, from: NaiveDate, valid_from: &Spanned<String>, value: T) -> Row<K, T> {
    Row {
        key,
        from,
        at: valid_from.span().start,
        value,
        factors: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped_text() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/rules.toml")).unwrap()
    }

    fn shipped() -> Rules {
        Rules::from_toml(&shipped_text(), Path::new("rules.toml")).unwrap()
    }

    fn check(text: &str) -> Result<Rules, ConfigErrors> {
        Rules::from_toml(text, Path::new("rules.toml"))
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    /// The 1-based line of the first line of `text` that contains `needle`.
    fn line_of(text: &str, needle: &str) -> usize {
        text.lines().position(|l| l.contains(needle)).unwrap() + 1
    }

    use Country::{Fi, No, Se};
    use DebtorType::{Business, Person};
    use HandoverStep::{Demand, Notice, Reminder};

    #[test]
    fn the_shipped_tables_load_and_cover_2024_to_2026() {
        let rules = shipped();
        assert_eq!(rules.covers_from(), day(2024, 1, 1));
        for country in Country::ALL {
            for debtor in DebtorType::ALL {
                for date in [day(2024, 1, 1), day(2025, 6, 15), day(2026, 12, 31)] {
                    assert!(rules.interest_rate(*country, *debtor, date).is_ok());
                    assert!(rules.allocation_order(*country, *debtor, date).is_ok());
                    for step in HandoverStep::ALL {
                        assert!(rules.fee(*country, *step, *debtor, 100_000, date).is_ok());
                        assert!(rules.max_fee_letters(*country, *step, date).is_ok());
                    }
                }
            }
            assert!(rules.days(*country, day(2026, 12, 31)).is_ok());
        }
    }

    #[test]
    fn interest_rates_change_on_valid_from_and_not_the_day_before() {
        let rules = shipped();
        // Norway: Norges Bank's cut to 4.25 % shows from 1 July 2025.
        assert_eq!(
            rules.interest_rate(No, Person, day(2025, 6, 30)),
            Ok(dec("12.50"))
        );
        assert_eq!(
            rules.interest_rate(No, Person, day(2025, 7, 1)),
            Ok(dec("12.25"))
        );
        // Sweden: referensränta 4.00 → 3.00 on 1 January 2025.
        assert_eq!(
            rules.interest_rate(Se, Business, day(2024, 12, 31)),
            Ok(dec("12.00"))
        );
        assert_eq!(
            rules.interest_rate(Se, Business, day(2025, 1, 1)),
            Ok(dec("11.00"))
        );
        // Finland: businesses pay one point more (korkolaki 4 a §).
        assert_eq!(
            rules.interest_rate(Fi, Person, day(2025, 1, 1)),
            Ok(dec("10.50"))
        );
        assert_eq!(
            rules.interest_rate(Fi, Business, day(2024, 12, 31)),
            Ok(dec("12.50"))
        );
        assert_eq!(
            rules.interest_rate(Fi, Business, day(2025, 1, 1)),
            Ok(dec("11.50"))
        );
    }

    #[test]
    fn dates_before_the_tables_are_errors_not_panics() {
        let rules = shipped();
        let before = day(2023, 12, 31);
        assert_eq!(
            rules.interest_rate(No, Person, before),
            Err(RuleError::BeforeStart {
                country: No,
                table: "interest",
                date: before,
                starts: day(2024, 1, 1),
            })
        );
        assert!(rules.fee(Se, Notice, Person, 1, before).is_err());
        assert!(
            rules
                .collection_fee(No, CollectionLevel::Light, Person, 1, before)
                .is_err()
        );
        assert!(rules.days(Fi, before).is_err());
        assert!(
            rules
                .rate_periods(No, Person, before, day(2024, 2, 1))
                .is_err()
        );
        assert!(
            rules
                .rate_periods(No, Person, NaiveDate::MIN, NaiveDate::MAX)
                .is_err()
        );
    }

    #[test]
    fn rate_periods_cover_a_range_across_a_half_year() {
        let rules = shipped();
        let periods = rules
            .rate_periods(No, Person, day(2025, 6, 20), day(2025, 7, 10))
            .unwrap();
        assert_eq!(
            periods,
            vec![
                (day(2025, 6, 20), day(2025, 6, 30), dec("12.50")),
                (day(2025, 7, 1), day(2025, 7, 10), dec("12.25")),
            ]
        );
        let one_day = rules
            .rate_periods(No, Person, day(2025, 7, 1), day(2025, 7, 1))
            .unwrap();
        assert_eq!(
            one_day,
            vec![(day(2025, 7, 1), day(2025, 7, 1), dec("12.25"))]
        );
        assert!(
            rules
                .rate_periods(No, Person, day(2025, 7, 2), day(2025, 7, 1))
                .unwrap()
                .is_empty()
        );
        // The last entry runs on.
        let late = rules
            .rate_periods(Fi, Business, day(2030, 1, 1), day(2030, 1, 2))
            .unwrap();
        assert_eq!(late, vec![(day(2030, 1, 1), day(2030, 1, 2), dec("10.50"))]);
    }

    #[test]
    fn interest_on_a_moving_balance_uses_the_tables() {
        let rules = shipped();
        // 10 000.00 NOK due 20 June 2025, unpaid to 10 July: 10 days at 12.50, 10 at 12.25.
        let interest = rules
            .interest_on_balance(
                No,
                Person,
                &[(day(2025, 6, 20), 1_000_000)],
                day(2025, 6, 20),
                day(2025, 7, 10),
            )
            .unwrap();
        assert_eq!(interest::round_to_minor(interest), 6_781);
        // An invoice due before the tables start cannot be computed, rather than computed wrong.
        let old = rules.interest_on_balance(
            No,
            Person,
            &[(day(2023, 12, 1), 1_000_000)],
            day(2023, 12, 1),
            day(2024, 2, 1),
        );
        assert!(matches!(old, Err(RuleError::BeforeStart { .. })));
        // Days before the first change need no rate.
        let later = rules.interest_on_balance(
            No,
            Person,
            &[(day(2024, 3, 1), 1_000_000)],
            day(2020, 1, 1),
            day(2024, 3, 1),
        );
        assert_eq!(later, Ok(Decimal::ZERO));
    }

    #[test]
    fn step_fees_follow_the_tables() {
        let rules = shipped();
        let on = day(2025, 3, 1);
        // Norway: 1/20 of the inkassosats 700, for both debtor types; no fee on the agency's demand.
        assert_eq!(
            rules.fee(No, Reminder, Person, 100_000, on),
            Ok(Charge {
                amount_minor: 3_500,
                component: Component::Fee
            })
        );
        assert_eq!(
            rules
                .fee(No, Notice, Business, 100_000, on)
                .map(|c| c.amount_minor),
            Ok(3_500)
        );
        assert_eq!(
            rules
                .fee(No, Demand, Person, 100_000, on)
                .map(|c| c.amount_minor),
            Ok(0)
        );
        // Sweden: the inkassokrav is the agency's; businesses pay the 450 förseningsersättning.
        assert_eq!(
            rules.fee(Se, Notice, Person, 100_000, on),
            Ok(Charge {
                amount_minor: 18_000,
                component: Component::CollectionCost
            })
        );
        assert_eq!(
            rules
                .fee(Se, Notice, Business, 100_000, on)
                .map(|c| c.amount_minor),
            Ok(45_000)
        );
        assert_eq!(
            rules
                .fee(Se, Reminder, Person, 100_000, on)
                .map(|c| c.amount_minor),
            Ok(6_000)
        );
        // Finland: maksuvaatimus banded by principal, up to and including each bound.
        let fi = |p| rules.fee(Fi, Notice, Person, p, on).map(|c| c.amount_minor);
        assert_eq!(fi(0), Ok(1_400));
        assert_eq!(fi(10_000), Ok(1_400));
        assert_eq!(fi(10_001), Ok(2_400));
        assert_eq!(fi(100_000), Ok(2_400));
        assert_eq!(fi(100_001), Ok(5_000));
        assert_eq!(fi(-5), Ok(1_400));
        assert_eq!(
            rules
                .fee(Fi, Demand, Business, 1_000_001, on)
                .map(|c| c.amount_minor),
            Ok(5_500)
        );
    }

    #[test]
    fn collection_fees_are_banded_by_principal_and_debtor() {
        let rules = shipped();
        let on = day(2026, 2, 1);
        let no = |level, debtor, p| rules.collection_fee(No, level, debtor, p, on);
        assert_eq!(no(CollectionLevel::Light, Person, 50_000), Ok(17_500));
        assert_eq!(no(CollectionLevel::Light, Person, 50_001), Ok(24_500));
        assert_eq!(no(CollectionLevel::Heavy, Person, 50_000), Ok(35_000));
        assert_eq!(no(CollectionLevel::Light, Business, 50_000), Ok(26_250));
        assert_eq!(
            no(CollectionLevel::Heavy, Business, 25_000_001),
            Ok(1_512_000)
        );
        assert!(rules.has_collection_fees(No));
        assert!(!rules.has_collection_fees(Se));
        assert_eq!(
            rules.collection_fee(Se, CollectionLevel::Heavy, Person, 50_000, on),
            Ok(0)
        );
        assert_eq!(
            rules.collection_fee(Fi, CollectionLevel::Light, Business, 50_000, on),
            Ok(0)
        );
    }

    #[test]
    fn days_orders_and_letter_limits() {
        let rules = shipped();
        let on = day(2024, 6, 1);
        let no = rules.days(No, on).unwrap();
        assert_eq!(no.first_letter_after_due, 14);
        assert_eq!(no.deadline(Demand), 14);
        assert_eq!(no.light_to_heavy, Some(28));
        assert_eq!(no.dispute_reply, 14);
        assert_eq!(rules.days(Se, on).unwrap().light_to_heavy, None);
        assert_eq!(rules.days(Se, on).unwrap().deadline(Notice), 8);
        use Component::{CollectionCost, Fee, Interest, Principal};
        assert_eq!(
            rules.allocation_order(No, Person, on),
            Ok([CollectionCost, Fee, Interest, Principal])
        );
        assert_eq!(
            rules.allocation_order(Fi, Person, on),
            Ok([Principal, Interest, Fee, CollectionCost])
        );
        assert_eq!(rules.max_fee_letters(No, Reminder, on), Ok(1));
        assert_eq!(rules.day_count(No), DayCount::ActualActual);
    }

    #[test]
    fn a_syntax_or_unknown_key_error_names_its_line() {
        let text = shipped_text().replacen(
            "first_letter_after_due = 1\n",
            "first_letter_after_due = 1\ncolour = \"blue\"\n",
            1,
        );
        let errors = check(&text).unwrap_err().0;
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].message.contains("unknown field `colour`"),
            "{errors:?}"
        );
        let line = line_of(&text, "colour");
        assert_eq!(errors[0].location, format!("rules.toml:{line}:1"));

        // A float where a string is required is refused: a rate is written exactly.
        let text = shipped_text().replacen("person = \"12.25\"", "person = 12.25", 1);
        let errors = check(&text).unwrap_err().0;
        assert!(
            errors[0]
                .location
                .starts_with(&format!("rules.toml:{}:", line_of(&text, "person = 12.25"))),
            "{errors:?}"
        );
    }

    #[test]
    fn every_semantic_problem_is_listed_with_its_line() {
        let text = shipped_text()
            // A date that does not exist.
            .replacen(
                "valid_from = \"2025-07-01\"\nperson = \"12.25\"",
                "valid_from = \"2025-02-30\"\nperson = \"12.25\"",
                1,
            )
            // A negative amount.
            .replacen("amount = \"60.00\"", "amount = \"-60.00\"", 1)
            // A fraction of an öre.
            .replacen("amount = \"180.00\"", "amount = \"180.005\"", 1)
            // A component twice.
            .replacen(
                "person = [\"principal\", \"interest\", \"fee\", \"collection_cost\"]",
                "person = [\"principal\", \"interest\", \"fee\", \"fee\"]",
                1,
            )
            // A table that starts late: a gap from covers_from.
            .replacen(
                "[[SE.fee_letters]]\nvalid_from = \"2024-01-01\"",
                "[[SE.fee_letters]]\nvalid_from = \"2024-02-01\"",
                1,
            )
            // An unknown day count.
            .replacen("day_count = \"actual/actual\"", "day_count = \"30/360\"", 1);
        let errors = check(&text).unwrap_err().0;
        let messages: Vec<_> = errors.iter().map(|e| format!("{e}")).collect();
        assert_eq!(errors.len(), 6, "{messages:#?}");
        let expect = |needle: &str, line_needle: &str| {
            let line = line_of(&text, line_needle);
            assert!(
                errors.iter().any(|e| e.message.contains(needle)
                    && e.location.starts_with(&format!("rules.toml:{line}:"))),
                "no `{needle}` at line {line}: {messages:#?}"
            );
        };
        expect("`2025-02-30` is not a date", "2025-02-30");
        expect("is negative", "-60.00");
        expect("more than 2 decimals", "180.005");
        expect("`fee` is named twice", "\"fee\", \"fee\"");
        expect(
            "the days from covers_from 2024-01-01 have no rule",
            "2024-02-01",
        );
        expect("day_count: `30/360` is not one of", "30/360");
    }

    #[test]
    fn tables_must_ascend_and_multiples_must_give_whole_minor_units() {
        let text = shipped_text()
            .replacen(
                "valid_from = \"2026-01-01\"\namount = \"700.00\"",
                "valid_from = \"2026-01-01\"\namount = \"700.01\"",
                1,
            )
            .replacen(
                "valid_from = \"2025-01-01\"\nperson = \"12.50\"",
                "valid_from = \"2024-03-01\"\nperson = \"12.50\"",
                1,
            );
        let errors = check(&text).unwrap_err().0;
        let messages: Vec<_> = errors.iter().map(|e| format!("{e}")).collect();
        assert!(
            messages.iter().any(|m| m
                .contains("valid_from 2024-03-01 is not after the previous entry's 2024-07-01")),
            "{messages:#?}"
        );
        // 700.01 × 0.05 = 35.0005: every multiple of the base amount is reported where it is.
        let fee_line = line_of(&text, "times_base = \"0.05\"");
        assert!(
            errors.iter().any(|e| e
                .message
                .contains("times_base 0.05 of the base amount 700.01")
                && e.location.starts_with(&format!("rules.toml:{fee_line}:"))),
            "{messages:#?}"
        );
    }

    #[test]
    fn a_fee_names_exactly_one_amount_and_bands_are_well_formed() {
        let text = shipped_text()
            .replacen(
                "times_base = \"0.05\"",
                "times_base = \"0.05\"\namount = \"35.00\"",
                1,
            )
            .replacen("    { times_base = \"7.2\" },\n", "", 1)
            .replacen(
                "{ up_to = \"1000.00\", amount = \"24.00\" }",
                "{ up_to = \"90.00\", amount = \"24.00\" }",
                1,
            );
        let errors = check(&text).unwrap_err().0;
        let messages: Vec<_> = errors.iter().map(|e| e.message.as_str()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("exactly one of `amount`, `times_base` or `bands`")),
            "{messages:#?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("leave out its up_to")),
            "{messages:#?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("up_to must grow")),
            "{messages:#?}"
        );
    }

    #[test]
    fn a_missing_country_or_table_is_reported() {
        let text = shipped_text();
        let without_fi = &text[..text.find("[FI]").unwrap()];
        let errors = check(without_fi).unwrap_err().0;
        assert!(
            errors[0].message.contains("missing field `FI`"),
            "{errors:?}"
        );

        let without_days = text.replacen("[[SE.days]]", "[[SE.dayz]]", 1);
        let errors = check(&without_days).unwrap_err().0;
        assert!(
            errors[0].message.contains("unknown field `dayz`"),
            "{errors:?}"
        );
    }

    #[test]
    fn every_key_of_the_shipped_file_is_described_in_the_docs() {
        fn keys(value: &toml::Value, out: &mut std::collections::BTreeSet<String>) {
            match value {
                toml::Value::Table(table) => {
                    for (key, v) in table {
                        out.insert(key.clone());
                        keys(v, out);
                    }
                }
                toml::Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
                _ => {}
            }
        }
        let value: toml::Value = toml::from_str(&shipped_text()).unwrap();
        let mut all = std::collections::BTreeSet::new();
        keys(&value, &mut all);
        let docs =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/rules.md")).unwrap();
        // A key is described when it is in the first cell of a table row.
        let described = |key: &str| {
            docs.lines().any(|line| {
                line.split('|')
                    .nth(1)
                    .is_some_and(|cell| cell.contains(&format!("`{key}`")))
            })
        };
        let missing: Vec<_> = all.iter().filter(|k| !described(k)).collect();
        assert!(
            missing.is_empty(),
            "docs/rules.md does not describe {missing:?}"
        );
    }

    #[test]
    fn a_missing_file_is_an_error_with_its_path() {
        let errors = Rules::load(Path::new("/nonexistent/rules.toml"))
            .unwrap_err()
            .0;
        assert_eq!(errors[0].location, "/nonexistent/rules.toml");
    }
}
