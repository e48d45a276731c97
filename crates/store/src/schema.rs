//! Opening a file: connection settings, the schema and its version, and the tier table.

use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, TransactionBehavior};

use crate::error::{Context, StoreError};
use crate::Tier;

/// Bumped with every change of the tables below; an older build refuses a newer file
/// instead of misreading it.
pub(crate) const VERSION: i64 = 3;

/// "FLST" in the SQLite header, so another program's database is refused by name rather
/// than mistaken for an empty store.
const APPLICATION_ID: i64 = 0x464c_5354;

/// A tier row with this horizon is no longer configured: it holds a gap from the moment it
/// was dropped, so no range may be answered from it until it is configured again.
pub(crate) const RETIRED: i64 = i64::MAX;

/// Long enough to ride out a checkpoint of the WAL or the other connection's commit.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// 5xx by status code per key and bucket (schema version 3).
const KEY_CODE_SCHEMA: &str = "
CREATE TABLE rollup_key_code (
    res INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    name BLOB NOT NULL,
    status INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    PRIMARY KEY (res, bucket, kind, name, status)
) WITHOUT ROWID, STRICT;
";

/// `STRICT` so a wrongly typed value fails the commit instead of being stored silently.
/// Column names avoid SQL keywords (`end`, `offset`, `key`, `first`, `last`) so no query
/// needs quoting. Bodies are checked as JSON on insert: `resolve_open` edits them with
/// `json_set` at start-up, where a bad body would stop the daemon from starting.
const SCHEMA: &str = "
CREATE TABLE tier (
    res INTEGER PRIMARY KEY,
    horizon INTEGER NOT NULL
) STRICT;
CREATE TABLE rollup_status (
    res INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    status INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    PRIMARY KEY (res, bucket, status)
) WITHOUT ROWID, STRICT;
CREATE TABLE rollup_key (
    res INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    name BLOB NOT NULL,
    requests INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    latency BLOB,
    PRIMARY KEY (res, bucket, kind, name)
) WITHOUT ROWID, STRICT;
CREATE TABLE rollup_folded (
    res INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    PRIMARY KEY (res, bucket)
) WITHOUT ROWID, STRICT;
CREATE TABLE checkpoint (
    path TEXT PRIMARY KEY,
    dev INTEGER NOT NULL,
    ino INTEGER NOT NULL,
    head INTEGER NOT NULL,
    head_len INTEGER NOT NULL,
    byte_offset INTEGER NOT NULL
) STRICT;
CREATE TABLE input (
    path TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    format TEXT,
    lines INTEGER NOT NULL,
    parsed INTEGER NOT NULL,
    malformed INTEGER NOT NULL,
    error TEXT,
    body TEXT NOT NULL CHECK (json_valid(body))
) STRICT;
CREATE TABLE incident (
    id TEXT PRIMARY KEY,
    start_at INTEGER NOT NULL,
    end_at INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'resolved')),
    cause TEXT NOT NULL,
    body TEXT NOT NULL CHECK (json_valid(body) AND json_type(body) = 'object')
) STRICT;
CREATE INDEX incident_start ON incident (start_at);
CREATE INDEX incident_end ON incident (end_at);
CREATE TABLE finding (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    start_at INTEGER NOT NULL,
    end_at INTEGER NOT NULL,
    body TEXT NOT NULL CHECK (json_valid(body))
) STRICT;
CREATE INDEX finding_start ON finding (start_at);
CREATE INDEX finding_end ON finding (end_at);
CREATE TABLE error_group (
    fingerprint TEXT PRIMARY KEY,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    count INTEGER NOT NULL,
    body TEXT NOT NULL CHECK (json_valid(body))
) STRICT;
CREATE INDEX error_group_last ON error_group (last_at);
";

/// Sorted finest first; rejects tiers the rollups cannot be written or read with.
pub(crate) fn check_tiers(mut tiers: Vec<Tier>) -> Result<Vec<Tier>, StoreError> {
    if tiers.is_empty() {
        return Err(StoreError::Tiers("at least one tier is needed".into()));
    }
    tiers.sort_by_key(|t| t.res_secs);
    for t in &tiers {
        if t.res_secs <= 0 || t.keep_secs < t.res_secs {
            return Err(StoreError::Tiers(format!(
                "a tier of {} s kept {} s: the resolution must be positive and kept at least once",
                t.res_secs, t.keep_secs
            )));
        }
    }
    if tiers.windows(2).any(|w| w[0].res_secs == w[1].res_secs) {
        return Err(StoreError::Tiers(
            "two tiers with the same resolution".into(),
        ));
    }
    Ok(tiers)
}

/// The writer's connection: creates the file and its schema when new.
pub(crate) fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags).ctx(path, "open")?;
    settings(&conn).ctx(path, "open")?;
    // WAL: readers on other threads never block the writer, and a commit is one append.
    // synchronous=NORMAL: a commit survives a crash of the process (kill -9); only a power
    // loss may drop the last commits, and then their checkpoints go with them, so lines
    // are read again rather than lost or counted twice.
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .ctx(path, "open")?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Io {
            path: path.into(),
            what: "switching to WAL mode (the file system may not support it)",
            source: std::io::Error::other(format!("journal mode stayed {mode}")),
        });
    }
    conn.pragma_update(None, "synchronous", "NORMAL")
        .ctx(path, "open")?;
    // Without a limit the WAL file keeps its largest size forever after a burst.
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)
        .ctx(path, "open")?;
    ensure_schema(&mut conn, path)?;
    Ok(conn)
}

