//! Status, letters and reconciliation files (SPEC §7): what the creditors' systems and the
//! print channel read. Rows are chosen and rendered inside one transaction that also moves the
//! "reported up to" markers and queues the files in the outbox, so every event, letter and
//! reconciliation line is written once, even across crashes; the outbox writes them after the
//! commit.

use chrono::NaiveDate;

use crate::config::{ActsFor, Config, CsvDialect, Sender};
use crate::domain::OutboundDialect;
use crate::money::format_minor;
use crate::outbound::outbox::{OutboxComparer, OutboxWriter, Sink};
use crate::outbound::receipt::{CsvRows, neutralise, xml_escape};
use crate::outbound::reconciliation::DayTotals;
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
/// with every new letter, named for `business_date`. Rows are streamed from the store into
/// the files' outbox chunks one at a time: a pass of a million events holds one row and a
/// chunk per file, never the files.
pub fn queue_reports(
    store: &mut Store,
    config: &Config,
    business_date: NaiveDate,
) -> Result<Reported, StoreError> {
    let tx = store.write()?;
    let mut reported = Reported::default();
    let now = chrono::Utc::now().to_rfc3339();
    let date = business_date.format("%Y%m%d");
    for sender in &config.senders {
        let ActsFor::Creditors(creditors) = &sender.acts_for else {
            // The agency's own channels get receipts only (SPEC §7).
            continue;
        };
        let through_key = format!("status_through:{}", sender.id);
        let through = meta_number(&tx, &through_key)?;
        let creditors: Vec<String> = creditors.iter().cloned().collect();
        let mut files = Vec::new();
        let mut last = None;
        tx.for_each_status_row(&creditors, through, |row| {
            if last.is_none() {
                // The first row: only a sender with new events gets a file, and a number.
                let seq = next_seq(&tx, &format!("status_seq:{}", sender.id))?;
                let stem = format!("status-{date}-{seq}");
                files = sender_tables(sender, STATUS_COLUMNS, "status", "row", |ext| {
                    OutboxWriter::create(&tx, &sender.id, &format!("{stem}.{ext}"), "status", &now)
                })?;
            }
            for (_, file) in &mut files {
                let cells = status_cells(row, file.cells());
                file.row(&cells)?;
            }
            last = Some(row.event_id);
            Ok(())
        })?;
        let Some(last) = last else {
            continue;
        };
        for (_, file) in files {
            file.finish()?.finish()?;
        }
        tx.set_meta(&through_key, &last.to_string())?;
        reported.status_files += 1;
    }
    let through = meta_number(&tx, "letters_through")?;
    let mut file = None;
    let mut last = None;
    tx.for_each_letter_row(through, |letter| {
        let file = match &mut file {
            Some(file) => file,
            None => {
                let seq = next_seq(&tx, "letters_seq")?;
                let name = format!("letters-{date}-{seq}.csv");
                file.insert(TableWriter::csv(
                    LETTER_COLUMNS,
                    &CsvDialect::default(),
                    OutboxWriter::create(&tx, AGENCY_FOLDER, &name, "letters", &now)?,
                )?)
            }
        };
        let cells = letter_cells(letter, config, file.cells());
        file.row(&cells)?;
        last = Some(letter.letter_id);
        Ok(())
    })?;
    if let (Some(file), Some(last)) = (file, last) {
        file.finish()?.finish()?;
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

fn status_cells(r: &StatusRow, cells: Cells) -> Vec<String> {
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
}

fn letter_cells(l: &LetterRow, config: &Config, cells: Cells) -> Vec<String> {
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
}

/// A status, letters or reconciliation file rendered row by row into a sink (an outbox
/// writer, a comparison with a file queued before, memory): CSV in a dialect, or kravflyt XML.
/// It keeps nothing of the rows it was given.
pub(crate) struct TableWriter<S> {
    columns: &'static [&'static str],
    cells: Cells,
    format: Format,
    sink: S,
}

enum Format {
    // Boxed: the CSV writer is a few hundred bytes, and there are a handful of files at most.
    Csv(Box<CsvRows>),
    Xml {
        root: &'static str,
        item: &'static str,
    },
}

impl<S: Sink> TableWriter<S> {
    /// A CSV file in `dialect`: its separator, decimal separator and encoding, formulas guarded;
    /// the header is written at once.
    pub fn csv(
        columns: &'static [&'static str],
        dialect: &CsvDialect,
        mut sink: S,
    ) -> Result<Self, StoreError> {
        let mut csv = CsvRows::new(dialect);
        sink.put(&csv.record(columns))?;
        Ok(TableWriter {
            columns,
            cells: Cells {
                separator: dialect.decimal_separator,
                csv: true,
            },
            format: Format::Csv(Box::new(csv)),
            sink,
        })
    }

    /// A kravflyt XML file (UTF-8, decimal point) with root element `root` and one `item`
    /// element per row.
    pub fn xml(
        columns: &'static [&'static str],
        root: &'static str,
        item: &'static str,
        mut sink: S,
    ) -> Result<Self, StoreError> {
        sink.put(
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root} xmlns=\"{}\">\n",
                crate::ingest::detect::KRAVFLYT_NS
            )
            .as_bytes(),
        )?;
        Ok(TableWriter {
            columns,
            cells: Cells {
                separator: '.',
                csv: false,
            },
            format: Format::Xml { root, item },
            sink,
        })
    }

    /// How this file's cells are written; the rows given to `row` must be made with it.
    pub fn cells(&self) -> Cells {
        self.cells
    }

    pub fn row(&mut self, row: &[String]) -> Result<(), StoreError> {
        match &mut self.format {
            Format::Csv(csv) => self.sink.put(&csv.record(row)),
            Format::Xml { item, .. } => {
                let mut out = format!("  <{item}>\n");
                for (column, value) in self.columns.iter().zip(row) {
                    if !value.is_empty() {
                        out.push_str(&format!("    <{column}>{}</{column}>\n", xml_escape(value)));
                    }
                }
                out.push_str(&format!("  </{item}>\n"));
                self.sink.put(out.as_bytes())
            }
        }
    }

    /// The sink, as it is while rows are written (tests look at what it holds).
    #[cfg(test)]
    fn sink(&self) -> &S {
        &self.sink
    }

    /// Ends the file (XML's closing tag) and gives the sink back.
    pub fn finish(mut self) -> Result<S, StoreError> {
        if let Format::Xml { root, .. } = self.format {
            self.sink.put(format!("</{root}>\n").as_bytes())?;
        }
        Ok(self.sink)
    }
}

