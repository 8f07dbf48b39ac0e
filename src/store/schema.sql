-- kravflyt schema, version 1. Amounts are integer minor units (øre, öre, cent); dates are
-- ISO 8601 text (YYYY-MM-DD); timestamps are UTC RFC 3339. Enumerations are stored as the
-- text forms of src/domain.rs.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Every inbound file, including duplicates and unreadable ones.
CREATE TABLE inbound_files (
    id                INTEGER PRIMARY KEY,
    sender            TEXT NOT NULL,
    original_name     TEXT NOT NULL,
    sha256            TEXT NOT NULL,
    size              INTEGER NOT NULL,
    format            TEXT,
    kind              TEXT,
    status            TEXT NOT NULL CHECK (status IN ('accepted', 'partly_accepted', 'rejected', 'duplicate')),
    records_total     INTEGER NOT NULL,
    records_accepted  INTEGER NOT NULL,
    records_unchanged INTEGER NOT NULL,
    records_rejected  INTEGER NOT NULL,
    -- Entries passed over on purpose (debits in a bank statement).
    records_skipped   INTEGER NOT NULL DEFAULT 0,
    duplicate_of      INTEGER REFERENCES inbound_files(id),
    business_date     TEXT NOT NULL,
    processed_at      TEXT NOT NULL,
    -- Where the file ends, relative to var/: archive/... or rejected/...; chosen before commit.
    destination       TEXT NOT NULL UNIQUE,
    -- 0 until the file has been moved from work/ to its destination (after commit).
    moved             INTEGER NOT NULL DEFAULT 0
);
-- A sender's content is applied once: the duplicate check of SPEC §5.4.
CREATE UNIQUE INDEX inbound_files_applied ON inbound_files(sender, sha256)
    WHERE status IN ('accepted', 'partly_accepted');
CREATE INDEX inbound_files_unmoved ON inbound_files(moved) WHERE moved = 0;

-- When intake first saw each inbox file (and its current size and mtime), so the quiet period
-- and stale_after survive restarts and one-shot `process` runs.
CREATE TABLE inbox_sightings (
    sender       TEXT NOT NULL,
    name         TEXT NOT NULL,
    size         INTEGER NOT NULL,
    mtime_ns     INTEGER NOT NULL,
    first_seen   TEXT NOT NULL,
    stable_since TEXT NOT NULL,
    PRIMARY KEY (sender, name)
);

CREATE TABLE creditors (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    country  TEXT NOT NULL,
    currency TEXT NOT NULL
);

CREATE TABLE debtors (
    id          INTEGER PRIMARY KEY,
    creditor_id TEXT NOT NULL REFERENCES creditors(id),
    customer_no TEXT NOT NULL,
    debtor_type TEXT NOT NULL,
    name        TEXT NOT NULL,
    national_id TEXT,
    address     TEXT NOT NULL,
    postcode    TEXT NOT NULL,
    city        TEXT NOT NULL,
    country     TEXT NOT NULL,
    email       TEXT,
    UNIQUE (creditor_id, customer_no)
);

