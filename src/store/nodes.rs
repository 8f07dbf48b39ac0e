//! The daemons sharing one database (SPEC §10): each node's row, its heartbeat, and which
//! nodes went silent for longer than their lease.
//!
//! Times are milliseconds since the Unix epoch taken *in SQL*: PostgreSQL's `clock_timestamp()`
//! (the server's clock, so the hosts' clocks never decide whether a node is alive) or SQLite's
//! `julianday('now')` (the local clock: an embedded store has one node). The heartbeat is
//! written through [`Store::heartbeat`], which never waits for the write lock of the file
//! transactions (on PostgreSQL): a node busy with a long file stays alive.

use super::db::{self, OptionalExtension};
use super::{Backend, Store, StoreError, Tx};
use rusqlite::TransactionBehavior;

/// Who a running daemon is: its node name, and the host and process that run it now (a node
/// restarted under the same name is another incarnation, and the old one's writes are fenced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeIdentity {
    pub name: String,
    pub host: String,
    pub pid: i64,
}

/// What a node's row says about it, as of the database's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeStatus {
    /// Running, with a heartbeat within its lease.
    Alive,
    /// Not stopped, but no heartbeat within its lease: killed, hung or cut off. Another node
    /// takes over its files (or has: `taken_over_by`).
    Silent,
    /// Stopped cleanly.
    Stopped,
}

impl NodeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeStatus::Alive => "alive",
            NodeStatus::Silent => "silent",
            NodeStatus::Stopped => "stopped",
        }
    }
}

/// One node's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRow {
    pub name: String,
    pub host: String,
    pub pid: i64,
    pub started_ms: i64,
    pub heartbeat_ms: i64,
    pub lease_ms: i64,
    /// `running`, `stopped` or `taken_over`.
    pub state: String,
    pub stopped_ms: Option<i64>,
    pub taken_over_by: Option<String>,
    /// The database's clock when the row was read.
    pub now_ms: i64,
}

/// Whether a heartbeat at `heartbeat_ms` is older than the lease at `now_ms`.
pub fn lease_expired(heartbeat_ms: i64, lease_ms: i64, now_ms: i64) -> bool {
    now_ms.saturating_sub(heartbeat_ms) > lease_ms
}

impl NodeRow {
    pub fn status(&self) -> NodeStatus {
        match self.state.as_str() {
            "stopped" => NodeStatus::Stopped,
            "taken_over" => NodeStatus::Silent,
            _ if lease_expired(self.heartbeat_ms, self.lease_ms, self.now_ms) => NodeStatus::Silent,
            _ => NodeStatus::Alive,
        }
    }

    /// A running node that went silent and whose files nobody took over yet.
    pub fn needs_takeover(&self) -> bool {
        self.state == "running" && lease_expired(self.heartbeat_ms, self.lease_ms, self.now_ms)
    }

    /// Milliseconds since the last heartbeat.
    pub fn silent_for_ms(&self) -> i64 {
        self.now_ms.saturating_sub(self.heartbeat_ms).max(0)
    }
}

/// The database's clock in milliseconds since the epoch, as an SQL expression. The one place
/// the two stores differ here: PostgreSQL's statement is not rewritten into anything else
/// by the dialect (`INTEGER`/`BIGINT` aside), SQLite's is its own.
fn now_ms(tx: &db::Transaction<'_>) -> &'static str {
    if tx.is_postgres() {
        "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
    } else {
        "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"
    }
}

const NODE_COLUMNS: &str =
    "name, host, pid, started_ms, heartbeat_ms, lease_ms, state, stopped_ms, taken_over_by";

fn node_row(r: &db::Row<'_>) -> db::Result<NodeRow> {
    Ok(NodeRow {
        name: r.get(0)?,
        host: r.get(1)?,
        pid: r.get(2)?,
        started_ms: r.get(3)?,
        heartbeat_ms: r.get(4)?,
        lease_ms: r.get(5)?,
        state: r.get(6)?,
        stopped_ms: r.get(7)?,
        taken_over_by: r.get(8)?,
        now_ms: r.get(9)?,
    })
}

impl Tx<'_> {
    /// Every node, by name.
    pub fn nodes(&self) -> Result<Vec<NodeRow>, StoreError> {
        let sql = format!(
            "SELECT {NODE_COLUMNS}, {} FROM nodes ORDER BY name",
            now_ms(&self.tx)
        );
        let mut stmt = self.tx.prepare(&sql)?;
        let rows = stmt.query_map(db::NO_PARAMS, node_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One node's row.
    pub fn node(&self, name: &str) -> Result<Option<NodeRow>, StoreError> {
        let sql = format!(
            "SELECT {NODE_COLUMNS}, {} FROM nodes WHERE name = ?1",
            now_ms(&self.tx)
        );
        Ok(self.tx.query_row(&sql, [name], node_row).optional()?)
    }

    /// Records `me` as running now, with a fresh heartbeat (replacing an earlier incarnation
    /// of the node: the caller checked it is not alive, in this same write transaction).
    pub fn start_node(&self, me: &NodeIdentity, lease_ms: i64) -> Result<(), StoreError> {
        let now = now_ms(&self.tx);
        self.tx.execute(
            &format!(
                "INSERT INTO nodes (name, host, pid, started_ms, heartbeat_ms, lease_ms, state)
                 VALUES (?1, ?2, ?3, {now}, {now}, ?4, 'running')
                 ON CONFLICT (name) DO UPDATE SET host = excluded.host, pid = excluded.pid,
                     started_ms = excluded.started_ms, heartbeat_ms = excluded.heartbeat_ms,
                     lease_ms = excluded.lease_ms, state = 'running', stopped_ms = NULL,
                     taken_over_by = NULL"
            ),
            db::params![me.name, me.host, me.pid, lease_ms],
        )?;
        Ok(())
    }

    /// Marks `me` stopped (a clean shutdown: it holds nothing any more).
    pub fn stop_node(&self, me: &NodeIdentity) -> Result<(), StoreError> {
        self.tx.execute(
            &format!(
                "UPDATE nodes SET state = 'stopped', stopped_ms = {}
                 WHERE name = ?1 AND host = ?2 AND pid = ?3 AND state = 'running'",
                now_ms(&self.tx)
            ),
            db::params![me.name, me.host, me.pid],
        )?;
        Ok(())
    }

    /// Whether `me` still holds its lease: its row names this incarnation and nobody took its
    /// files over. Asked under the write lock before a file transaction commits, so a node
    /// that was cut off for longer than its lease (and whose files another node took) never
    /// commits a file the other node applies too.
    pub fn node_holds_lease(&self, me: &NodeIdentity) -> Result<bool, StoreError> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT 1 FROM nodes
                 WHERE name = ?1 AND host = ?2 AND pid = ?3 AND state = 'running'",
            )?
            .query_row(db::params![me.name, me.host, me.pid], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Records that `by` took over the files of the silent node `name`.
    pub fn mark_taken_over(&self, name: &str, by: &str) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE nodes SET state = 'taken_over', taken_over_by = ?2
             WHERE name = ?1 AND state = 'running'",
            (name, by),
        )?;
        Ok(())
    }
}