/// A sender's files in its dialect, each with its extension: CSV, and XML as well where it
/// reads XML. `open` gives the sink for an extension.
pub(crate) fn sender_tables<S: Sink>(
    sender: &Sender,
    columns: &'static [&'static str],
    root: &'static str,
    item: &'static str,
    mut open: impl FnMut(&str) -> Result<S, StoreError>,
) -> Result<Vec<(&'static str, TableWriter<S>)>, StoreError> {
    let mut files = vec![("csv", TableWriter::csv(columns, &sender.csv, open("csv")?)?)];
    if sender.writes == OutboundDialect::Xml {
        files.push(("xml", TableWriter::xml(columns, root, item, open("xml")?)?));
    }
    Ok(files)
}

/// One reconciliation file of a day, and whether this call queued it (not made before).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconciliationFile {
    pub folder: String,
    pub name: String,
    /// The file's outbox row: its content is read from there (`outbox::write_queued`).
    pub outbox_id: i64,
    pub new: bool,
}

/// Queues the reconciliation files of every business day before `before` that has none yet,
/// oldest first, one transaction per day; returns the days with their summaries and totals,
/// which the daily report shows (so it need not read the day a second time).
pub fn queue_reconciliations(
    store: &mut Store,
    config: &Config,
    before: NaiveDate,
) -> Result<Vec<(NaiveDate, DayTotals)>, StoreError> {
    let days = store.read()?.unreconciled_days_before(before)?;
    let mut queued = Vec::with_capacity(days.len());
    for day in days {
        let tx = store.write()?;
        // Asked again under the write lock: another node on the same database may have
        // reconciled the day since the list was read (SPEC §10: once, on one node).
        if !tx.unreconciled_days_before(before)?.contains(&day) {
            continue;
        }
        let (_, totals) = queue_day(&tx, config, day)?;
        tx.commit()?;
        queued.push((day, totals));
    }
    Ok(queued)
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
    let (files, _) = queue_day(&tx, config, day)?;
    tx.commit()?;
    Ok(files)
}

