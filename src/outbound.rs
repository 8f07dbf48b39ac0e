//! Status, letters and reconciliation files (SPEC §7): what the creditors' systems and the
//! print channel read. Rows are chosen and rendered inside one transaction that also moves the
//! "reported up to" markers and queues the files in the outbox, so every event, letter and
//! reconciliation line is written once, even across crashes; the outbox writes them after the
//! commit.

use chrono::NaiveDate;

use crate::config::{ActsFor, Config, CsvDialect, Sender};
use crate::domain::OutboundDialect;
use crate::money::format_minor;
use crate::receipt::{neutralise, write_csv, xml_escape};
use crate::store::{LetterRow, StatusRow, Store, StoreError, Tx};
use crate::workspace::AGENCY_FOLDER;

/// The columns of a status file, in order.
pub const STATUS_COLUMNS: &[&str] = &[
    "event_id",
    "event_date",
    "creditor_id",
    "case_no",
    "invoice_no",
    "event",
    "state",
    "amount",
    "principal_open",
    "interest_open",
    "fees_open",
    "total_open",
    "deadline",
    "reason",
];

/// The columns of a letters file, in order.
pub const LETTER_COLUMNS: &[&str] = &[
    "letter_id",
    "case_no",
    "creditor_id",
    "creditor_name",
    "step",
    "debtor_name",
    "address",
    "postcode",
    "city",
    "country",
    "reference",
    "account",
    "currency",
    "principal",
    "interest",
    "interest_rate",
    "interest_from",
    "fees",
    "collection_costs",
    "total",
    "deadline",
];

/// What one reporting pass queued.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reported {
    pub status_files: u64,
    pub letters_files: u64,
}

/// Queues a status file for every sender with new events of its creditors, and a letters file
/// with every new letter, named for `business_date`.
pub fn queue_reports(
    store: &mut Store,
    config: &Config,
    business_date: NaiveDate,
) -> Result<Reported, StoreError> {
    let tx = store.write()?;
    let mut reported = Reported::default();
    let now = chrono::Utc::now().to_rfc3339();
    for sender in &config.senders {
        let ActsFor::Creditors(creditors) = &sender.acts_for else {
            // The agency's own channels get receipts only (SPEC §7).
            continue;
        };
        let through_key = format!("status_through:{}", sender.id);
        let through = meta_number(&tx, &through_key)?;
        let creditors: Vec<String> = creditors.iter().cloned().collect();
        let rows = tx.status_rows(&creditors, through)?;
        let Some(last) = rows.last().map(|r| r.event_id) else {
            continue;
        };
        let seq = next_seq(&tx, &format!("status_seq:{}", sender.id))?;
        let stem = format!("status-{}-{seq}", business_date.format("%Y%m%d"));
        let table = |cells| status_table(&rows, cells);
        for (ext, content) in render(sender, &table, "status", "row") {
            tx.insert_outbox(
                &sender.id,
                &format!("{stem}.{ext}"),
                "status",
                &content,
                None,
                &now,
            )?;
        }
        tx.set_meta(&through_key, &last.to_string())?;
        reported.status_files += 1;
    }
    let through = meta_number(&tx, "letters_through")?;
    let letters = tx.letter_rows(through)?;
    if let Some(last) = letters.last().map(|l| l.letter_id) {
        let seq = next_seq(&tx, "letters_seq")?;
        let name = format!("letters-{}-{seq}.csv", business_date.format("%Y%m%d"));
        let dialect = CsvDialect::default();
        let content = csv_bytes(
            &letters_table(
                &letters,
                config,
                Cells {
                    separator: dialect.decimal_separator,
                    csv: true,
                },
            ),
            &dialect,
        );
        tx.insert_outbox(AGENCY_FOLDER, &name, "letters", &content, None, &now)?;
        tx.set_meta("letters_through", &last.to_string())?;
        reported.letters_files += 1;
    }
    tx.commit()?;
    Ok(reported)
}

