-- kravflyt schema, version 2: what the daily reconciliation files need (SPEC §7).

-- The business date a payment was placed on its case (matched, assigned, or a reversal
-- applied): its allocations and postings carry that date. Earlier payments were matched on the
-- business date of the file that brought them.
ALTER TABLE payments ADD COLUMN matched_on TEXT;
UPDATE payments SET matched_on = (SELECT f.business_date FROM inbound_files f WHERE f.id = payments.file_id)
    WHERE case_id IS NOT NULL;
CREATE INDEX payments_matched_on ON payments(matched_on) WHERE matched_on IS NOT NULL;
CREATE INDEX payments_file ON payments(file_id);
CREATE INDEX inbound_files_business_date ON inbound_files(business_date);
CREATE INDEX postings_date ON postings(posting_date);
CREATE INDEX allocations_payment ON allocations(payment_id);

-- Every business date kravflyt worked on (files processed or daily steps run), and when its
-- reconciliation files were queued. A reconciled day is closed: nothing is dated on it again.
CREATE TABLE business_days (
    day           TEXT PRIMARY KEY,
    reconciled_at TEXT
);
INSERT OR IGNORE INTO business_days (day) SELECT DISTINCT business_date FROM inbound_files;
INSERT OR IGNORE INTO business_days (day) SELECT DISTINCT posting_date FROM postings;
INSERT OR IGNORE INTO business_days (day) SELECT value FROM meta WHERE key = 'last_steps_date';

-- The status file reads each event's letter (its deadline).
CREATE INDEX letters_event ON letters(event_id);