/// A reconciliation file being rendered: a new one stored in chunks, or one made before that
/// the new rendering is compared with as it comes (a closed day never changes), or, for
/// `verify`, one that was never queued.
enum DaySink<'a, 's> {
    New(OutboxWriter<'a, 's>),
    Before(i64, OutboxComparer<'a, 's>),
    Missing,
}

impl Sink for DaySink<'_, '_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        match self {
            DaySink::New(writer) => writer.put(bytes),
            DaySink::Before(_, comparer) => comparer.put(bytes),
            DaySink::Missing => Ok(()),
        }
    }
}

/// The sink for a file of the day: compared with the file queued before under its name, or
/// (`queue`) a new one.
fn day_sink<'a, 's>(
    tx: &'a Tx<'s>,
    folder: &str,
    name: &str,
    queue: Option<&str>,
) -> Result<DaySink<'a, 's>, StoreError> {
    Ok(match (tx.outbox_id(folder, name)?, queue) {
        (Some(id), _) => DaySink::Before(id, OutboxComparer::new(tx, id)),
        (None, Some(now)) => DaySink::New(OutboxWriter::create(
            tx,
            folder,
            name,
            "reconciliation",
            now,
        )?),
        (None, None) => DaySink::Missing,
    })
}

/// Builds `day`'s files and queues those not queued before; one made before must be
/// byte-identical (a closed day never changes), or this is an internal error.
fn queue_day(
    tx: &Tx<'_>,
    config: &Config,
    day: NaiveDate,
) -> Result<(Vec<ReconciliationFile>, DayTotals), StoreError> {
    let now = chrono::Utc::now().to_rfc3339();
    let (files, totals) =
        crate::outbound::reconciliation::write_files(tx, config, day, |folder, name| {
            day_sink(tx, folder, name, Some(&now))
        })?;
    let mut out = Vec::new();
    for (folder, name, sink) in files {
        let (outbox_id, new) = match sink {
            DaySink::New(writer) => (writer.finish()?, true),
            DaySink::Before(id, comparer) => {
                if !comparer.finish()? {
                    return Err(StoreError::Invariant(format!(
                        "{folder}/{name} was written before with other content: the data of {day} changed after the day was reconciled"
                    )));
                }
                (id, false)
            }
            DaySink::Missing => {
                return Err(StoreError::Invariant(format!(
                    "{folder}/{name} was neither queued nor compared"
                )));
            }
        };
        out.push(ReconciliationFile {
            folder,
            name,
            outbox_id,
            new,
        });
    }
    tx.mark_reconciled(day, &now)?;
    Ok((out, totals))
}