fn meta_number(tx: &Tx<'_>, key: &str) -> Result<i64, StoreError> {
    Ok(tx.meta(key)?.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// The next number of a file series: 1, 2, 3, … without gaps (the increment commits with the
/// file it numbers).
fn next_seq(tx: &Tx<'_>, key: &str) -> Result<i64, StoreError> {
    let seq = meta_number(tx, key)? + 1;
    tx.set_meta(key, &seq.to_string())?;
    Ok(seq)
}

/// A file's columns and rows, rendered as CSV or XML.
pub(crate) type Table = (Vec<&'static str>, Vec<Vec<String>>);

/// How a file's cells are written: amounts with the file's decimal separator; text guarded
/// against spreadsheet formulas in CSV only (XML readers get the value as it is).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cells {
    pub separator: char,
    pub csv: bool,
}

impl Cells {
    pub fn amount(&self, minor: i64) -> String {
        format_minor(minor, self.separator)
    }

    pub fn text(&self, text: &str) -> String {
        if self.csv {
            neutralise(text)
        } else {
            text.to_owned()
        }
    }
}

fn status_table(rows: &[StatusRow], cells: Cells) -> Table {
    let body = rows
        .iter()
        .map(|r| {
            vec![
                r.event_id.to_string(),
                r.event_date.clone(),
                r.creditor_id.clone(),
                r.case_no.clone(),
                cells.text(r.invoice_no.as_deref().unwrap_or("")),
                r.event.clone(),
                r.state.clone(),
                r.amount_minor.map(|a| cells.amount(a)).unwrap_or_default(),
                cells.amount(r.principal_open),
                cells.amount(r.interest_open),
                cells.amount(r.fees_open),
                cells.amount(r.total_open),
                r.deadline.clone().unwrap_or_default(),
                cells.text(&r.reason),
            ]
        })
        .collect();
    (STATUS_COLUMNS.to_vec(), body)
}

fn letters_table(rows: &[LetterRow], config: &Config, cells: Cells) -> Table {
    let body = rows
        .iter()
        .map(|l| {
            let creditor_name = config
                .creditor(&l.creditor_id)
                .map_or(String::new(), |c| c.name.clone());
            vec![
                l.letter_id.to_string(),
                l.case_no.clone(),
                l.creditor_id.clone(),
                cells.text(&creditor_name),
                l.step.clone(),
                cells.text(&l.debtor_name),
                cells.text(&l.address),
                cells.text(&l.postcode),
                cells.text(&l.city),
                l.country.clone(),
                l.reference.clone(),
                cells.text(&l.account),
                l.currency.clone(),
                cells.amount(l.principal_minor),
                cells.amount(l.interest_minor),
                l.interest_rate.replace('.', &cells.separator.to_string()),
                l.interest_from.clone().unwrap_or_default(),
                cells.amount(l.fees_minor),
                cells.amount(l.collection_costs_minor),
                cells.amount(l.total_minor),
                l.deadline.clone(),
            ]
        })
        .collect();
    (LETTER_COLUMNS.to_vec(), body)
}

pub(crate) fn csv_bytes((columns, rows): &Table, dialect: &CsvDialect) -> Vec<u8> {
    write_csv(columns, rows, dialect)
}

fn xml_bytes((columns, rows): &Table, root: &str, item: &str) -> Vec<u8> {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root} xmlns=\"{}\">\n",
        crate::detect::KRAVFLYT_NS
    );
    for row in rows {
        out.push_str(&format!("  <{item}>\n"));
        for (column, value) in columns.iter().zip(row) {
            if !value.is_empty() {
                out.push_str(&format!("    <{column}>{}</{column}>\n", xml_escape(value)));
            }
        }
        out.push_str(&format!("  </{item}>\n"));
    }
    out.push_str(&format!("</{root}>\n"));
    out.into_bytes()
}

/// A sender's file in its dialect: CSV, and XML as well where it reads XML. `table` builds
/// the rows for a kind of cells: the sender's decimal separator and formula guard for CSV, a
/// point and the plain text for XML.
pub(crate) fn render(
    sender: &Sender,
    table: &dyn Fn(Cells) -> Table,
    root: &str,
    item: &str,
) -> Vec<(&'static str, Vec<u8>)> {
    let mut files = vec![(
        "csv",
        csv_bytes(
            &table(Cells {
                separator: sender.csv.decimal_separator,
                csv: true,
            }),
            &sender.csv,
        ),
    )];
    if sender.writes == OutboundDialect::Xml {
        files.push((
            "xml",
            xml_bytes(
                &table(Cells {
                    separator: '.',
                    csv: false,
                }),
                root,
                item,
            ),
        ));
    }
    files
}

/// One reconciliation file of a day, and whether this call queued it (not made before).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconciliationFile {
    pub folder: String,
    pub name: String,
    pub content: Vec<u8>,
    pub new: bool,
}

