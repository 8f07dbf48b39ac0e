-- kravflyt schema, version 3: large outbound files stored in chunks (issue 8).

-- A status, letters or reconciliation file of a million rows is rendered row by row into
-- chunks of about 1 MiB, inserted in the transaction that queues the file, so neither queuing
-- nor writing it ever holds the whole file. A file is its outbox row's `content` followed by
-- its chunks in `seq` order: receipts keep their content in the row and have no chunks, files
-- written in chunks have an empty `content`.
CREATE TABLE outbox_chunks (
    outbox_id INTEGER NOT NULL REFERENCES outbox(id),
    seq       INTEGER NOT NULL,
    bytes     BLOB NOT NULL,
    PRIMARY KEY (outbox_id, seq)
);
