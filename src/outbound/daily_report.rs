//! The daily report (issue 9): one self-contained HTML page per business day for the agency —
//! key figures as tiles, a bar chart of the last 30 days' collections, and compact tables of
//! the day's files, cases, money and the unmatched payments still open.
//!
//! The page has no external assets (inline `<style>` and inline `<svg>` only) and reads no
//! clock: the same data gives the same bytes. Every text that comes from data (names, file
//! names, references) is escaped.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{Datelike, Days, NaiveDate, Weekday};

use crate::config::Config;
use crate::domain::CaseState;
use crate::outbound::reconciliation::DayTotals;
use crate::outbound::reconciliation::Summary;
use crate::store::{InboundFileRow, OpenPayment, OutboundCount, StoreError, Tx};

/// How many days the collections chart shows, ending at the report's day.
pub const CHART_DAYS: usize = 30;

/// How many rows a list (unmatched payments, files not accepted) shows at most.
pub const MAX_LISTED: usize = 50;

/// The name of `day`'s report file in the agency's outbox: `report-YYYYMMDD.html`.
pub fn file_name(day: NaiveDate) -> String {
    format!("report-{}.html", day.format("%Y%m%d"))
}

/// The inbound files of one sender on the day, by status.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SenderFiles {
    pub sender: String,
    pub accepted: i64,
    pub partly_accepted: i64,
    pub rejected: i64,
    pub duplicate: i64,
    pub records_total: i64,
    pub records_accepted: i64,
    pub records_rejected: i64,
}

impl SenderFiles {
    /// Every file of the sender on the day.
    pub fn files(&self) -> i64 {
        self.accepted + self.partly_accepted + self.rejected + self.duplicate
    }
}

/// One creditor's money on the day, with its configured name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditorMoney {
    pub name: String,
    pub summary: Summary,
}

/// The money placed on cases per day in one currency, oldest day first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    pub currency: String,
    /// [`CHART_DAYS`] days ending at the report's day.
    pub days: Vec<(NaiveDate, i64)>,
}

impl Series {
    pub fn total(&self) -> i64 {
        self.days.iter().map(|(_, v)| v).sum()
    }
}

/// Everything the page shows for one business day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyReport {
    pub day: NaiveDate,
    /// The agency's name.
    pub agency: String,
    /// Whether the day is reconciled (closed): its figures no longer change.
    pub day_closed: bool,
    /// The latest business day in the store: cases by state are as of its end.
    pub state_as_of: Option<NaiveDate>,
    /// Inbound files with business date `day`, per sender (sorted).
    pub inbound: Vec<SenderFiles>,
    /// The day's inbound files not accepted whole, by sender and name.
    pub files_not_accepted: Vec<InboundFileRow>,
    /// Outbound files of the day per folder and kind (see [`Tx::outbound_counts`]).
    pub outbound: Vec<OutboundCount>,
    /// Cases per state now, in lifecycle order.
    pub cases_by_state: Vec<(String, i64)>,
    pub cases_opened: i64,
    pub cases_closed: i64,
    /// The reconciliation's totals of the day, one per currency.
    pub money: Vec<Summary>,
    /// The reconciliation's summaries per creditor and currency.
    pub creditors: Vec<CreditorMoney>,
    /// Every payment waiting for a case at the end of the day, oldest first.
    pub open_payments: Vec<OpenPayment>,
    /// The currency most creditors invoice in: shown first and largest.
    pub main_currency: String,
    /// The collections chart per currency, the main currency first.
    pub collections: Vec<Series>,
}

/// Gathers `day`'s figures. Cases by state, whether the day is closed, and the day's
/// reconciliation files (queued at the next day's run) depend on when it is built; everything
/// else depends only on what is dated on `day` or before.
///
/// `reconciliation`: the day's summaries and totals when the caller has them (the run that
/// just queued the day's reconciliation files); otherwise they are read again.
pub fn build_report(
    tx: &Tx<'_>,
    config: &Config,
    day: NaiveDate,
    reconciliation: Option<DayTotals>,
) -> Result<DailyReport, StoreError> {
    // The summaries only: the day's items are counted in, not kept.
    let reconciliation = match reconciliation {
        Some(totals) => totals,
        None => crate::outbound::reconciliation::day_totals(tx, config, day)?,
    };

    let mut senders: BTreeMap<String, SenderFiles> = BTreeMap::new();
    for count in tx.inbound_counts(day)? {
        let entry = senders
            .entry(count.sender.clone())
            .or_insert_with(|| SenderFiles {
                sender: count.sender.clone(),
                ..SenderFiles::default()
            });
        match count.status.as_str() {
            "accepted" => entry.accepted += count.files,
            "partly_accepted" => entry.partly_accepted += count.files,
            "rejected" => entry.rejected += count.files,
            _ => entry.duplicate += count.files,
        }
        entry.records_total += count.records_total;
        entry.records_accepted += count.records_accepted;
        entry.records_rejected += count.records_rejected;
    }

    let mut cases_by_state = tx.case_counts()?;
    let rank = |state: &str| {
        CaseState::ALL
            .iter()
            .position(|s| s.as_str() == state)
            .unwrap_or(CaseState::ALL.len())
    };
    cases_by_state.sort_by(|a, b| (rank(&a.0), &a.0).cmp(&(rank(&b.0), &b.0)));
    let (cases_opened, cases_closed) = tx.cases_opened_closed(day)?;

    let main_currency = main_currency(config, &reconciliation.totals);
    let from = day
        .checked_sub_days(Days::new(CHART_DAYS as u64 - 1))
        .unwrap_or(day);
    let mut placed: BTreeMap<String, BTreeMap<NaiveDate, i64>> = BTreeMap::new();
    placed.entry(main_currency.clone()).or_default();
    for p in tx.placed_per_day(from, day)? {
        *placed
            .entry(p.currency)
            .or_default()
            .entry(p.date)
            .or_default() += p.amount_minor;
    }
    let dates: Vec<NaiveDate> = from.iter_days().take_while(|d| *d <= day).collect();
    let mut collections: Vec<Series> = placed
        .into_iter()
        .map(|(currency, per_day)| Series {
            days: dates
                .iter()
                .map(|d| (*d, per_day.get(d).copied().unwrap_or(0)))
                .collect(),
            currency,
        })
        .collect();
    collections.sort_by_key(|s| (s.currency != main_currency, s.currency.clone()));

    let mut money = reconciliation.totals;
    money.sort_by_key(|s| (s.currency != main_currency, s.currency.clone()));
    let creditors = reconciliation
        .summaries
        .into_iter()
        .map(|summary| CreditorMoney {
            name: summary
                .creditor_id
                .as_deref()
                .and_then(|id| config.creditor(id))
                .map(|c| c.name.clone())
                .unwrap_or_default(),
            summary,
        })
        .collect();

    Ok(DailyReport {
        day,
        agency: config.agency.name.clone(),
        day_closed: tx.last_reconciled_day()?.is_some_and(|d| d >= day),
        state_as_of: tx.last_business_day()?,
        inbound: senders.into_values().collect(),
        files_not_accepted: tx.inbound_files_not_accepted(day)?,
        outbound: tx.outbound_counts(day)?,
        cases_by_state,
        cases_opened,
        cases_closed,
        money,
        creditors,
        open_payments: tx.open_payments_at_end_of(day)?,
        main_currency,
        collections,
    })
}