impl Store {
    /// Refreshes `me`'s heartbeat; `false` when the row no longer names this incarnation
    /// (another node took its files over, or another process registered the name).
    ///
    /// Its own short transaction, without the writers' lock on PostgreSQL: the heartbeat
    /// thread has a connection of its own and must not wait behind a long file transaction
    /// (no file transaction touches `nodes`; taking over and registering, which do, hold the
    /// lock only briefly). SQLite has one write lock for everything, so there the beat waits
    /// for it (up to the busy timeout) — one node, nobody to take over from.
    pub fn heartbeat(&mut self, me: &NodeIdentity) -> Result<bool, StoreError> {
        let tx = match &mut self.conn {
            Backend::Sqlite(conn) => db::Transaction::Sqlite(
                conn.transaction_with_behavior(TransactionBehavior::Immediate)?,
            ),
            Backend::Postgres(pg) => db::Transaction::Postgres(db::PgTransaction::begin(
                pg.connection()?,
                "BEGIN ISOLATION LEVEL READ COMMITTED",
            )?),
        };
        let updated = tx.execute(
            &format!(
                "UPDATE nodes SET heartbeat_ms = {}
                 WHERE name = ?1 AND host = ?2 AND pid = ?3 AND state = 'running'",
                now_ms(&tx)
            ),
            db::params![me.name, me.host, me.pid],
        )?;
        tx.commit()?;
        Ok(updated == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(state: &str, heartbeat_ms: i64, now_ms: i64) -> NodeRow {
        NodeRow {
            name: "a".to_owned(),
            host: "h".to_owned(),
            pid: 1,
            started_ms: 0,
            heartbeat_ms,
            lease_ms: 3000,
            state: state.to_owned(),
            stopped_ms: None,
            taken_over_by: None,
            now_ms,
        }
    }

    #[test]
    fn a_node_is_silent_only_once_its_lease_has_passed() {
        assert!(!lease_expired(10_000, 3000, 13_000), "exactly the lease");
        assert!(lease_expired(10_000, 3000, 13_001));
        // A heartbeat "from the future" (the clock went back) is not expired.
        assert!(!lease_expired(20_000, 3000, 13_000));
        assert_eq!(row("running", 10_000, 12_000).status(), NodeStatus::Alive);
        assert_eq!(row("running", 10_000, 14_000).status(), NodeStatus::Silent);
        assert_eq!(row("stopped", 10_000, 99_000).status(), NodeStatus::Stopped);
        assert_eq!(
            row("taken_over", 10_000, 99_000).status(),
            NodeStatus::Silent
        );
    }

    #[test]
    fn only_running_nodes_past_their_lease_are_taken_over() {
        assert!(row("running", 10_000, 14_000).needs_takeover());
        assert!(!row("running", 10_000, 12_000).needs_takeover());
        assert!(!row("stopped", 10_000, 99_000).needs_takeover());
        assert!(!row("taken_over", 10_000, 99_000).needs_takeover());
    }

    #[test]
    fn a_node_registers_beats_and_stops_on_sqlite() {
        let mut store = Store::open_in_memory().unwrap();
        let me = NodeIdentity {
            name: "n1".to_owned(),
            host: "h".to_owned(),
            pid: 42,
        };
        let tx = store.write().unwrap();
        assert!(tx.node("n1").unwrap().is_none());
        tx.start_node(&me, 30_000).unwrap();
        tx.commit().unwrap();
        assert!(store.heartbeat(&me).unwrap());
        let tx = store.read().unwrap();
        let rows = tx.nodes().unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].status(), NodeStatus::Alive);
        assert!(tx.node_holds_lease(&me).unwrap());
        drop(tx);
        let other = NodeIdentity {
            pid: 43,
            ..me.clone()
        };
        assert!(!store.heartbeat(&other).unwrap(), "another incarnation");
        let tx = store.write().unwrap();
        tx.stop_node(&me).unwrap();
        assert_eq!(tx.nodes().unwrap()[0].status(), NodeStatus::Stopped);
        assert!(!tx.node_holds_lease(&me).unwrap());
        tx.commit().unwrap();
    }
}
