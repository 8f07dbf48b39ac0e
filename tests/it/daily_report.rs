//! The daily HTML report (issue 9, item 6) on the shipped samples: self-contained, its key
//! figures the reconciliation's, its chart, the open unmatched payments, escaped file names,
//! and a snapshot of the page for review.

use chrono::NaiveDate;
use kravflyt::config::Config;
use kravflyt::outbound::daily_report::{
    CHART_DAYS, DailyReport, build_report, escape_html, format_amount, format_count, format_money,
};
use kravflyt::outbound::reconciliation::DayReconciliation;
use kravflyt::store::Store;

use crate::support::{Workspace, repo};

/// A file name no browser may take for markup (a file name cannot hold `/`).
const HOSTILE_NAME: &str = "<script>alert(\"x&y\")<script>.csv";

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// The samples, plus an unreadable file with a hostile name, processed on 23 and 24 November.
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
    ws.drop_file("nordlys", HOSTILE_NAME, "this is not an invoice file\n");
    ws.process("2026-11-23");
    ws.process("2026-11-24");
    ws
}

/// The report of `day` and the day's reconciliation, read in one snapshot of the store.
fn report(ws: &Workspace, day: &str) -> (DailyReport, DayReconciliation) {
    let config = Config::load(&ws.config, Some(ws.dir.path())).unwrap();
    let mut store = Store::open(&ws.var().join("kravflyt.db")).unwrap();
    let tx = store.read().unwrap();
    let report = build_report(&tx, &config, date(day), None).unwrap();
    let reconciliation =
        kravflyt::outbound::reconciliation::build(&tx, &config, date(day)).unwrap();
    (report, reconciliation)
}

