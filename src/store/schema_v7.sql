-- Migration 7 (SPEC §10, several daemons on one database): the nodes. A running daemon keeps
-- its row's heartbeat fresh; a row whose heartbeat is older than its lease belongs to a node
-- that went silent, and another node takes over the files it held (`state` becomes
-- `taken_over`, naming the node that took them). Times are milliseconds since the Unix epoch,
-- taken from the database server's clock on PostgreSQL (hosts' clocks never matter) and from
-- the local clock on SQLite: a number, because expiry is arithmetic on it in SQL on both.
CREATE TABLE nodes (
    name TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_ms INTEGER NOT NULL,
    heartbeat_ms INTEGER NOT NULL,
    lease_ms INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state = 'running' OR state = 'stopped' OR state = 'taken_over'),
    stopped_ms INTEGER,
    taken_over_by TEXT
);