/// The currency most configured creditors invoice in (ties: alphabetical); without creditors,
/// the first currency of the day's money.
fn main_currency(config: &Config, totals: &[Summary]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for creditor in config.creditors.values() {
        *counts.entry(creditor.currency.as_str()).or_default() += 1;
    }
    let best = counts
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(c, _)| (*c).to_owned());
    best.or_else(|| totals.first().map(|s| s.currency.clone()))
        .unwrap_or_else(|| "EUR".to_owned())
}

// ---------------------------------------------------------------------------------------------
// Formatting.

/// The narrow no-break space that groups thousands (a thin space that never breaks a line).
const THIN: char = '\u{202f}';

/// Groups the digits of a non-negative integer text in threes: `1234567` → `1 234 567`.
fn group_digits(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(THIN);
        }
        out.push(c);
    }
    out
}

/// An amount for people: thin-space thousands, a decimal comma, two decimals and a real
/// minus sign: `-123456789` → `−1 234 567,89`.
pub fn format_amount(minor: i64) -> String {
    let sign = if minor < 0 { "\u{2212}" } else { "" };
    let abs = minor.unsigned_abs();
    format!(
        "{sign}{},{:02}",
        group_digits(&(abs / 100).to_string()),
        abs % 100
    )
}

/// An amount with its currency code: `1 234,50 NOK`.
pub fn format_money(minor: i64, currency: &str) -> String {
    format!("{}\u{a0}{currency}", format_amount(minor))
}

/// A count for people: `12 345`.
pub fn format_count(n: i64) -> String {
    let sign = if n < 0 { "\u{2212}" } else { "" };
    format!("{sign}{}", group_digits(&n.unsigned_abs().to_string()))
}

/// Escapes text for HTML element content and quoted attribute values; control characters
/// (which HTML does not allow) become U+FFFD.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' => out.push(c),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Shorthand: escaped text.
fn esc(text: &str) -> String {
    escape_html(text)
}

/// Escaped money.
fn money_html(minor: i64, currency: &str) -> String {
    esc(&format_money(minor, currency))
}

/// `23 Nov 2026`.
fn short_date(day: NaiveDate) -> String {
    day.format("%-d %b %Y").to_string()
}

/// A snake_case code for people: `partly_accepted` → `partly accepted`.
fn words(code: &str) -> String {
    code.replace('_', " ")
}

// ---------------------------------------------------------------------------------------------
// The chart: integer geometry in tenths of a pixel, so the bytes never depend on rounding.

const PLOT_LEFT: i64 = 76;
const PLOT_TOP: i64 = 14;
/// The plot height of the main currency's chart; the others' is [`SMALL_PLOT_HEIGHT`].
const PLOT_HEIGHT: i64 = 180;
const SMALL_PLOT_HEIGHT: i64 = 100;
const SLOT: i64 = 22;
const BAR: i64 = 16;
const CHART_WIDTH: i64 = PLOT_LEFT + SLOT * CHART_DAYS as i64 + 12;
/// Below the plot: day ticks and months.
const CHART_FOOT: i64 = 42;

/// A value axis from `min` to `max` in steps of `step` (minor units), `min <= 0 <= max`, drawn
/// `height` pixels high. All zero when there is nothing to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Axis {
    min: i64,
    max: i64,
    step: i64,
    height: i64,
}

impl Axis {
    /// An axis that holds every value and zero, with about four "nice" steps (1, 2 or 5 times
    /// a power of ten).
    fn for_values(values: &[i64], height: i64) -> Axis {
        let lo = values.iter().copied().min().unwrap_or(0).min(0) as i128;
        let hi = values.iter().copied().max().unwrap_or(0).max(0) as i128;
        if lo == 0 && hi == 0 {
            return Axis {
                min: 0,
                max: 0,
                step: 0,
                height,
            };
        }
        let rough = (hi - lo + 3) / 4;
        let mut magnitude: i128 = 1;
        while magnitude * 10 <= rough {
            magnitude *= 10;
        }
        let step = [1, 2, 5, 10]
            .iter()
            .map(|m| m * magnitude)
            .find(|s| *s >= rough)
            .unwrap_or(10 * magnitude);
        let min = lo.div_euclid(step) * step;
        let max = -((-hi).div_euclid(step) * step);
        Axis {
            min: min as i64,
            max: max as i64,
            step: step as i64,
            height,
        }
    }

    fn ticks(&self) -> Vec<i64> {
        if self.step == 0 {
            return vec![0];
        }
        let mut ticks = Vec::new();
        let mut t = self.min;
        while t <= self.max {
            ticks.push(t);
            t += self.step;
        }
        ticks
    }

    /// The y of `value`, in tenths of a pixel.
    fn y10(&self, value: i64) -> i64 {
        if self.max == self.min {
            return (PLOT_TOP + self.height) * 10;
        }
        let span = self.max as i128 - self.min as i128;
        let down = (self.max as i128 - value as i128) * (self.height as i128 * 10);
        PLOT_TOP * 10 + ((down + span / 2) / span) as i64
    }

    /// A tick label: whole units (`50 000`), or thousands, millions, billions once the values
    /// are large (`500 M`), or with decimals for tiny steps.
    fn label(&self, value: i64) -> String {
        if self.step % 100 != 0 {
            return format_amount(value);
        }
        let units = value / 100;
        let step_units = self.step / 100;
        let largest = self.min.unsigned_abs().max(self.max.unsigned_abs()) / 100;
        if largest < 100_000 {
            return format_count(units);
        }
        for (divisor, suffix) in [(1_000_000_000, "bn"), (1_000_000, "M"), (1_000, "k")] {
            if step_units % divisor == 0 {
                return format!("{}\u{a0}{suffix}", format_count(units / divisor));
            }
        }
        format_count(units)
    }
}

/// Where one bar goes: its top and height, in tenths of a pixel. A value that is not zero is
/// at least one pixel high, so a small day next to a huge one still shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BarGeometry {
    y10: i64,
    height10: i64,
}

fn bar_geometry(axis: &Axis, value: i64) -> BarGeometry {
    let zero = axis.y10(0);
    let end = axis.y10(value);
    let mut height = (zero - end).abs();
    if value != 0 && height < 10 {
        height = 10;
    }
    BarGeometry {
        y10: if value > 0 { zero - height } else { zero },
        height10: height,
    }
}

/// Tenths of a pixel as an SVG number: `1234` → `123.4`, `1230` → `123`.
fn px(tenths: i64) -> String {
    let sign = if tenths < 0 { "-" } else { "" };
    let abs = tenths.unsigned_abs();
    if abs.is_multiple_of(10) {
        format!("{sign}{}", abs / 10)
    } else {
        format!("{sign}{}.{}", abs / 10, abs % 10)
    }
}