/// The text between `start` and the next `end` after it.
fn between<'t>(text: &'t str, start: &str, end: &str) -> &'t str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("no `{start}` in the page"));
    let rest = &text[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// The text of an HTML fragment, its tags left out.
fn text_of(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// No external assets: nothing fetched, nothing run, links only to anchors of the page.
fn assert_self_contained(html: &str) {
    for forbidden in [
        "http://", "https://", "src=", "<script", "url(", "@import", "<link",
    ] {
        assert!(
            !html.to_ascii_lowercase().contains(forbidden),
            "the page contains `{forbidden}`"
        );
    }
    for (i, _) in html.match_indices("href=") {
        assert!(
            html[i..].starts_with("href=\"#"),
            "a link that is not an anchor: {}",
            &html[i..(i + 40).min(html.len())]
        );
    }
}

#[test]
fn the_samples_day_report() {
    let ws = samples_workspace();
    let (report, reconciliation) = report(&ws, "2026-11-23");
    let html = report.to_html();
    std::fs::create_dir_all(repo().join("target")).unwrap();
    std::fs::write(repo().join("target/report-sample.html"), &html).unwrap();

    assert_self_contained(&html);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<h1>Kravflyt Inkasso AS</h1>"));
    assert!(html.contains("<time datetime=\"2026-11-23\">Monday 23 November 2026</time>"));
    assert!(
        html.contains("Day closed"),
        "2026-11-24's run closed the day"
    );

    // The key figures are the reconciliation's agency totals.
    let tiles = between(&html, "<section class=\"kpis\"", "</section>");
    assert_eq!(tiles.matches("<a class=\"kpi").count(), 6);
    assert_eq!(report.files_in(), 16);
    assert_eq!(report.files_rejected(), 1);
    assert!(tiles.contains("Files in</span><span class=\"value\">16</span>"));
    assert!(tiles.contains("Files rejected</span><span class=\"value\">1</span>"));
    assert_eq!(reconciliation.totals.len(), 3);
    assert_eq!(report.money, {
        let mut totals = reconciliation.totals.clone();
        totals.sort_by_key(|s| (s.currency != "NOK", s.currency.clone()));
        totals
    });
    let tile_text = text_of(tiles);
    let money = between(&html, "<section id=\"money\"", "</section>");
    for total in &reconciliation.totals {
        assert!(total.received_minor > 0, "{total:?}");
        for minor in [total.received_minor, total.allocated.total()] {
            let shown = format_money(minor, &total.currency);
            assert!(tile_text.contains(&shown), "{shown} is not a key figure");
        }
        let row = format!(
            "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td><td class=\"num\">{}</td>",
            total.currency,
            format_amount(total.received_minor),
            format_amount(total.allocated.total()),
        );
        assert!(money.contains(&row), "{row} is not in the money table");
        assert!(money.contains(&format_amount(total.balance.end_minor)));
    }
    let nok = &reconciliation.totals[1];
    assert_eq!(nok.currency, "NOK");
    assert!(
        tile_text.contains(&format!(
            "Money received{}",
            format_money(nok.received_minor, "NOK")
        )),
        "the main currency comes first: {tile_text}"
    );
    // Unmatched at the end of the day: the two payments the bank could not place.
    let unmatched_open: i64 = report.open_payments.iter().map(|p| p.amount_minor).sum();
    assert_eq!(unmatched_open, nok.unmatched_minor);
    assert!(tile_text.contains(&format!(
        "Unmatched{}2 payments waiting",
        format_money(unmatched_open, "NOK")
    )));
    let cases_open = report.cases_open();
    assert_eq!(cases_open, 24);
    assert!(tiles.contains(&format!(
        "Cases open</span><span class=\"value\">{}</span>",
        format_count(cases_open)
    )));

    // One chart per currency, the main one (NOK: two of the four creditors) first, each with a
    // bar per day; the day's bar is what the reconciliation allocated.
    assert_eq!(html.matches("<svg").count(), 3);
    let first = between(&html, "<svg", "</svg>");
    assert!(first.contains("role=\"img\""));
    assert!(first.contains("<title id=\"chart-NOK-title\">Collections in NOK"));
    assert!(first.contains("<desc id=\"chart-NOK-desc\">"));
    assert_eq!(first.matches("<rect class=\"bar").count(), CHART_DAYS);
    assert_eq!(first.matches("<rect class=\"bar today\"").count(), 1);
    assert!(first.contains(">25</text>"), "day ticks from 25 October");
    assert!(first.contains("Oct 2026") && first.contains("Nov 2026"));
    for series in &report.collections {
        assert_eq!(series.days.len(), CHART_DAYS);
        assert_eq!(series.days[0].0, date("2026-10-25"));
        let (last_day, last) = *series.days.last().unwrap();
        assert_eq!(last_day, date("2026-11-23"));
        let total = reconciliation
            .totals
            .iter()
            .find(|t| t.currency == series.currency)
            .unwrap();
        assert_eq!(last, total.allocated.total(), "{}", series.currency);
        assert!(html.contains(&format!(
            "<title>Mon 23 Nov 2026: {}</title>",
            escape_html(&format_money(last, &series.currency))
        )));
    }
    let currencies: Vec<&str> = report
        .collections
        .iter()
        .map(|s| s.currency.as_str())
        .collect();
    assert_eq!(currencies, ["NOK", "EUR", "SEK"]);

    // The unmatched payments open at the end of the day.
    let unmatched = between(&html, "<section id=\"unmatched\"", "</section>");
    let references: Vec<&str> = report
        .open_payments
        .iter()
        .map(|p| p.reference.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(references, ["7000000246", "407188300211"]);
    for reference in references {
        assert!(unmatched.contains(reference), "{reference}");
    }
    assert!(unmatched.contains("bad check digit"));
    assert!(unmatched.contains("unknown reference"));
    assert!(unmatched.contains(&escape_html(&format_money(440_000, "NOK"))));

    // The hostile file name is listed, inert.
    let files = between(&html, "<section id=\"files\"", "</section>");
    assert!(files.contains("&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;script&gt;.csv"));
    assert!(!html.contains(HOSTILE_NAME));
    assert!(files.contains("partly accepted"), "faktura-20261109.csv");

    // Same data, same bytes.
    assert_eq!(self::report(&ws, "2026-11-23").0.to_html(), html);
    insta::assert_snapshot!("samples_report", html);
}

#[test]
fn the_reports_of_the_day_after_and_of_an_empty_day_render() {
    let ws = samples_workspace();
    // 24 November: no files, the day still open; 23 November's money in the chart's history.
    let (next, reconciliation) = report(&ws, "2026-11-24");
    let html = next.to_html();
    assert_self_contained(&html);
    assert!(html.contains("Day open"));
    assert_eq!(next.files_in(), 0);
    assert!(html.contains("No files arrived."));
    assert!(reconciliation.totals.iter().all(|t| t.received_minor == 0));
    // The 23rd's unmatched payments are still open at the end of the 24th.
    assert_eq!(next.open_payments.len(), 2);
    let nok = &next.collections[0];
    assert_eq!(nok.days[CHART_DAYS - 1].1, 0);
    assert!(nok.days[CHART_DAYS - 2].1 > 0);

    // A day before anything happened: no money, no payments open, flat charts.
    let (before, _) = report(&ws, "2026-10-01");
    let html = before.to_html();
    assert_self_contained(&html);
    assert!(before.open_payments.is_empty());
    assert!(html.contains("None: every payment is on a case."));
    assert_eq!(before.collections.len(), 1);
    assert!(html.contains("No money was placed on cases in these 30 days"));
    assert_eq!(html.matches("<rect class=\"bar").count(), CHART_DAYS);
}

#[test]
fn a_report_lost_to_a_stop_after_the_reconciliation_is_written_on_the_next_run_and_only_then() {
    let ws = samples_workspace();
    let report = ws.var().join("outbox/_agency/report-20261123.html");
    assert!(report.exists(), "the daily run writes the day's report");
    // The window a kill can land in: the day is reconciled (committed), its report not yet
    // written. What the database says then, and the file missing.
    std::fs::remove_file(&report).unwrap();
    let db = rusqlite::Connection::open(ws.var().join("kravflyt.db")).unwrap();
    db.execute(
        "UPDATE business_days SET report_written_at = NULL WHERE day = '2026-11-23'",
        [],
    )
    .unwrap();
    drop(db);
    ws.process("2026-11-24");
    assert!(report.exists(), "the next run writes the lost report");
    // Once written, a report that someone took away is not written again.
    std::fs::remove_file(&report).unwrap();
    ws.process("2026-11-24");
    assert!(
        !report.exists(),
        "a delivered report is not delivered twice"
    );
}