/// A read-only connection to an existing store.
pub(crate) fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).ctx(path, "open")?;
    settings(&conn).ctx(path, "open")?;
    let (app, version, tables) = identity(&conn).ctx(path, "open")?;
    check_identity(path, app, version, tables, false)?;
    if app == 0 {
        return Err(StoreError::NotAStore { path: path.into() });
    }
    Ok(conn)
}

/// Another read-write connection to an existing store of this version (delivery, the API).
pub(crate) fn open_side(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).ctx(path, "open")?;
    settings(&conn).ctx(path, "open")?;
    let (app, version, tables) = identity(&conn).ctx(path, "open")?;
    check_identity(path, app, version, tables, false)?;
    if app == 0 {
        return Err(StoreError::NotAStore { path: path.into() });
    }
    Ok(conn)
}

fn settings(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // The commit path alone uses a dozen statements; the default cache of 16 would thrash
    // once the queries are cached on the same connection.
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// (application id, schema version, number of schema objects).
fn identity(conn: &Connection) -> rusqlite::Result<(i64, i64, i64)> {
    let app = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let version = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let tables = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
    Ok((app, version, tables))
}

/// Ok for a faultline store of this version and for an empty file (app id 0, no tables).
fn check_identity(
    path: &Path,
    app: i64,
    version: i64,
    tables: i64,
    migrate: bool,
) -> Result<(), StoreError> {
    match app {
        APPLICATION_ID if version == VERSION => Ok(()),
        // Version 1 lacked the alerting tables, version 2 the 5xx by code per key; the
        // writer adds them.
        APPLICATION_ID if (version == 1 || version == 2) && migrate => Ok(()),
        APPLICATION_ID => Err(StoreError::Version {
            path: path.into(),
            found: version,
            expected: VERSION,
        }),
        0 if tables == 0 => Ok(()),
        _ => Err(StoreError::NotAStore { path: path.into() }),
    }
}

fn ensure_schema(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    // IMMEDIATE: two processes opening one new file must not both create the tables.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx(path, "open")?;
    let (app, version, tables) = identity(&tx).ctx(path, "open")?;
    check_identity(path, app, version, tables, true)?;
    if app == APPLICATION_ID && version == 1 {
        tx.execute_batch(crate::alerts::ALERT_SCHEMA)
            .ctx(path, "add the alerting tables")?;
    }
    if app == APPLICATION_ID && (version == 1 || version == 2) {
        // Buckets written before keep their 5xx totals per key, without the codes.
        tx.execute_batch(KEY_CODE_SCHEMA)
            .ctx(path, "add the 5xx by code per key")?;
        tx.pragma_update(None, "user_version", VERSION)
            .ctx(path, "migrate the schema")?;
    }
    if app == 0 {
        tx.execute_batch(SCHEMA).ctx(path, "create the schema")?;
        tx.execute_batch(KEY_CODE_SCHEMA)
            .ctx(path, "create the schema")?;
        tx.execute_batch(crate::alerts::ALERT_SCHEMA)
            .ctx(path, "create the schema")?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .ctx(path, "create the schema")?;
        tx.pragma_update(None, "user_version", VERSION)
            .ctx(path, "create the schema")?;
    }
    tx.commit().ctx(path, "create the schema")
}

/// Records the configured tiers. A tier new to an existing store starts after its newest
/// bucket (it holds nothing older); a stored tier no longer configured is marked retired.
pub(crate) fn sync_tiers(
    conn: &mut Connection,
    path: &Path,
    tiers: &[Tier],
) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx(path, "record the tiers")?;
    let stored = stored_tiers(&tx).ctx(path, "record the tiers")?;
    let mut newest = i64::MIN;
    for &(res, _) in &stored {
        let last: Option<i64> = tx
            .query_row(
                "SELECT max(bucket) FROM rollup_status WHERE res = ?1",
                [res],
                |r| r.get(0),
            )
            .ctx(path, "record the tiers")?;
        if let Some(last) = last {
            newest = newest.max(last.saturating_add(res));
        }
    }
    for &(res, _) in &stored {
        if !tiers.iter().any(|t| t.res_secs == res) {
            tx.execute(
                "UPDATE tier SET horizon = ?2 WHERE res = ?1",
                params![res, RETIRED],
            )
            .ctx(path, "record the tiers")?;
        }
    }
    for t in tiers {
        tx.execute(
            "INSERT INTO tier (res, horizon) VALUES (?1, ?2)
             ON CONFLICT (res) DO UPDATE SET horizon = excluded.horizon WHERE horizon = ?3",
            params![t.res_secs, newest, RETIRED],
        )
        .ctx(path, "record the tiers")?;
    }
    tx.commit().ctx(path, "record the tiers")
}

/// (resolution, horizon) of every tier the file has held rollups for.
pub(crate) fn stored_tiers(conn: &Connection) -> rusqlite::Result<Vec<(i64, i64)>> {
    let mut stmt = conn.prepare_cached("SELECT res, horizon FROM tier ORDER BY res")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}