/// `kravflyt verify`: the files of a reconciled day rebuilt from the store, compared with what
/// was written; returns one line per file that differs or is missing from the outbox.
pub fn reconciliation_differences(
    tx: &Tx<'_>,
    config: &Config,
    day: NaiveDate,
) -> Result<Vec<String>, StoreError> {
    let (files, _) =
        crate::outbound::reconciliation::write_files(tx, config, day, |folder, name| {
            day_sink(tx, folder, name, None)
        })?;
    let mut problems = Vec::new();
    for (folder, name, sink) in files {
        match sink {
            DaySink::Before(_, comparer) => {
                if !comparer.finish()? {
                    problems.push(format!(
                        "{folder}/{name}: the store now gives other content than was written"
                    ));
                }
            }
            DaySink::Missing => problems.push(format!("{folder}/{name}: never queued")),
            DaySink::New(_) => {
                return Err(StoreError::Invariant(format!(
                    "{folder}/{name} was queued by a check that only reads"
                )));
            }
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Table = (Vec<&'static str>, Vec<Vec<String>>);

    fn status_table(rows: &[StatusRow], cells: Cells) -> Table {
        (
            STATUS_COLUMNS.to_vec(),
            rows.iter().map(|r| status_cells(r, cells)).collect(),
        )
    }

    fn xml_bytes((_, rows): &Table, root: &'static str, item: &'static str) -> Vec<u8> {
        let mut xml = TableWriter::xml(STATUS_COLUMNS, root, item, Vec::new()).unwrap();
        for row in rows {
            xml.row(row).unwrap();
        }
        xml.finish().unwrap()
    }

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

    /// The rows of a large status file: amounts of every sign, text to quote, guard, escape and
    /// encode (a character windows-1252 lacks), and rows of different lengths.
    fn many_rows(count: i64) -> Vec<StatusRow> {
        (0..count)
            .map(|i| StatusRow {
                event_id: i + 1,
                amount_minor: (i % 3 != 0).then_some(i * 7 - 50_000),
                principal_open: i * 13,
                deadline: (i % 2 == 0).then(|| "2026-10-15".to_owned()),
                reason: match i % 5 {
                    0 => "=1+1".to_owned(),
                    1 => "Kjærstad Åse; \"sitat\"\nny linje".to_owned(),
                    2 => "5 € <ikke> & 'så'".to_owned(),
                    3 => "ø".repeat((i % 41) as usize),
                    _ => String::new(),
                },
                ..row(&format!("-{i}"))
            })
            .collect()
    }

    /// The old way, kept here as the reference: every row in memory, the whole CSV text
    /// encoded at once, the whole XML document in one string.
    fn rendered_at_once(rows: &[StatusRow], dialect: &CsvDialect) -> (Vec<u8>, Vec<u8>) {
        let csv_cells = Cells {
            separator: dialect.decimal_separator,
            csv: true,
        };
        let mut writer = csv::WriterBuilder::new()
            .delimiter(dialect.delimiter)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        writer.write_record(STATUS_COLUMNS).unwrap();
        for r in rows {
            writer.write_record(status_cells(r, csv_cells)).unwrap();
        }
        let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        let csv = crate::ingest::decode::encode(&text, dialect.encoding);
        let mut xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<status xmlns=\"{}\">\n",
            crate::ingest::detect::KRAVFLYT_NS
        );
        let xml_cells = Cells {
            separator: '.',
            csv: false,
        };
        for r in rows {
            xml.push_str("  <row>\n");
            for (column, value) in STATUS_COLUMNS.iter().zip(status_cells(r, xml_cells)) {
                if !value.is_empty() {
                    xml.push_str(&format!(
                        "    <{column}>{}</{column}>\n",
                        xml_escape(&value)
                    ));
                }
            }
            xml.push_str("  </row>\n");
        }
        xml.push_str("</status>\n");
        (csv, xml.into_bytes())
    }

    #[test]
    fn a_status_file_of_several_chunks_is_the_same_bytes_as_rendered_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let workspace = crate::workspace::Workspace::new(dir.path());
        let mut store = Store::open_in_memory().unwrap();
        let dialect = CsvDialect {
            encoding: crate::config::TextEncoding::Windows1252,
            ..CsvDialect::default()
        };
        let rows = many_rows(40_000);
        let (csv, xml) = rendered_at_once(&rows, &dialect);
        assert!(
            csv.len() > 3 * crate::outbound::outbox::CHUNK_BYTES,
            "{} bytes",
            csv.len()
        );
        {
            let tx = store.write().unwrap();
            let open = |name: &str| OutboxWriter::create(&tx, "nordlys", name, "status", "now");
            let mut files = [
                TableWriter::csv(STATUS_COLUMNS, &dialect, open("status-1.csv").unwrap()).unwrap(),
                TableWriter::xml(
                    STATUS_COLUMNS,
                    "status",
                    "row",
                    open("status-1.xml").unwrap(),
                )
                .unwrap(),
            ];
            let mut held = 0;
            for r in &rows {
                for file in &mut files {
                    let cells = status_cells(r, file.cells());
                    file.row(&cells).unwrap();
                    held = held.max(file.sink().held_bytes());
                }
            }
            // The writers never hold more than a chunk each, whatever the file's size.
            assert!(
                held <= crate::outbound::outbox::CHUNK_BYTES,
                "held {held} bytes"
            );
            for file in files {
                file.finish().unwrap().finish().unwrap();
            }
            tx.commit().unwrap();
        }
        assert_eq!(
            crate::outbound::outbox::flush(&mut store, &workspace).unwrap(),
            2
        );
        let folder = workspace.outbox("nordlys");
        assert!(std::fs::read(folder.join("status-1.csv")).unwrap() == csv);
        assert!(std::fs::read(folder.join("status-1.xml")).unwrap() == xml);
        // Windows-1252 applied per row: letters as single bytes, `€` as itself (0x80).
        assert!(csv.windows(2).any(|w| w == b"\xE6r"));
        assert!(csv.contains(&0x80));
    }
}
