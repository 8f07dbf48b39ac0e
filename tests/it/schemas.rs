//! The XSDs of the XML outbound files against the code that writes them: `schemas/status.xsd`
//! and `schemas/reconciliation.xsd` must name the code's columns in order and its values, and
//! the files of a real pass must fit them. (The inbound schema is kept in step by the unit tests
//! of `src/parse/kravflyt_xml.rs`, the same way.)
//!
//! The schemas are read with kravflyt's own namespace-aware reader; nothing here needs a schema
//! validator, so the tests check the structure the schemas declare (root, row, column order,
//! namespace) and each value against its column's type, and they insist that every type is one
//! they know how to check.

use std::collections::BTreeSet;
use std::path::Path;

use kravflyt::domain::{CaseState, EventKind};
use kravflyt::ingest::detect::KRAVFLYT_NS;
use kravflyt::ingest::parse::xml::{Element, XmlLimits, read_tree};
use kravflyt::outbound::files::STATUS_COLUMNS;
use kravflyt::outbound::reconciliation::{RECONCILIATION_COLUMNS, RecordType};

use crate::support::{Workspace, repo};

const XS: &str = "http://www.w3.org/2001/XMLSchema";

/// The pattern of the amount types, as `matches_amount` reads it.
const AMOUNT_PATTERN: &str = r"-?[0-9]+\.[0-9]{2}";
/// The pattern of the date types, as `matches_date` reads it.
const DATE_PATTERN: &str = "[0-9]{4}-[0-9]{2}-[0-9]{2}";

/// One XML outbound file: its schema and what the code writes.
struct Outbound {
    schema: &'static str,
    root: &'static str,
    row: &'static str,
    columns: &'static [&'static str],
}

const STATUS: Outbound = Outbound {
    schema: "status.xsd",
    root: "status",
    row: "row",
    columns: STATUS_COLUMNS,
};

const RECONCILIATION: Outbound = Outbound {
    schema: "reconciliation.xsd",
    root: "reconciliation",
    row: "row",
    columns: RECONCILIATION_COLUMNS,
};

fn read_xml(path: &Path) -> Element {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    read_tree(&text, XmlLimits::DEFAULT).unwrap_or_else(|d| panic!("{}: {d}", path.display()))
}

fn schema(file: &str) -> Element {
    read_xml(&repo().join("schemas").join(file))
}

/// The top-level `xs:{kind}` called `name`.
fn named<'a>(schema: &'a Element, kind: &str, name: &str) -> &'a Element {
    schema
        .children()
        .iter()
        .find(|e| e.is(XS, kind) && e.attribute("name") == Some(name))
        .unwrap_or_else(|| panic!("top-level xs:{kind} {name} is missing"))
}

/// The column elements of a file's row type, in schema order, after checking the shape around
/// them: one root element, holding any number of rows (none too), in kravflyt's namespace.
fn column_elements<'a>(schema: &'a Element, file: &Outbound) -> Vec<&'a Element> {
    let what = file.schema;
    assert_eq!(
        schema.attribute("targetNamespace"),
        Some(KRAVFLYT_NS),
        "{what}"
    );
    assert_eq!(
        schema.attribute("elementFormDefault"),
        Some("qualified"),
        "{what}"
    );
    let roots: Vec<_> = schema
        .children_named(XS, "element")
        .filter_map(|e| e.attribute("name"))
        .collect();
    assert_eq!(roots, [file.root], "{what}: the one root element");
    let rows: Vec<&Element> = named(schema, "element", file.root)
        .find(&[(XS, "complexType"), (XS, "sequence")])
        .unwrap_or_else(|| panic!("{what}: the root holds no xs:sequence"))
        .children_named(XS, "element")
        .collect();
    assert_eq!(rows.len(), 1, "{what}: the root holds only rows");
    let row = rows[0];
    assert_eq!(row.attribute("name"), Some(file.row), "{what}");
    assert_eq!(
        row.attribute("minOccurs"),
        Some("0"),
        "{what}: a file may hold no rows"
    );
    assert_eq!(row.attribute("maxOccurs"), Some("unbounded"), "{what}");
    let row_type = row
        .attribute("type")
        .unwrap_or_else(|| panic!("{what}: the row element names its type"));
    let row_type = named(schema, "complexType", row_type);
    let parts: Vec<&str> = row_type
        .children()
        .iter()
        .filter(|e| !e.is(XS, "annotation"))
        .map(Element::name)
        .collect();
    assert_eq!(parts, ["sequence"], "{what}: a row is one xs:sequence");
    let sequence = row_type.child(XS, "sequence").unwrap();
    assert!(
        sequence
            .children()
            .iter()
            .all(|e| e.is(XS, "element") || e.is(XS, "annotation")),
        "{what}: the row's sequence holds plain elements"
    );
    sequence.children_named(XS, "element").collect()
}