/// An id fragment from data: letters and digits only.
fn id_part(text: &str) -> String {
    text.chars().filter(char::is_ascii_alphanumeric).collect()
}

/// One currency's chart as an inline, accessible SVG.
fn chart_svg(series: &Series, report_day: NaiveDate, plot_height: i64) -> String {
    let values: Vec<i64> = series.days.iter().map(|(_, v)| *v).collect();
    let axis = Axis::for_values(&values, plot_height);
    let chart_height = PLOT_TOP + plot_height + CHART_FOOT;
    let currency = &series.currency;
    let id = format!("chart-{}", id_part(currency));
    let first = series.days.first().map_or(report_day, |d| d.0);
    let best = series
        .days
        .iter()
        .filter(|(_, v)| *v != 0)
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)));
    let mut desc = format!(
        "Money placed on cases per day in {currency} from {} to {}: {} in all",
        short_date(first),
        short_date(report_day),
        format_money(series.total(), currency),
    );
    match best {
        Some((date, value)) => {
            let _ = write!(
                desc,
                "; highest {} on {}; {} on {}.",
                format_money(*value, currency),
                short_date(*date),
                format_money(series.days.last().map_or(0, |d| d.1), currency),
                short_date(report_day)
            );
        }
        None => desc.push_str("; nothing was placed on cases on any of these days."),
    }

    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" \
         viewBox=\"0 0 {CHART_WIDTH} {chart_height}\" width=\"100%\" \
         preserveAspectRatio=\"xMidYMid meet\">\n\
         <title id=\"{id}-title\">Collections in {cur}, last {CHART_DAYS} days</title>\n\
         <desc id=\"{id}-desc\">{desc}</desc>\n",
        cur = esc(currency),
        desc = esc(&desc),
    );
    // Weekends, shaded: no bank files arrive then.
    for (i, (date, _)) in series.days.iter().enumerate() {
        if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
            let _ = writeln!(
                s,
                "<rect class=\"weekend\" x=\"{}\" y=\"{PLOT_TOP}\" width=\"{SLOT}\" height=\"{plot_height}\"/>",
                PLOT_LEFT + i as i64 * SLOT
            );
        }
    }
    // The value grid and its labels.
    for tick in axis.ticks() {
        let y = px(axis.y10(tick));
        let class = if tick == 0 { "axis" } else { "grid" };
        let _ = writeln!(
            s,
            "<line class=\"{class}\" x1=\"{PLOT_LEFT}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\"/>\
             <text class=\"ylabel\" x=\"{}\" y=\"{y}\" dy=\"3.5\">{}</text>",
            PLOT_LEFT + SLOT * CHART_DAYS as i64,
            PLOT_LEFT - 6,
            esc(&axis.label(tick)),
        );
    }
    // One bar per day, with its value in the tooltip; the whole column answers the pointer.
    for (i, (date, value)) in series.days.iter().enumerate() {
        let x = PLOT_LEFT + i as i64 * SLOT;
        let bar = bar_geometry(&axis, *value);
        let mut class = String::from("bar");
        if *value < 0 {
            class.push_str(" negative");
        }
        if *date == report_day {
            class.push_str(" today");
        }
        let _ = writeln!(
            s,
            "<g class=\"day\"><title>{} {}: {}</title>\
             <rect class=\"hit\" x=\"{x}\" y=\"{PLOT_TOP}\" width=\"{SLOT}\" height=\"{plot_height}\"/>\
             <rect class=\"{class}\" x=\"{}\" y=\"{}\" width=\"{BAR}\" height=\"{}\" rx=\"2\"/></g>",
            date.format("%a"),
            short_date(*date),
            money_html(*value, currency),
            x + (SLOT - BAR) / 2,
            px(bar.y10),
            px(bar.height10),
        );
    }
    // Day ticks, and the month under the first day and each first of a month.
    let base = PLOT_TOP + plot_height;
    // The first day names its month unless a first of a month follows right after.
    let month_soon = series
        .days
        .iter()
        .take(3)
        .skip(1)
        .any(|(d, _)| d.day() == 1);
    for (i, (date, _)) in series.days.iter().enumerate() {
        let x = PLOT_LEFT + i as i64 * SLOT + SLOT / 2;
        let class = if *date == report_day {
            "xlabel today"
        } else {
            "xlabel"
        };
        let _ = writeln!(
            s,
            "<line class=\"tick\" x1=\"{x}\" x2=\"{x}\" y1=\"{base}\" y2=\"{}\"/>\
             <text class=\"{class}\" x=\"{x}\" y=\"{}\">{}</text>",
            base + 4,
            base + 16,
            date.day()
        );
        if (i == 0 && !month_soon) || date.day() == 1 {
            let _ = writeln!(
                s,
                "<text class=\"month\" x=\"{}\" y=\"{}\">{}</text>",
                x - SLOT / 2 + 2,
                base + 32,
                date.format("%b %Y")
            );
        }
    }
    if best.is_none() {
        let _ = writeln!(
            s,
            "<text class=\"empty\" x=\"{}\" y=\"{}\">No money was placed on cases in these {CHART_DAYS} days</text>",
            PLOT_LEFT + SLOT * CHART_DAYS as i64 / 2,
            PLOT_TOP + plot_height / 2
        );
    }
    s.push_str("</svg>\n");
    s
}

// ---------------------------------------------------------------------------------------------
// The page.

