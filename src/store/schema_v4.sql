-- kravflyt schema, version 4: the ledger's CHECK constraints without IN lists, look-ups of
-- unmatched payments by id, reference and invoice number, and when a day's report was written.
--
-- SQLite evaluates `component IN ('principal', 'interest', ...)` in a CHECK constraint by
-- building a temporary b-tree of the list on every INSERT: about 40 000 instructions per
-- posting or allocation row, a fifth of the time of a payments file (measured with callgrind,
-- BENCHMARKS.md). The same rule written as comparisons costs next to nothing. SQLite cannot
-- alter a CHECK constraint, so both tables are rebuilt with their rows, ids and indexes.

CREATE TABLE postings_v4 (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER NOT NULL REFERENCES cases(id),
    invoice_id   INTEGER REFERENCES invoices(id),
    posting_date TEXT NOT NULL,
    component    TEXT NOT NULL CHECK (component = 'principal' OR component = 'interest'
                                      OR component = 'fee' OR component = 'collection_cost'),
    amount_minor INTEGER NOT NULL,
    event_id     INTEGER NOT NULL REFERENCES case_events(id)
);
INSERT INTO postings_v4 (id, case_id, invoice_id, posting_date, component, amount_minor, event_id)
    SELECT id, case_id, invoice_id, posting_date, component, amount_minor, event_id FROM postings;
DROP TABLE postings;
ALTER TABLE postings_v4 RENAME TO postings;
CREATE INDEX postings_case ON postings(case_id, component);
-- Open principal per invoice is summed here on every payment, credit, interest run and step.
CREATE INDEX postings_invoice ON postings(invoice_id, component);
-- A day's postings event by event (the reconciliation sums each event's postings as they come).
CREATE INDEX postings_date ON postings(posting_date, event_id);

CREATE TABLE allocations_v4 (
    id           INTEGER PRIMARY KEY,
    payment_id   INTEGER NOT NULL REFERENCES payments(id),
    case_id      INTEGER REFERENCES cases(id),
    invoice_id   INTEGER REFERENCES invoices(id),
    component    TEXT NOT NULL CHECK (component = 'principal' OR component = 'interest'
                                      OR component = 'fee' OR component = 'collection_cost'
                                      OR component = 'overpaid'),
    amount_minor INTEGER NOT NULL
);
INSERT INTO allocations_v4 (id, payment_id, case_id, invoice_id, component, amount_minor)
    SELECT id, payment_id, case_id, invoice_id, component, amount_minor FROM allocations;
DROP TABLE allocations;
ALTER TABLE allocations_v4 RENAME TO allocations;
CREATE INDEX allocations_payment ON allocations(payment_id);

-- Unmatched payments are looked up by payment id (the desk's assign_payment), and by
-- reference and invoice number when new invoices arrive: only the payments a file's invoices
-- could match are tried again, not every unmatched payment on every invoice file.
CREATE INDEX payments_unmatched_id ON payments(payment_id) WHERE case_id IS NULL AND reverses IS NULL;
CREATE INDEX payments_unmatched_reference ON payments(reference)
    WHERE case_id IS NULL AND reverses IS NULL;
CREATE INDEX payments_unmatched_invoice_no ON payments(creditor_id, invoice_no)
    WHERE case_id IS NULL AND reverses IS NULL;

-- When the agency's HTML report of a reconciled day was written. The report is written after
-- the reconciliation commits; a run killed in between writes it on the next start. Days
-- reconciled before this version had theirs written right away.
ALTER TABLE business_days ADD COLUMN report_written_at TEXT;
UPDATE business_days SET report_written_at = reconciled_at WHERE reconciled_at IS NOT NULL;