/// The `type` of every column, in schema order.
fn column_types(schema: &Element, file: &Outbound) -> Vec<(String, String)> {
    column_elements(schema, file)
        .into_iter()
        .map(|e| {
            let name = e.attribute("name").expect("a column element has a name");
            let ty = e
                .attribute("type")
                .unwrap_or_else(|| panic!("{}: {name} names its type", file.schema));
            (name.to_owned(), ty.to_owned())
        })
        .collect()
}

fn type_of(schema: &Element, file: &Outbound, column: &str) -> String {
    column_types(schema, file)
        .into_iter()
        .find(|(name, _)| name == column)
        .map(|(_, ty)| ty)
        .unwrap_or_else(|| panic!("{}: no column {column}", file.schema))
}

/// The `xs:enumeration` values of a top-level simple type, in schema order.
fn enumeration(schema: &Element, type_name: &str) -> Vec<String> {
    named(schema, "simpleType", type_name)
        .child(XS, "restriction")
        .unwrap_or_else(|| panic!("{type_name} is not a restriction"))
        .children_named(XS, "enumeration")
        .map(|e| e.attribute("value").unwrap().to_owned())
        .collect()
}

fn texts(values: impl Iterator<Item = &'static str>) -> Vec<String> {
    values.map(str::to_owned).collect()
}

#[test]
fn the_schemas_name_the_columns_in_the_code_order() {
    for file in [&STATUS, &RECONCILIATION] {
        let schema = schema(file.schema);
        let elements = column_elements(&schema, file);
        let names: Vec<&str> = elements
            .iter()
            .map(|e| e.attribute("name").unwrap())
            .collect();
        assert_eq!(names, file.columns, "{}: columns, in order", file.schema);
        for element in elements {
            let name = element.attribute("name").unwrap();
            // Empty values are left out of the XML, so no column can be required.
            assert_eq!(
                element.attribute("minOccurs"),
                Some("0"),
                "{}: {name} must be optional",
                file.schema
            );
            assert_eq!(
                element.attribute("maxOccurs"),
                None,
                "{}: {name} appears at most once",
                file.schema
            );
        }
    }
}

#[test]
fn the_schema_enumerations_are_the_code_values() {
    let status = schema(STATUS.schema);
    assert_eq!(
        enumeration(&status, &type_of(&status, &STATUS, "event")),
        texts(EventKind::ALL.iter().map(|k| k.as_str())),
        "status.xsd: event"
    );
    assert_eq!(
        enumeration(&status, &type_of(&status, &STATUS, "state")),
        texts(CaseState::ALL.iter().map(|s| s.as_str())),
        "status.xsd: state"
    );
    let reconciliation = schema(RECONCILIATION.schema);
    assert_eq!(
        enumeration(
            &reconciliation,
            &type_of(&reconciliation, &RECONCILIATION, "record_type")
        ),
        texts(RecordType::ALL.iter().map(|t| t.as_str())),
        "reconciliation.xsd: record_type"
    );
}