const STYLE: &str = r#"
:root {
  --ink: #16202e; --muted: #556070; --line: #dde2ea; --soft: #f4f6f9;
  --accent: #1d5bbf; --accent-soft: #a9c3ea; --bad: #b42318; --bad-soft: #fdeceb;
  --good: #067647; --warn: #93370d; --warn-soft: #fef3e6;
}
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body {
  margin: 0; color: var(--ink); background: #fff;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    "Noto Sans", "Liberation Sans", sans-serif;
  font-variant-numeric: tabular-nums;
}
.page { max-width: 1200px; margin: 0 auto; padding: 24px 28px 40px; }
header.top {
  display: flex; flex-wrap: wrap; align-items: flex-end; justify-content: space-between;
  gap: 8px 24px; padding-bottom: 16px; border-bottom: 3px solid var(--ink);
}
.eyebrow {
  margin: 0; font-size: 12px; font-weight: 600; letter-spacing: .08em;
  text-transform: uppercase; color: var(--muted);
}
h1 { margin: 2px 0 0; font-size: 28px; line-height: 1.15; }
.when { text-align: right; }
.when time { display: block; font-size: 20px; font-weight: 600; }
.badge {
  display: inline-block; margin-top: 4px; padding: 1px 10px; border-radius: 999px;
  font-size: 12px; font-weight: 600;
}
.badge.closed { background: #e7f4ec; color: var(--good); }
.badge.open { background: var(--warn-soft); color: var(--warn); }
h2 {
  margin: 32px 0 10px; font-size: 18px; padding-bottom: 4px; border-bottom: 1px solid var(--line);
}
h3 { margin: 18px 0 6px; font-size: 15px; }
h3 .note, .note { font-weight: 400; color: var(--muted); font-size: 13px; }
.kpis {
  display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px;
  margin-top: 20px;
}
a.kpi {
  display: block; padding: 12px 14px 12px; border: 1px solid var(--line);
  border-top: 4px solid var(--accent); border-radius: 8px; color: inherit;
  text-decoration: none; background: #fff; break-inside: avoid;
}
a.kpi:hover, a.kpi:focus { background: var(--soft); }
a.kpi.bad { border-top-color: var(--bad); background: var(--bad-soft); }
a.kpi.warn { border-top-color: #dc6803; background: var(--warn-soft); }
a.kpi.calm { border-top-color: #98a2b3; }
.kpi .label {
  display: block; font-size: 12px; font-weight: 600; letter-spacing: .05em;
  text-transform: uppercase; color: var(--muted);
}
.kpi .value { display: block; font-size: 34px; font-weight: 700; line-height: 1.15; }
.kpi .amount { display: block; font-size: 15px; font-weight: 600; white-space: nowrap; }
.kpi .amount.main { font-size: 22px; font-weight: 700; }
.kpi .dec { font-size: 70%; }
.kpi .cur { font-size: 62%; font-weight: 600; color: var(--muted); }
.kpi .sub { display: block; margin-top: 4px; font-size: 12.5px; color: var(--muted); }
.charts { display: grid; gap: 8px; }
figure { margin: 0; break-inside: avoid; }
svg.chart { display: block; max-width: 100%; height: auto; }
svg.chart .weekend { fill: var(--soft); }
svg.chart .grid { stroke: var(--line); stroke-width: 1; }
svg.chart .axis { stroke: #7b8494; stroke-width: 1; }
svg.chart .tick { stroke: #98a2b3; stroke-width: 1; }
svg.chart .bar { fill: var(--accent-soft); }
svg.chart .bar.today { fill: var(--accent); }
svg.chart .bar.negative { fill: var(--bad); }
svg.chart .hit { fill: transparent; }
svg.chart .day:hover .bar { fill: #0f3d85; }
svg.chart text { font-size: 10px; fill: var(--muted); }
svg.chart .ylabel { text-anchor: end; }
svg.chart .xlabel { text-anchor: middle; }
svg.chart .xlabel.today { fill: var(--ink); font-weight: 700; }
svg.chart .month { font-weight: 600; fill: var(--ink); }
svg.chart .empty { text-anchor: middle; font-size: 13px; }
.scroll { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-size: 13.5px; margin: 4px 0 8px; }
caption { text-align: left; font-weight: 600; padding: 6px 0 4px; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th {
  font-size: 11.5px; font-weight: 600; text-transform: uppercase; letter-spacing: .04em;
  color: var(--muted); border-bottom: 2px solid var(--line); white-space: nowrap;
}
tbody tr:nth-child(even) { background: #fafbfc; }
tfoot td, tfoot th { font-weight: 700; border-top: 2px solid var(--line); border-bottom: 0; }
.num { text-align: right; white-space: nowrap; }
td.bad, span.bad { color: var(--bad); font-weight: 700; }
.zero { color: #98a2b3; }
.name { word-break: break-all; }
.meter { display: inline-block; height: 10px; border-radius: 2px; background: var(--accent); vertical-align: middle; }
.meter.closed { background: #98a2b3; }
.more { color: var(--muted); font-size: 13px; margin: 4px 0 0; }
.empty-note { color: var(--muted); font-style: italic; margin: 6px 0; }
footer {
  margin-top: 36px; padding-top: 12px; border-top: 1px solid var(--line);
  font-size: 12.5px; color: var(--muted);
}
footer dl { display: grid; grid-template-columns: max-content 1fr; gap: 3px 14px; margin: 6px 0; }
footer dt { font-weight: 600; color: var(--ink); }
footer dd { margin: 0; }
@media (max-width: 640px) {
  .page { padding: 16px 14px 32px; }
  .when { text-align: left; }
}
@media print {
  @page { margin: 12mm; }
  body { font-size: 10.5pt; }
  .page { max-width: none; padding: 0; }
  .kpis { grid-template-columns: repeat(6, 1fr); gap: 6px; }
  .kpi .value { font-size: 22pt; }
  h2 { break-after: avoid; }
  table, figure, .kpis { break-inside: avoid; }
  .scroll { overflow: visible; }
}
"#;

/// A table cell with a count: muted when zero, red when it is bad news.
fn count_cell(n: i64, bad_if_positive: bool) -> String {
    let class = if n == 0 {
        "num zero"
    } else if bad_if_positive {
        "num bad"
    } else {
        "num"
    };
    format!("<td class=\"{class}\">{}</td>", format_count(n))
}

/// An amount in a tile: the decimals and the currency smaller, so the whole units read at a
/// glance; without its tags it reads as [`format_money`].
fn tile_money(minor: i64, currency: &str) -> String {
    let amount = format_amount(minor);
    let (units, decimals) = amount.split_at(amount.len() - 3);
    format!(
        "{units}<span class=\"dec\">{decimals}</span>\u{a0}<span class=\"cur\">{}</span>",
        esc(currency)
    )
}

/// A table cell with an amount whose currency the row or column names.
fn amount_cell(minor: i64) -> String {
    let class = if minor == 0 { "num zero" } else { "num" };
    format!("<td class=\"{class}\">{}</td>", esc(&format_amount(minor)))
}

/// A table cell with an amount.
fn money_cell(minor: i64, currency: &str) -> String {
    let class = if minor == 0 { "num zero" } else { "num" };
    format!("<td class=\"{class}\">{}</td>", money_html(minor, currency))
}

/// The kinds of outbound files in the order the day makes them; others follow alphabetically.
const OUTBOUND_KINDS: &[&str] = &["receipt", "status", "letters", "reconciliation"];

impl DailyReport {
    /// The file name of this report: `report-YYYYMMDD.html`.
    pub fn file_name(&self) -> String {
        file_name(self.day)
    }

    /// Inbound files of the day.
    pub fn files_in(&self) -> i64 {
        self.inbound.iter().map(SenderFiles::files).sum()
    }

    /// Inbound files of the day rejected whole.
    pub fn files_rejected(&self) -> i64 {
        self.inbound.iter().map(|s| s.rejected).sum()
    }

    /// Outbound files of the day.
    pub fn files_out(&self) -> i64 {
        self.outbound.iter().map(|o| o.files).sum()
    }

    /// Cases not closed.
    pub fn cases_open(&self) -> i64 {
        self.cases_by_state
            .iter()
            .filter(|(state, _)| state != CaseState::Closed.as_str())
            .map(|(_, n)| n)
            .sum()
    }

    /// The open unmatched payments per currency: how many and how much, the main currency
    /// first.
    pub fn open_payment_totals(&self) -> Vec<(String, i64, i64)> {
        let mut totals: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
        for p in &self.open_payments {
            let entry = totals.entry(p.currency.as_str()).or_default();
            entry.0 += 1;
            entry.1 += p.amount_minor;
        }
        let mut out: Vec<(String, i64, i64)> = totals
            .into_iter()
            .map(|(c, (n, sum))| (c.to_owned(), n, sum))
            .collect();
        out.sort_by_key(|t| (t.0 != self.main_currency, t.0.clone()));
        out
    }

    /// The page: self-contained HTML, the same bytes for the same report.
    pub fn to_html(&self) -> String {
        let mut h = String::with_capacity(64 * 1024);
        let agency = esc(&self.agency);
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"generator\" content=\"kravflyt\">\n\
             <title>{agency} \u{2014} daily report {day}</title>\n<style>{STYLE}</style>\n\
             </head>\n<body>\n<div class=\"page\">\n",
            day = self.day,
        );
        self.header(&mut h);
        h.push_str("<main>\n");
        self.tiles(&mut h);
        self.charts(&mut h);
        self.files_section(&mut h);
        self.cases_section(&mut h);
        self.money_section(&mut h);
        self.unmatched_section(&mut h);
        h.push_str("</main>\n");
        self.footer(&mut h);
        h.push_str("</div>\n</body>\n</html>\n");
        h
    }

    fn header(&self, h: &mut String) {
        let (badge_class, badge) = if self.day_closed {
            ("closed", "Day closed \u{2014} reconciled")
        } else {
            ("open", "Day open \u{2014} figures may still change")
        };
        let _ = write!(
            h,
            "<header class=\"top\">\n<div>\n<p class=\"eyebrow\">Daily report</p>\n\
             <h1>{}</h1>\n</div>\n<div class=\"when\">\n\
             <time datetime=\"{}\">{}</time>\n<span class=\"badge {badge_class}\">{badge}</span>\n\
             </div>\n</header>\n",
            esc(&self.agency),
            self.day,
            self.day.format("%A %-d %B %Y"),
        );
    }

    /// The currency amounts of a tile: the main currency first and larger; currencies that
    /// are zero everywhere left out, unless all are.
    fn amount_lines(&self, amounts: &[(String, i64)]) -> String {
        let mut lines = String::new();
        let shown: Vec<&(String, i64)> = amounts.iter().filter(|(_, v)| *v != 0).collect();
        let shown: Vec<&(String, i64)> = if shown.is_empty() {
            amounts
                .iter()
                .filter(|(c, _)| *c == self.main_currency)
                .collect()
        } else {
            shown
        };
        if shown.is_empty() {
            let _ = write!(
                lines,
                "<span class=\"amount main\">{}</span>",
                tile_money(0, &self.main_currency)
            );
        }
        for (i, (currency, value)) in shown.iter().enumerate() {
            let class = if i == 0 { "amount main" } else { "amount" };
            let _ = write!(
                lines,
                "<span class=\"{class}\">{}</span>",
                tile_money(*value, currency)
            );
        }
        lines
    }

    fn tiles(&self, h: &mut String) {
        let received: Vec<(String, i64)> = self
            .money
            .iter()
            .map(|s| (s.currency.clone(), s.received_minor))
            .collect();
        let allocated: Vec<(String, i64)> = self
            .money
            .iter()
            .map(|s| (s.currency.clone(), s.allocated.total()))
            .collect();
        let open = self.open_payment_totals();
        let unmatched: Vec<(String, i64)> =
            open.iter().map(|(c, _, sum)| (c.clone(), *sum)).collect();
        let open_count: i64 = open.iter().map(|(_, n, _)| n).sum();
        let records_accepted: i64 = self.inbound.iter().map(|s| s.records_accepted).sum();
        let records_rejected: i64 = self.inbound.iter().map(|s| s.records_rejected).sum();
        let partly: i64 = self.inbound.iter().map(|s| s.partly_accepted).sum();
        let duplicates: i64 = self.inbound.iter().map(|s| s.duplicate).sum();
        let overpaid: i64 = self.money.iter().map(|s| s.overpaid_minor).sum();

        h.push_str("<section class=\"kpis\" aria-label=\"Key figures\">\n");
        let tile =
            |h: &mut String, class: &str, href: &str, label: &str, value: &str, sub: &str| {
                let _ = writeln!(
                    h,
                    "<a class=\"kpi {class}\" href=\"#{href}\"><span class=\"label\">{label}</span>\
                 <span class=\"value\">{value}</span><span class=\"sub\">{sub}</span></a>"
                );
            };
        tile(
            h,
            "",
            "files",
            "Files in",
            &format_count(self.files_in()),
            &format!(
                "{} records accepted \u{b7} {} files out",
                format_count(records_accepted),
                format_count(self.files_out())
            ),
        );
        let rejected = self.files_rejected();
        tile(
            h,
            if rejected > 0 {
                "bad"
            } else if partly + duplicates > 0 {
                "warn"
            } else {
                "calm"
            },
            "files",
            "Files rejected",
            &format_count(rejected),
            &format!(
                "{} partly accepted \u{b7} {} duplicates \u{b7} {} records rejected",
                format_count(partly),
                format_count(duplicates),
                format_count(records_rejected)
            ),
        );
        tile(
            h,
            "",
            "money",
            "Money received",
            &self.amount_lines(&received),
            "bank and direct payments of the day",
        );
        tile(
            h,
            "",
            "money",
            "Allocated",
            &self.amount_lines(&allocated),
            &if overpaid != 0 {
                "placed on claims; overpaid parts not included".to_owned()
            } else {
                "placed on principal, interest, fees and costs".to_owned()
            },
        );
        tile(
            h,
            if open_count > 0 { "warn" } else { "calm" },
            "unmatched",
            "Unmatched",
            &self.amount_lines(&unmatched),
            &format!(
                "{} {} waiting for a case at day end",
                format_count(open_count),
                if open_count == 1 {
                    "payment"
                } else {
                    "payments"
                }
            ),
        );
        tile(
            h,
            "",
            "cases",
            "Cases open",
            &format_count(self.cases_open()),
            &format!(
                "+{} opened \u{b7} \u{2212}{} closed on {}",
                format_count(self.cases_opened),
                format_count(self.cases_closed),
                self.day.format("%-d %b")
            ),
        );
        h.push_str("</section>\n");
    }

    fn charts(&self, h: &mut String) {
        let _ = writeln!(
            h,
            "<section id=\"collections\">\n<h2>Collections, last {CHART_DAYS} days \
             <span class=\"note\">money placed on cases per day</span></h2>\n<div class=\"charts\">"
        );
        for (i, series) in self.collections.iter().enumerate() {
            let _ = write!(
                h,
                "<figure>\n<h3>{} <span class=\"note\">{} in {CHART_DAYS} days</span></h3>\n{}</figure>\n",
                esc(&series.currency),
                money_html(series.total(), &series.currency),
                chart_svg(
                    series,
                    self.day,
                    if i == 0 {
                        PLOT_HEIGHT
                    } else {
                        SMALL_PLOT_HEIGHT
                    }
                ),
            );
        }
        h.push_str("</div>\n</section>\n");
    }

    fn files_section(&self, h: &mut String) {
        h.push_str("<section id=\"files\">\n<h2>Files in and out</h2>\n<div class=\"scroll\">\n");
        // Inbound, per sender.
        h.push_str(
            "<table>\n<caption>In \u{2014} files with this business date, by sender</caption>\n\
             <thead><tr><th>Sender</th><th class=\"num\">Files</th><th class=\"num\">Accepted</th>\
             <th class=\"num\">Partly</th><th class=\"num\">Rejected</th><th class=\"num\">Duplicate</th>\
             <th class=\"num\">Records ok</th><th class=\"num\">Records rejected</th></tr></thead>\n<tbody>\n",
        );
        let mut total = SenderFiles::default();
        for s in &self.inbound {
            let _ = writeln!(
                h,
                "<tr><th scope=\"row\">{}</th>{}{}{}{}{}{}{}</tr>",
                esc(&s.sender),
                count_cell(s.files(), false),
                count_cell(s.accepted, false),
                count_cell(s.partly_accepted, false),
                count_cell(s.rejected, true),
                count_cell(s.duplicate, false),
                count_cell(s.records_accepted, false),
                count_cell(s.records_rejected, true),
            );
            total.accepted += s.accepted;
            total.partly_accepted += s.partly_accepted;
            total.rejected += s.rejected;
            total.duplicate += s.duplicate;
            total.records_accepted += s.records_accepted;
            total.records_rejected += s.records_rejected;
        }
        if self.inbound.is_empty() {
            h.push_str("<tr><td colspan=\"8\" class=\"empty-note\">No files arrived.</td></tr>\n");
        }
        let _ = writeln!(
            h,
            "</tbody>\n<tfoot><tr><th scope=\"row\">All</th>{}{}{}{}{}{}{}</tr></tfoot>\n</table>",
            count_cell(total.files(), false),
            count_cell(total.accepted, false),
            count_cell(total.partly_accepted, false),
            count_cell(total.rejected, true),
            count_cell(total.duplicate, false),
            count_cell(total.records_accepted, false),
            count_cell(total.records_rejected, true),
        );

        // Outbound, per folder and kind.
        let mut kinds: Vec<&str> = OUTBOUND_KINDS.to_vec();
        let mut others: Vec<&str> = self
            .outbound
            .iter()
            .map(|o| o.kind.as_str())
            .filter(|k| !OUTBOUND_KINDS.contains(k))
            .collect();
        others.sort_unstable();
        others.dedup();
        kinds.extend(others);
        let mut folders: BTreeMap<&str, BTreeMap<&str, i64>> = BTreeMap::new();
        for o in &self.outbound {
            *folders
                .entry(o.folder.as_str())
                .or_default()
                .entry(o.kind.as_str())
                .or_default() += o.files;
        }
        let _ = write!(
            h,
            "<table>\n<caption>Out \u{2014} files of this day, by folder</caption>\n\
             <thead><tr><th>Folder</th><th class=\"num\">Files</th>{}</tr></thead>\n<tbody>\n",
            kinds
                .iter()
                .map(|k| format!("<th class=\"num\">{}</th>", esc(&words(k))))
                .collect::<String>()
        );
        for (folder, per_kind) in &folders {
            let _ = writeln!(
                h,
                "<tr><th scope=\"row\">{}</th>{}{}</tr>",
                esc(folder),
                count_cell(per_kind.values().sum(), false),
                kinds
                    .iter()
                    .map(|k| count_cell(per_kind.get(k).copied().unwrap_or(0), false))
                    .collect::<String>()
            );
        }
        if folders.is_empty() {
            let _ = writeln!(
                h,
                "<tr><td colspan=\"{}\" class=\"empty-note\">No files went out.</td></tr>",
                kinds.len() + 2
            );
        }
        let _ = writeln!(
            h,
            "</tbody>\n<tfoot><tr><th scope=\"row\">All</th>{}{}</tr></tfoot>\n</table>",
            count_cell(self.files_out(), false),
            kinds
                .iter()
                .map(|k| count_cell(
                    self.outbound
                        .iter()
                        .filter(|o| o.kind == *k)
                        .map(|o| o.files)
                        .sum(),
                    false
                ))
                .collect::<String>()
        );
        h.push_str("</div>\n");

        // The files that need a look.
        if self.files_not_accepted.is_empty() {
            h.push_str("<p class=\"empty-note\">Every file of the day was accepted whole.</p>\n");
        } else {
            h.push_str(
                "<table>\n<caption>Files not accepted whole</caption>\n<thead><tr><th>Sender</th>\
                 <th>File</th><th>Status</th><th class=\"num\">Records</th>\
                 <th class=\"num\">Accepted</th><th class=\"num\">Rejected</th></tr></thead>\n<tbody>\n",
            );
            for f in self.files_not_accepted.iter().take(MAX_LISTED) {
                let status_class = if f.status == "rejected" {
                    " class=\"bad\""
                } else {
                    ""
                };
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td class=\"name\">{}</td><td{status_class}>{}</td>{}{}{}</tr>",
                    esc(&f.sender),
                    esc(&f.original_name),
                    esc(&words(&f.status)),
                    count_cell(f.records_total, false),
                    count_cell(f.records_accepted, false),
                    count_cell(f.records_rejected, true),
                );
            }
            h.push_str("</tbody>\n</table>\n");
            if self.files_not_accepted.len() > MAX_LISTED {
                let _ = writeln!(
                    h,
                    "<p class=\"more\">Showing {MAX_LISTED} of {} files; their receipts say what is wrong.</p>",
                    format_count(self.files_not_accepted.len() as i64)
                );
            }
        }
        h.push_str("</section>\n");
    }

    fn cases_section(&self, h: &mut String) {
        let as_of = match self.state_as_of {
            Some(d) => format!("now, after business day {}", short_date(d)),
            None => "now".to_owned(),
        };
        let _ = write!(
            h,
            "<section id=\"cases\">\n<h2>Cases</h2>\n<p>Opened on {}: <strong>{}</strong> \u{b7} \
             closed on {}: <strong>{}</strong></p>\n<table>\n<caption>By state \
             <span class=\"note\">({as_of})</span></caption>\n<thead><tr><th>State</th>\
             <th class=\"num\">Cases</th><th style=\"width:50%\"><span class=\"note\">share</span></th></tr></thead>\n<tbody>\n",
            short_date(self.day),
            format_count(self.cases_opened),
            short_date(self.day),
            format_count(self.cases_closed),
        );
        let all: i64 = self.cases_by_state.iter().map(|(_, n)| n).sum();
        let largest = self
            .cases_by_state
            .iter()
            .map(|(_, n)| *n)
            .max()
            .unwrap_or(0);
        for (state, n) in &self.cases_by_state {
            // Width in tenths of a percent of the largest state.
            let width = if largest > 0 { n * 1000 / largest } else { 0 };
            let closed = if state == CaseState::Closed.as_str() {
                " closed"
            } else {
                ""
            };
            let _ = writeln!(
                h,
                "<tr><th scope=\"row\">{}</th>{}<td><span class=\"meter{closed}\" style=\"width:{}%\"></span></td></tr>",
                esc(&words(state)),
                count_cell(*n, false),
                px(width),
            );
        }
        if self.cases_by_state.is_empty() {
            h.push_str("<tr><td colspan=\"3\" class=\"empty-note\">No cases yet.</td></tr>\n");
        }
        let _ = writeln!(
            h,
            "</tbody>\n<tfoot><tr><th scope=\"row\">All</th>{}<td>{} open</td></tr></tfoot>\n</table>\n</section>",
            count_cell(all, false),
            format_count(self.cases_open()),
        );
    }

    fn money_section(&self, h: &mut String) {
        let _ = write!(
            h,
            "<section id=\"money\">\n<h2>Money on {}</h2>\n<div class=\"scroll\">\n<table>\n<caption>Per currency \
             <span class=\"note\">(amounts in the row\u{2019}s currency; received = allocated + \
             overpaid + unmatched)</span></caption>\n\
             <thead><tr><th>Currency</th><th class=\"num\">Received</th><th class=\"num\">Allocated</th>\
             <th class=\"num\">Principal</th><th class=\"num\">Interest</th><th class=\"num\">Fees</th>\
             <th class=\"num\">Collection costs</th><th class=\"num\">Overpaid</th>\
             <th class=\"num\">Unmatched</th><th class=\"num\">Net payout</th>\
             <th class=\"num\">Open balance end</th></tr></thead>\n<tbody>\n",
            short_date(self.day)
        );
        for s in &self.money {
            let c = &s.currency;
            let _ = writeln!(
                h,
                "<tr><th scope=\"row\">{}</th>{}{}{}{}{}{}{}{}{}{}</tr>",
                esc(c),
                amount_cell(s.received_minor),
                amount_cell(s.allocated.total()),
                amount_cell(s.allocated.principal),
                amount_cell(s.allocated.interest),
                amount_cell(s.allocated.fees),
                amount_cell(s.allocated.collection_costs),
                amount_cell(s.overpaid_minor),
                amount_cell(s.unmatched_minor),
                amount_cell(s.net_payout_minor),
                amount_cell(s.balance.end_minor),
            );
        }
        if self.money.is_empty() {
            h.push_str("<tr><td colspan=\"11\" class=\"empty-note\">No money moved.</td></tr>\n");
        }
        h.push_str("</tbody>\n</table>\n");

        h.push_str(
            "<table>\n<caption>Per creditor</caption>\n<thead><tr><th>Creditor</th>\
             <th>Id</th><th class=\"num\">Received</th><th class=\"num\">Allocated</th>\
             <th class=\"num\">Net payout</th><th class=\"num\">Open balance start</th>\
             <th class=\"num\">Open balance end</th></tr></thead>\n<tbody>\n",
        );
        for c in &self.creditors {
            let s = &c.summary;
            let cur = &s.currency;
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td>{}{}{}{}{}</tr>",
                esc(&c.name),
                esc(s.creditor_id.as_deref().unwrap_or("")),
                money_cell(s.received_minor, cur),
                money_cell(s.allocated.total(), cur),
                money_cell(s.net_payout_minor, cur),
                money_cell(s.balance.start_minor, cur),
                money_cell(s.balance.end_minor, cur),
            );
        }
        if self.creditors.is_empty() {
            h.push_str("<tr><td colspan=\"7\" class=\"empty-note\">No creditors.</td></tr>\n");
        }
        h.push_str("</tbody>\n</table>\n</div>\n</section>\n");
    }

    fn unmatched_section(&self, h: &mut String) {
        let open = self.open_payment_totals();
        let count = self.open_payments.len();
        let _ = write!(
            h,
            "<section id=\"unmatched\">\n<h2>Unmatched payments open at the end of {}</h2>\n",
            short_date(self.day)
        );
        if count == 0 {
            h.push_str(
                "<p class=\"empty-note\">None: every payment is on a case.</p>\n</section>\n",
            );
            return;
        }
        let _ = writeln!(
            h,
            "<p><strong>{}</strong> {} waiting for a case: {}.</p>",
            format_count(count as i64),
            if count == 1 { "payment" } else { "payments" },
            open.iter()
                .map(|(c, n, sum)| if open.len() == 1 {
                    money_html(*sum, c)
                } else {
                    format!("{} ({})", money_html(*sum, c), format_count(*n))
                })
                .collect::<Vec<_>>()
                .join(" \u{b7} ")
        );
        h.push_str(
            "<div class=\"scroll\">\n<table>\n<thead><tr><th>Received</th><th>Paid</th><th>Sender</th><th>Payment id</th>\
             <th>Reference</th><th class=\"num\">Amount</th><th>Reason</th></tr></thead>\n<tbody>\n",
        );
        for p in self.open_payments.iter().take(MAX_LISTED) {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"name\">{}</td><td class=\"name\">{}</td>{}<td>{}</td></tr>",
                p.received_on,
                p.payment_date,
                esc(&p.sender),
                esc(&p.payment_id),
                esc(p.reference.as_deref().unwrap_or("\u{2014}")),
                money_cell(p.amount_minor, &p.currency),
                esc(&words(p.reason.as_deref().unwrap_or(""))),
            );
        }
        h.push_str("</tbody>\n</table>\n</div>\n");
        if count > MAX_LISTED {
            let _ = writeln!(
                h,
                "<p class=\"more\">Showing the oldest {MAX_LISTED} of {}; <code>kravflyt status</code> lists them all.</p>",
                format_count(count as i64)
            );
        }
        h.push_str("</section>\n");
    }

    fn footer(&self, h: &mut String) {
        let day = self.day;
        let compact = day.format("%Y%m%d");
        let _ = write!(
            h,
            "<footer>\n<p>How the figures are counted, for business day {day}:</p>\n<dl>\n\
             <dt>Files in</dt><dd>inbound files with business date {day}, by the status they \
             got; records as the receipts count them.</dd>\n\
             <dt>Files out</dt><dd>the receipts of those files, and the other outbound files \
             whose name carries the date: <code>status-{compact}-*</code>, \
             <code>letters-{compact}-*</code> and <code>reconciliation-{compact}.*</code> (the \
             reconciliation is queued once the day is closed, at the next day\u{2019}s run). \
             This report is not counted.</dd>\n\
             <dt>Money</dt><dd>the day\u{2019}s reconciliation, agency totals per currency: \
             received = allocated + overpaid + unmatched; unmatched money placed on a case \
             later counts there, negative, on the day it is placed.</dd>\n\
             <dt>Cases</dt><dd>by state as of when this report was made; opened and closed \
             by their dates.</dd>\n\
             <dt>Unmatched</dt><dd>payments received on or before {day} that at its end were \
             not on a case and not reversed; oldest first, at most {MAX_LISTED} listed.</dd>\n\
             <dt>Collections</dt><dd>per day, the money placed on cases: the allocations of \
             the payments matched that day, overpaid parts left out, reversals negative. \
             Weekends are shaded.</dd>\n</dl>\n<p>Made by kravflyt from its database; the \
             same data gives the same page.</p>\n</footer>\n",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::reconciliation::Parts;

    #[test]
    fn amounts_are_grouped_with_thin_spaces_and_two_decimals() {
        assert_eq!(format_amount(0), "0,00");
        assert_eq!(format_amount(5), "0,05");
        assert_eq!(format_amount(99_999), "999,99");
        assert_eq!(format_amount(100_000), "1\u{202f}000,00");
        assert_eq!(format_amount(123_456_789), "1\u{202f}234\u{202f}567,89");
        assert_eq!(format_amount(-123_450), "\u{2212}1\u{202f}234,50");
        assert_eq!(
            format_amount(9_999_999_999_999_999),
            "99\u{202f}999\u{202f}999\u{202f}999\u{202f}999,99"
        );
        assert_eq!(
            format_amount(i64::MIN),
            "\u{2212}92\u{202f}233\u{202f}720\u{202f}368\u{202f}547\u{202f}758,08"
        );
        assert_eq!(format_money(1_238_000, "NOK"), "12\u{202f}380,00\u{a0}NOK");
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1_000), "1\u{202f}000");
        assert_eq!(format_count(-1_234_567), "\u{2212}1\u{202f}234\u{202f}567");
    }

    #[test]
    fn escaping_makes_markup_inert() {
        assert_eq!(
            escape_html("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(escape_html("a\u{1b}b\tc"), "a\u{fffd}b\tc");
        assert_eq!(escape_html("Fjellstua Kafé"), "Fjellstua Kafé");
    }

    #[test]
    fn an_axis_of_only_zero_days_draws_flat_bars_on_one_tick() {
        let axis = Axis::for_values(&[0; CHART_DAYS], PLOT_HEIGHT);
        assert_eq!(axis.ticks(), vec![0]);
        let bottom = (PLOT_TOP + PLOT_HEIGHT) * 10;
        assert_eq!(axis.y10(0), bottom);
        assert_eq!(
            bar_geometry(&axis, 0),
            BarGeometry {
                y10: bottom,
                height10: 0
            }
        );
        assert_eq!(Axis::for_values(&[], PLOT_HEIGHT).ticks(), vec![0]);
    }

    #[test]
    fn one_huge_day_fills_the_chart_and_small_days_still_show() {
        let huge = 9_999_999_999_999_999; // far above any real day (MAX_AMOUNT is 10^14 - 1)
        let mut values = vec![0; CHART_DAYS];
        values[CHART_DAYS - 1] = huge;
        values[3] = 1;
        let axis = Axis::for_values(&values, PLOT_HEIGHT);
        assert!(axis.max >= huge && axis.min == 0, "{axis:?}");
        let ticks = axis.ticks();
        assert!((2..=6).contains(&ticks.len()), "{ticks:?}");
        // Nice steps: 1, 2 or 5 times a power of ten.
        let mut m = axis.step;
        while m % 10 == 0 {
            m /= 10;
        }
        assert!([1, 2, 5].contains(&m), "step {}", axis.step);
        let big = bar_geometry(&axis, huge);
        assert!(big.height10 > PLOT_HEIGHT * 10 * 8 / 10, "{big:?}");
        assert_eq!(big.y10 + big.height10, (PLOT_TOP + PLOT_HEIGHT) * 10);
        assert!(big.y10 >= PLOT_TOP * 10);
        let tiny = bar_geometry(&axis, 1);
        assert_eq!(tiny.height10, 10, "one pixel at least");
        assert_eq!(bar_geometry(&axis, 0).height10, 0);
        // The labels stay short.
        for t in ticks {
            assert!(axis.label(t).chars().count() <= 10, "{}", axis.label(t));
        }
    }

    #[test]
    fn axes_are_nice_and_hold_negative_days() {
        let axis = Axis::for_values(&[1_238_000, 0, 189_000], PLOT_HEIGHT);
        assert_eq!(
            axis,
            Axis {
                min: 0,
                max: 1_500_000,
                step: 500_000,
                height: PLOT_HEIGHT,
            }
        );
        assert_eq!(axis.label(500_000), "5\u{202f}000");
        assert_eq!(axis.y10(1_500_000), PLOT_TOP * 10);

        let axis = Axis::for_values(&[-40_000, 100_000], PLOT_HEIGHT);
        assert!(axis.min <= -40_000 && axis.max >= 100_000, "{axis:?}");
        assert!(axis.ticks().contains(&0));
        let down = bar_geometry(&axis, -40_000);
        assert_eq!(down.y10, axis.y10(0));
        assert!(down.height10 > 0);

        let axis = Axis::for_values(&[30_000_000_000], PLOT_HEIGHT);
        assert_eq!(axis.label(axis.step), "100\u{a0}M");
        let axis = Axis::for_values(&[3], PLOT_HEIGHT);
        assert_eq!(axis.label(axis.step), "0,01");
    }

    fn sample() -> DailyReport {
        let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let from = day.checked_sub_days(Days::new(29)).unwrap();
        DailyReport {
            day,
            agency: "Inkasso <b>&</b> Co".into(),
            day_closed: false,
            state_as_of: Some(day),
            inbound: vec![SenderFiles {
                sender: "nordlys".into(),
                accepted: 1,
                rejected: 1,
                records_total: 3,
                records_accepted: 3,
                ..SenderFiles::default()
            }],
            files_not_accepted: vec![InboundFileRow {
                sender: "nordlys".into(),
                original_name: "<script>alert(1)</script>.csv".into(),
                status: "rejected".into(),
                records_total: 0,
                records_accepted: 0,
                records_rejected: 0,
            }],
            outbound: vec![OutboundCount {
                folder: "nordlys".into(),
                kind: "receipt".into(),
                files: 2,
            }],
            cases_by_state: vec![("notice".into(), 2), ("closed".into(), 1)],
            cases_opened: 3,
            cases_closed: 1,
            money: vec![Summary {
                currency: "NOK".into(),
                received_minor: 150_000,
                allocated: Parts {
                    principal: 100_000,
                    ..Parts::default()
                },
                unmatched_minor: 50_000,
                ..Summary::default()
            }],
            creditors: Vec::new(),
            open_payments: vec![OpenPayment {
                sender: "bank".into(),
                payment_id: "P\"1".into(),
                amount_minor: 50_000,
                currency: "NOK".into(),
                payment_date: day,
                received_on: day,
                reference: Some("<img onerror=x>".into()),
                reason: Some("unknown_reference".into()),
            }],
            main_currency: "NOK".into(),
            collections: vec![Series {
                currency: "NOK".into(),
                days: from
                    .iter_days()
                    .take(CHART_DAYS)
                    .map(|d| (d, if d == day { 100_000 } else { 0 }))
                    .collect(),
            }],
        }
    }

    #[test]
    fn the_page_escapes_data_and_is_self_contained() {
        let html = sample().to_html();
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"));
        assert!(!html.contains("<b>&"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;.csv"));
        assert!(html.contains("Inkasso &lt;b&gt;&amp;&lt;/b&gt; Co"));
        assert!(html.contains("P&quot;1"));
        for forbidden in ["http:", "https:", "src=", "url(", "@import"] {
            assert!(!html.contains(forbidden), "{forbidden}");
        }
        assert_eq!(html.matches("<rect class=\"bar").count(), CHART_DAYS);
        assert_eq!(
            html,
            sample().to_html(),
            "the same report gives the same bytes"
        );
        assert_eq!(sample().cases_open(), 2);
        assert_eq!(sample().file_name(), "report-20261123.html");
    }
}