CREATE TABLE cases (
    id           INTEGER PRIMARY KEY,
    case_no      TEXT NOT NULL UNIQUE,
    reference    TEXT NOT NULL UNIQUE,
    creditor_id  TEXT NOT NULL REFERENCES creditors(id),
    debtor_id    INTEGER NOT NULL REFERENCES debtors(id),
    currency     TEXT NOT NULL,
    state        TEXT NOT NULL,
    close_reason TEXT,
    -- The step the case starts at once its earliest date has come (handover or demand).
    first_step   TEXT NOT NULL,
    deadline     TEXT,
    opened_on    TEXT NOT NULL,
    closed_on    TEXT,
    -- The state a closed case returns to if its closing is undone (a reversed payment).
    state_before_close TEXT,
    -- When the case entered its current step (the date of that step's letter).
    step_date    TEXT,
    -- When the case entered collection (light collection fee), and whether the heavy fee has
    -- been charged since.
    collection_since TEXT,
    heavy_fee_charged INTEGER NOT NULL DEFAULT 0,
    -- The as-of date a limitation warning was given on, if any.
    limitation_warned_on TEXT,
    -- A dispute: the disputed part (NULL: all of it) and the creditor's reply deadline.
    dispute_open INTEGER NOT NULL DEFAULT 0,
    disputed_minor INTEGER,
    dispute_reply_deadline TEXT,
    -- A pause: since when and until when (NULL: until resumed).
    paused_since TEXT,
    pause_until TEXT,
    -- The state a disputed or paused case returns to.
    state_before_hold TEXT,
    CHECK ((state = 'closed') = (close_reason IS NOT NULL))
);
CREATE INDEX cases_open ON cases(creditor_id, debtor_id) WHERE state <> 'closed';

-- Invoices and credit notes; a credit note points at the invoice it reduces.
CREATE TABLE invoices (
    id                  INTEGER PRIMARY KEY,
    creditor_id         TEXT NOT NULL REFERENCES creditors(id),
    invoice_no          TEXT NOT NULL,
    case_id             INTEGER NOT NULL REFERENCES cases(id),
    document_type       TEXT NOT NULL,
    credited_invoice_id INTEGER REFERENCES invoices(id),
    issue_date          TEXT NOT NULL,
    due_date            TEXT NOT NULL,
    currency            TEXT NOT NULL,
    amount_minor        INTEGER NOT NULL CHECK (amount_minor > 0),
    paid_before_minor   INTEGER NOT NULL DEFAULT 0,
    reminder_fee_minor  INTEGER NOT NULL DEFAULT 0,
    notice_sent_date    TEXT,
    reference           TEXT,
    fingerprint         TEXT NOT NULL,
    file_id             INTEGER NOT NULL REFERENCES inbound_files(id),
    position            TEXT NOT NULL,
    -- Late-payment interest is posted up to and including this date (NULL: none yet; it runs
    -- from the day after the due date).
    interest_through    TEXT,
    UNIQUE (creditor_id, invoice_no)
);
CREATE INDEX invoices_case ON invoices(case_id);
CREATE INDEX invoices_reference ON invoices(reference) WHERE reference IS NOT NULL;

-- Every change of a case, in order; each is reported once in a status file.
CREATE TABLE case_events (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER NOT NULL REFERENCES cases(id),
    event_date   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    invoice_id   INTEGER REFERENCES invoices(id),
    amount_minor INTEGER,
    state        TEXT NOT NULL,
    detail       TEXT NOT NULL DEFAULT '',
    file_id      INTEGER REFERENCES inbound_files(id)
);
CREATE INDEX case_events_case ON case_events(case_id);

-- The ledger of a case: balances are sums of postings, never stored twice.
CREATE TABLE postings (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER NOT NULL REFERENCES cases(id),
    invoice_id   INTEGER REFERENCES invoices(id),
    posting_date TEXT NOT NULL,
    component    TEXT NOT NULL CHECK (component IN ('principal', 'interest', 'fee', 'collection_cost')),
    amount_minor INTEGER NOT NULL,
    event_id     INTEGER NOT NULL REFERENCES case_events(id)
);
CREATE INDEX postings_case ON postings(case_id, component);
-- Open principal per invoice is summed here on every payment, credit, interest run and step.
CREATE INDEX postings_invoice ON postings(invoice_id, component);

-- Letters for the print and distribution channel, with what they said (SPEC §6.2, §7).
CREATE TABLE letters (
    id               INTEGER PRIMARY KEY,
    case_id          INTEGER NOT NULL REFERENCES cases(id),
    step             TEXT NOT NULL,
    letter_date      TEXT NOT NULL,
    debtor_name      TEXT NOT NULL,
    address          TEXT NOT NULL,
    postcode         TEXT NOT NULL,
    city             TEXT NOT NULL,
    country          TEXT NOT NULL,
    reference        TEXT NOT NULL,
    account          TEXT NOT NULL,
    currency         TEXT NOT NULL,
    principal_minor  INTEGER NOT NULL,
    interest_minor   INTEGER NOT NULL,
    interest_rate    TEXT NOT NULL,
    interest_from    TEXT,
    fees_minor       INTEGER NOT NULL,
    fee_charged_minor INTEGER NOT NULL,
    collection_costs_minor INTEGER NOT NULL,
    total_minor      INTEGER NOT NULL,
    deadline         TEXT NOT NULL,
    event_id         INTEGER NOT NULL REFERENCES case_events(id)
);
CREATE INDEX letters_case ON letters(case_id);

-- Instructions received, so the same instruction id is applied once.
CREATE TABLE instructions (
    id             INTEGER PRIMARY KEY,
    sender         TEXT NOT NULL,
    instruction_id TEXT NOT NULL,
    action         TEXT NOT NULL,
    case_id        INTEGER REFERENCES cases(id),
    fingerprint    TEXT NOT NULL,
    file_id        INTEGER NOT NULL REFERENCES inbound_files(id),
    UNIQUE (sender, instruction_id)
);

-- Money received, matched to a case or kept unmatched with its reason.
CREATE TABLE payments (
    id              INTEGER PRIMARY KEY,
    sender          TEXT NOT NULL,
    payment_id      TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('bank', 'direct')),
    creditor_id     TEXT REFERENCES creditors(id),
    reference       TEXT,
    invoice_no      TEXT,
    amount_minor    INTEGER NOT NULL,
    currency        TEXT NOT NULL,
    payment_date    TEXT NOT NULL,
    payer_name      TEXT,
    payer_account   TEXT,
    reverses        INTEGER REFERENCES payments(id),
    -- Set on a payment once a later one has undone it.
    reversed_by     INTEGER REFERENCES payments(id),
    case_id         INTEGER REFERENCES cases(id),
    matched_by      TEXT,
    unmatched_reason TEXT,
    fingerprint     TEXT NOT NULL,
    file_id         INTEGER NOT NULL REFERENCES inbound_files(id),
    UNIQUE (sender, payment_id)
);
CREATE INDEX payments_unmatched ON payments(id) WHERE case_id IS NULL AND reverses IS NULL;

-- How each payment was split over a case; always sums to the payment.
CREATE TABLE allocations (
    id           INTEGER PRIMARY KEY,
    payment_id   INTEGER NOT NULL REFERENCES payments(id),
    case_id      INTEGER REFERENCES cases(id),
    invoice_id   INTEGER REFERENCES invoices(id),
    component    TEXT NOT NULL CHECK (component IN ('principal', 'interest', 'fee', 'collection_cost', 'overpaid')),
    amount_minor INTEGER NOT NULL
);

-- Outbound files, committed with the change that caused them and rendered after commit.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY,
    folder     TEXT NOT NULL,
    file_name  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    content    BLOB NOT NULL,
    file_id    INTEGER REFERENCES inbound_files(id),
    created_at TEXT NOT NULL,
    written_at TEXT,
    UNIQUE (folder, file_name)
);
CREATE INDEX outbox_pending ON outbox(id) WHERE written_at IS NULL;