/// The schemas share one namespace, so a tool that loads them together sees one set of names.
#[test]
fn the_schemas_of_the_namespace_share_no_top_level_names() {
    let mut seen: Vec<(String, String, String)> = Vec::new();
    let mut files: Vec<String> = std::fs::read_dir(repo().join("schemas"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".xsd"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    for file in &files {
        let schema = schema(file);
        assert_eq!(
            schema.attribute("targetNamespace"),
            Some(KRAVFLYT_NS),
            "{file}"
        );
        for component in schema.children() {
            let Some(name) = component.attribute("name") else {
                continue;
            };
            // Elements and types are separate symbol spaces in XSD.
            let space = if component.name() == "element" {
                "element"
            } else {
                "type"
            };
            if let Some((_, _, other)) = seen.iter().find(|(s, n, _)| s == space && n == name) {
                panic!("{file} and {other} both define the {space} {name}");
            }
            seen.push((space.to_owned(), name.to_owned(), file.clone()));
        }
    }
}

/// What `-?[0-9]+\.[0-9]{2}` matches.
fn matches_amount(value: &str) -> bool {
    let unsigned = value.strip_prefix('-').unwrap_or(value);
    let Some((int, frac)) = unsigned.split_once('.') else {
        return false;
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    !int.is_empty() && digits(int) && frac.len() == 2 && digits(frac)
}

/// What `[0-9]{4}-[0-9]{2}-[0-9]{2}` matches, and a real day (`xs:date`).
fn matches_date(value: &str) -> bool {
    let shape = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    shape && chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok()
}

#[test]
fn the_pattern_readers_read_the_patterns() {
    for ok in ["0.00", "3968.00", "-1255.00", "-0.05", "999999999999.99"] {
        assert!(matches_amount(ok), "{ok}");
    }
    for bad in [
        "12.5", "12", "12,50", "+1.00", "1.000", ".50", "-", "1 000.00", "-.50",
    ] {
        assert!(!matches_amount(bad), "{bad}");
    }
    assert!(matches_date("2026-11-23"));
    for bad in [
        "2026-11-31",
        "2026-1-23",
        "20261123",
        "2026-11-23Z",
        "26-11-23",
    ] {
        assert!(!matches_date(bad), "{bad}");
    }
}

/// Checks `value` against the schema type `type_name`; panics on a type this test cannot
/// check, so a new type in a schema comes with a check here.
fn check_value(schema: &Element, type_name: &str, value: &str) -> Result<(), String> {
    let ok = match type_name {
        "xs:string" => true,
        "xs:positiveInteger" => {
            value.bytes().all(|b| b.is_ascii_digit()) && value.parse::<u64>().is_ok_and(|n| n > 0)
        }
        _ => {
            let restriction = named(schema, "simpleType", type_name)
                .child(XS, "restriction")
                .unwrap_or_else(|| panic!("{type_name} is not a restriction"));
            let facet = |name: &'static str| -> Vec<&str> {
                restriction
                    .children_named(XS, name)
                    .map(|f| f.attribute("value").unwrap())
                    .collect()
            };
            let known = ["pattern", "fractionDigits", "enumeration"];
            for f in restriction.children() {
                assert!(
                    known.contains(&f.name()),
                    "{type_name}: facet xs:{} is not checked here; teach check_value",
                    f.name()
                );
            }
            match restriction.attribute("base") {
                Some("xs:decimal") => {
                    assert_eq!(facet("pattern"), [AMOUNT_PATTERN], "{type_name}");
                    assert_eq!(facet("fractionDigits"), ["2"], "{type_name}");
                    matches_amount(value)
                }
                Some("xs:date") => {
                    assert_eq!(facet("pattern"), [DATE_PATTERN], "{type_name}");
                    matches_date(value)
                }
                Some("xs:string") => {
                    let values = facet("enumeration");
                    assert!(!values.is_empty(), "{type_name}: no enumeration");
                    values.contains(&value)
                }
                other => panic!("{type_name}: base {other:?} is not checked here"),
            }
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!("`{value}` is not a valid {type_name}"))
    }
}

/// Checks one XML file against its schema's structure and types: the root and rows in
/// kravflyt's namespace, each row's columns a subsequence of the schema's (in its order, each
/// at most once), no empty column, every value of its column's type. Adds the columns seen to
/// `seen`; returns the rows.
fn check_file(
    path: &Path,
    file: &Outbound,
    seen: &mut BTreeSet<String>,
) -> Vec<Vec<(String, String)>> {
    let schema = schema(file.schema);
    let columns = column_types(&schema, file);
    let doc = read_xml(path);
    let at = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        doc.is(KRAVFLYT_NS, file.root),
        "{at}: root {:?}",
        doc.name()
    );
    assert_eq!(doc.value(), None, "{at}: text in the root");
    let mut rows = Vec::new();
    for (i, row) in doc.children().iter().enumerate() {
        let at = format!("{at}, row {}", i + 1);
        assert!(
            row.is(KRAVFLYT_NS, file.row),
            "{at}: {{{:?}}}{}",
            row.namespace(),
            row.name()
        );
        assert!(row.attributes().is_empty(), "{at}: attributes");
        assert_eq!(row.value(), None, "{at}: text in the row");
        let mut next = 0;
        let mut values = Vec::new();
        for column in row.children() {
            let name = column.name();
            assert_eq!(
                column.namespace(),
                Some(KRAVFLYT_NS),
                "{at}: {name} is not in kravflyt's namespace"
            );
            let index = columns
                .iter()
                .position(|(c, _)| c == name)
                .unwrap_or_else(|| panic!("{at}: {name} is not a column of {}", file.schema));
            assert!(
                index >= next,
                "{at}: {name} comes after {} but the schema has it before",
                columns[next - 1].0
            );
            next = index + 1;
            assert!(
                column.children().is_empty(),
                "{at}: {name} has child elements"
            );
            assert!(
                column.attributes().is_empty(),
                "{at}: {name} has attributes"
            );
            let value = column.text();
            assert!(
                !value.is_empty(),
                "{at}: {name} is empty instead of left out"
            );
            if let Err(problem) = check_value(&schema, &columns[index].1, value) {
                panic!("{at}: {name}: {problem}");
            }
            seen.insert(name.to_owned());
            values.push((name.to_owned(), value.to_owned()));
        }
        rows.push(values);
    }
    // The XML copy holds the same rows as the CSV file beside it.
    let csv = path.with_extension("csv");
    let csv_rows = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_path(&csv)
        .unwrap_or_else(|e| panic!("{}: {e}", csv.display()))
        .records()
        .count();
    assert_eq!(rows.len(), csv_rows, "{at}: rows in the XML and the CSV");
    rows
}

#[test]
fn the_xml_files_of_a_pass_fit_the_schemas() {
    let ws = Workspace::new();
    let samples = repo().join("samples/inbox");
    for entry in std::fs::read_dir(samples.join("revontuli")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap();
        ws.drop_file("revontuli", name, std::fs::read(&path).unwrap());
    }
    // Payments on revontuli's cases, so that the reconciliation has payment rows too.
    let camt = "nordea-camt054-20261120.xml";
    ws.drop_file(
        "bank",
        camt,
        std::fs::read(samples.join("bank").join(camt)).unwrap(),
    );
    ws.process("2026-11-23");
    // The next business day's pass writes the reconciliation of 2026-11-23.
    ws.process("2026-11-24");
    let outbox = ws.var().join("outbox/revontuli");

    let mut status_files: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name.starts_with("status-") && name.ends_with(".xml")
        })
        .collect();
    status_files.sort();
    assert!(
        !status_files.is_empty(),
        "no status-*.xml in {}",
        outbox.display()
    );
    let mut seen = BTreeSet::new();
    let mut events = BTreeSet::new();
    for path in &status_files {
        for row in check_file(path, &STATUS, &mut seen) {
            events.extend(
                row.into_iter()
                    .filter(|(c, _)| c == "event")
                    .map(|(_, v)| v),
            );
        }
    }
    // Every column was written at least once, so every type above was checked on real values.
    assert_eq!(
        seen,
        STATUS_COLUMNS.iter().map(|c| (*c).to_owned()).collect(),
        "status columns seen"
    );
    for kind in ["registered", "interest", "credited", "payment", "reminder"] {
        assert!(events.contains(kind), "no {kind} event in {events:?}");
    }

    let mut seen = BTreeSet::new();
    let rows = check_file(
        &outbox.join("reconciliation-20261123.xml"),
        &RECONCILIATION,
        &mut seen,
    );
    assert_eq!(
        seen,
        RECONCILIATION_COLUMNS
            .iter()
            .map(|c| (*c).to_owned())
            .collect(),
        "reconciliation columns seen"
    );
    let record_types: BTreeSet<String> = rows
        .into_iter()
        .flatten()
        .filter(|(c, _)| c == "record_type")
        .map(|(_, v)| v)
        .collect();
    for kind in ["payment", "credit", "summary"] {
        assert!(
            record_types.contains(kind),
            "no {kind} row in {record_types:?}"
        );
    }
}
