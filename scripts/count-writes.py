#!/usr/bin/env python3
"""What one invoice and one payment write to the database (issue 14, item 3): rows, index
entries and bytes per table and index, measured as the difference between two snapshots of
SQLite's `dbstat` table around applying N records.

    scripts/count-writes.py [N]        (default N = 10000; needs a release build of
                                        kravflyt and kravflyt-gen: cargo build --release)

1. `kravflyt-gen N` writes N invoices for `nordlys` and N bank payments (KID) for `bank`;
2. a fresh workspace (quiet period 0 s) takes the invoices with `process --as-of 2026-09-20`
   (nothing due yet, so the daily pass writes nothing per case), then the payments with
   `process --as-of 2026-09-21`;
3. after each, counts rows (`count(*)` per table; an index holds one entry per row it covers)
   and bytes (`dbstat`: payload plus b-tree overhead per table and index), and prints the
   difference divided by N: what one invoice and one payment cost.
"""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.path.join(TARGET, "release", "kravflyt")
GEN = os.path.join(TARGET, "release", "kravflyt-gen")


def snapshot(db):
    """(rows per table or index, bytes per table or index) of the database now."""
    con = sqlite3.connect(db)
    rows, size = {}, {}
    objects = con.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('table', 'index')"
    ).fetchall()
    for kind, name, table, sql in objects:
        if name.startswith("sqlite_stat"):
            continue
        if kind == "table":
            rows[name] = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        else:
            # Entries of an index: the rows of its table it covers (a partial index fewer).
            where = ""
            if sql and " WHERE " in sql.upper():
                where = " WHERE " + sql[sql.upper().rindex(" WHERE ") + 7 :]
            rows[name] = con.execute(f'SELECT count(*) FROM "{table}"{where}').fetchone()[0]
    for name, pgsize in con.execute(
        "SELECT name, sum(pgsize) FROM dbstat GROUP BY name"
    ).fetchall():
        size[name] = pgsize
    con.close()
    return rows, size


def kinds(db):
    con = sqlite3.connect(db)
    out = dict(con.execute("SELECT name, type FROM sqlite_master").fetchall())
    con.close()
    return out


def report(label, before, after, n, kind_of):
    rows = {k: after[0].get(k, 0) - before[0].get(k, 0) for k in after[0]}
    size = {k: after[1].get(k, 0) - before[1].get(k, 0) for k in after[1]}
    print(f"\n{label}: per record (N = {n})")
    print(f"  {'table or index':44} {'kind':6} {'rows':>7} {'bytes':>9}")
    total_rows = total_index = total_bytes = 0
    for name in sorted(set(rows) | set(size), key=lambda k: (-rows.get(k, 0), k)):
        r, b = rows.get(name, 0) / n, size.get(name, 0) / n
        if r == 0 and b == 0:
            continue
        kind = kind_of.get(name, "index")
        print(f"  {name:44} {kind:6} {r:7.2f} {b:9.1f}")
        if kind == "table":
            total_rows += r
        else:
            total_index += r
        total_bytes += b
    print(f"  {'total':44} {'':6} rows {total_rows:.2f}, index entries {total_index:.2f}, bytes {total_bytes:.0f}")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    work = tempfile.mkdtemp(prefix="kravflyt-count-")
    try:
        subprocess.run([GEN, str(n), os.path.join(work, "data")], check=True,
                       stderr=subprocess.DEVNULL)
        ws = os.path.join(work, "ws")
        for sender in ("nordlys", "bank"):
            os.makedirs(os.path.join(ws, "var", "inbox", sender))
        with open(os.path.join(ROOT, "config", "kravflyt.toml")) as f:
            config = f.read().replace('quiet_period = "5s"', 'quiet_period = "0s"', 1)
        with open(os.path.join(ws, "kravflyt.toml"), "w") as f:
            f.write(config)
        shutil.copy(os.path.join(ROOT, "config", "rules.toml"), ws)
        run = lambda as_of: subprocess.run(
            [BIN, "--config", os.path.join(ws, "kravflyt.toml"), "--data-dir", ws,
             "process", "--as-of", as_of],
            check=True, stdout=subprocess.DEVNULL, env={**os.environ, "KRAVFLYT_LOG": "warn"})
        db = os.path.join(ws, "var", "kravflyt.db")
        run("2026-09-19")  # an empty day: the database with its fixed rows
        empty = snapshot(db)
        shutil.copy(os.path.join(work, "data", "nordlys", f"invoices-{n}.csv"),
                    os.path.join(ws, "var", "inbox", "nordlys"))
        run("2026-09-20")
        invoices = snapshot(db)
        shutil.copy(os.path.join(work, "data", "bank", f"payments-{n}.csv"),
                    os.path.join(ws, "var", "inbox", "bank"))
        run("2026-09-21")
        payments = snapshot(db)
        kind_of = kinds(db)
        report("an invoice", empty, invoices, n, kind_of)
        report("a payment", invoices, payments, n, kind_of)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