/// Queues the reconciliation files of every business day before `before` that has none yet,
/// oldest first, one transaction per day; returns the days.
pub fn queue_reconciliations(
    store: &mut Store,
    config: &Config,
    before: NaiveDate,
) -> Result<Vec<NaiveDate>, StoreError> {
    let days = store.read()?.unreconciled_days_before(before)?;
    for &day in &days {
        let tx = store.write()?;
        queue_day(&tx, config, day)?;
        tx.commit()?;
    }
    Ok(days)
}

/// `kravflyt reconcile --date D`: queues `day`'s files if they were never made, or checks that
/// the ones made before have exactly the same content; returns every file of the day with
/// whether it is new.
pub fn regenerate_reconciliation(
    store: &mut Store,
    config: &Config,
    day: NaiveDate,
) -> Result<Vec<ReconciliationFile>, StoreError> {
    let tx = store.write()?;
    let files = queue_day(&tx, config, day)?;
    tx.commit()?;
    Ok(files)
}

/// Builds `day`'s files and queues those not queued before; one made before must be
/// byte-identical (a closed day never changes), or this is an internal error.
fn queue_day(
    tx: &Tx<'_>,
    config: &Config,
    day: NaiveDate,
) -> Result<Vec<ReconciliationFile>, StoreError> {
    let now = chrono::Utc::now().to_rfc3339();
    let reconciliation = crate::reconciliation::build(tx, config, day)?;
    let mut out = Vec::new();
    for (folder, name, content) in reconciliation.files(config) {
        let new = match tx.outbox_content(&folder, &name)? {
            Some(before) if before == content => false,
            Some(_) => {
                return Err(StoreError::Invariant(format!(
                    "{folder}/{name} was written before with other content: the data of {day} changed after the day was reconciled"
                )));
            }
            None => {
                tx.insert_outbox(&folder, &name, "reconciliation", &content, None, &now)?;
                true
            }
        };
        out.push(ReconciliationFile {
            folder,
            name,
            content,
            new,
        });
    }
    tx.mark_reconciled(day, &now)?;
    Ok(out)
}

/// `kravflyt verify`: the files of a reconciled day rebuilt from the store, compared with what
/// was written; returns one line per file that differs or is missing from the outbox.
pub fn reconciliation_differences(
    tx: &Tx<'_>,
    config: &Config,
    day: NaiveDate,
) -> Result<Vec<String>, StoreError> {
    let reconciliation = crate::reconciliation::build(tx, config, day)?;
    let mut problems = Vec::new();
    for (folder, name, content) in reconciliation.files(config) {
        match tx.outbox_content(&folder, &name)? {
            Some(before) if before == content => {}
            Some(_) => problems.push(format!(
                "{folder}/{name}: the store now gives other content than was written"
            )),
            None => problems.push(format!("{folder}/{name}: never queued")),
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(invoice_no: &str) -> StatusRow {
        StatusRow {
            event_id: 1,
            event_date: "2026-10-01".into(),
            creditor_id: "923609016".into(),
            case_no: "2026-000001".into(),
            invoice_no: Some(invoice_no.into()),
            event: "registered".into(),
            state: "registered".into(),
            amount_minor: Some(-125_000),
            principal_open: 125_000,
            interest_open: 0,
            fees_open: 0,
            total_open: 125_000,
            deadline: None,
            reason: "=cmd|' /C calc'!A0".into(),
        }
    }

    #[test]
    fn formulas_are_guarded_in_csv_and_left_as_they_are_in_xml() {
        let csv = status_table(
            &[row("-A17")],
            Cells {
                separator: ',',
                csv: true,
            },
        );
        assert_eq!(csv.1[0][4], "'-A17");
        assert_eq!(csv.1[0][13], "'=cmd|' /C calc'!A0");
        // Amounts are numbers, never guarded.
        assert_eq!(csv.1[0][7], "-1250,00");
        let xml = status_table(
            &[row("-A17")],
            Cells {
                separator: '.',
                csv: false,
            },
        );
        assert_eq!(xml.1[0][4], "-A17");
        assert_eq!(xml.1[0][7], "-1250.00");
        let bytes = String::from_utf8(xml_bytes(&xml, "status", "row")).unwrap();
        assert!(bytes.contains("<reason>=cmd|&apos; /C calc&apos;!A0</reason>"));
    }
}
