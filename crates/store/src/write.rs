//! The writer: one connection, one transaction per tick.

use std::path::{Path, PathBuf};

use faultline_aggregate::{LatencySketch, Summary};
use rusqlite::functions::FunctionFlags;
use rusqlite::{params, Connection, Transaction, TransactionBehavior};

use crate::error::{Context, StoreError};
use crate::{schema, Commit, FileCheckpoint, Reader, Tier};

/// The kinds of keys in `rollup_key.kind`, in the order of [`Summary`]'s maps.
pub(crate) const ROUTE: i64 = 0;
pub(crate) const HOST: i64 = 1;
pub(crate) const UPSTREAM: i64 = 2;
pub(crate) const METHOD: i64 = 3;

const UPSERT_STATUS: &str = "
INSERT INTO rollup_status (res, bucket, status, requests) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (res, bucket, status) DO UPDATE SET requests = requests + excluded.requests";

// The sketches merge inside SQLite so a bucket spread over several commits costs one
// statement per key, not a read and a write.
const UPSERT_KEY: &str = "
INSERT INTO rollup_key (res, bucket, kind, name, requests, errors, latency)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT (res, bucket, kind, name) DO UPDATE SET
    requests = requests + excluded.requests,
    errors = errors + excluded.errors,
    latency = sketch_merge(latency, excluded.latency)";

const UPSERT_KEY_CODE: &str = "
INSERT INTO rollup_key_code (res, bucket, kind, name, status, requests)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
ON CONFLICT (res, bucket, kind, name, status) DO UPDATE SET
    requests = requests + excluded.requests";

/// The single writer of a store file. Not shared: readers on other threads use
/// [`Store::reader`].
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    tiers: Vec<Tier>,
}

impl Store {
    /// Opens `path`, creating the file and its schema when it does not exist. `tiers` are
    /// the resolutions every commit writes into (sorted here, finest first).
    pub fn open(path: &Path, tiers: Vec<Tier>) -> Result<Store, StoreError> {
        let tiers = schema::check_tiers(tiers)?;
        let mut conn = schema::open_writer(path)?;
        register_sketch_merge(&conn).ctx(path, "open")?;
        schema::sync_tiers(&mut conn, path, &tiers)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            tiers,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The configured tiers, finest first.
    pub fn tiers(&self) -> &[Tier] {
        &self.tiers
    }

    /// Writes one tick in one transaction: the buckets added into every tier, then the
    /// rows. On any error nothing of it is stored.
    pub fn commit(&mut self, c: &Commit<'_>) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(&self.path, "commit")?;
        write_buckets(&tx, &self.tiers, c.buckets).ctx(&self.path, "commit rollups")?;
        write_rows(&tx, c).ctx(&self.path, "commit")?;
        crate::alerts::write(&tx, &c.alerts).ctx(&self.path, "commit alerts")?;
        tx.commit().ctx(&self.path, "commit")
    }

    /// The alerting state the last commit stored, if any.
    pub fn alert_state(&self) -> Result<Option<String>, StoreError> {
        crate::alerts::load_state(&self.conn).ctx(&self.path, "read the alerting state")
    }

    /// Every stored tail checkpoint, by path.
    pub fn checkpoints(&self) -> Result<Vec<FileCheckpoint>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT path, dev, ino, head, head_len, byte_offset FROM checkpoint ORDER BY path",
            )
            .ctx(&self.path, "read checkpoints")?;
        let rows = stmt
            .query_map([], |r| {
                Ok(FileCheckpoint {
                    path: r.get(0)?,
                    dev: r.get::<_, i64>(1)? as u64,
                    ino: r.get::<_, i64>(2)? as u64,
                    head: r.get::<_, i64>(3)? as u64,
                    head_len: r.get(4)?,
                    offset: r.get::<_, i64>(5)? as u64,
                })
            })
            .ctx(&self.path, "read checkpoints")?;
        rows.collect::<Result<_, _>>()
            .ctx(&self.path, "read checkpoints")
    }

    /// Deletes the rollups each tier no longer keeps at `now_secs` (event time), and the
    /// incidents, findings and error groups that ended before the longest keep. Returns
    /// the number of rows deleted.
    pub fn retain(&mut self, now_secs: i64) -> Result<u64, StoreError> {
        let longest = self.tiers.iter().map(|t| t.keep_secs).max().unwrap_or(0);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(&self.path, "retention")?;
        let deleted =
            retain_in(&tx, &self.tiers, now_secs, longest).ctx(&self.path, "retention")?;
        tx.commit().ctx(&self.path, "retention")?;
        Ok(deleted)
    }

    /// At start-up: an incident stored as open was cut off by the previous run's exit and
    /// will not be updated again, so it becomes resolved (column and body). Returns how
    /// many changed.
    pub fn resolve_open(&mut self) -> Result<u64, StoreError> {
        let changed = self
            .conn
            .execute(
                "UPDATE incident SET state = 'resolved', body = json_set(body, '$.state', 'resolved')
                 WHERE state = 'open'",
                [],
            )
            .ctx(&self.path, "resolve open incidents")?;
        Ok(changed as u64)
    }

    /// A read-only connection to the same file, for another thread.
    pub fn reader(&self) -> Result<Reader, StoreError> {
        Reader::open(&self.path, self.tiers.clone())
    }
}

/// SQLite integers are signed 64-bit. Counters never reach 2^63; identities (device,
/// inode, head hash) and offsets are stored bit for bit and read back with `as u64`.
fn int(v: u64) -> i64 {
    v as i64
}

fn align(sec: i64, res: i64) -> i64 {
    sec.div_euclid(res) * res
}

fn write_buckets(
    tx: &Transaction<'_>,
    tiers: &[Tier],
    buckets: &[(i64, Summary)],
) -> rusqlite::Result<()> {
    let mut status = tx.prepare_cached(UPSERT_STATUS)?;
    let mut key = tx.prepare_cached(UPSERT_KEY)?;
    let mut key_code = tx.prepare_cached(UPSERT_KEY_CODE)?;
    let mut folded =
        tx.prepare_cached("INSERT OR IGNORE INTO rollup_folded (res, bucket) VALUES (?1, ?2)")?;
    for (sec, sum) in buckets {
        for (code, n) in sum.statuses() {
            for t in tiers {
                status.execute(params![t.res_secs, align(*sec, t.res_secs), code, int(n)])?;
            }
        }
        let maps = [
            (ROUTE, &sum.routes),
            (HOST, &sum.hosts),
            (UPSTREAM, &sum.upstreams),
            (METHOD, &sum.methods),
        ];
        for (kind, map) in maps {
            for (name, stats) in map {
                // Encoded once for all tiers; NULL when no line carried a duration.
                let latency = (stats.latency.count() > 0).then(|| stats.latency.to_bytes());
                for t in tiers {
                    key.execute(params![
                        t.res_secs,
                        align(*sec, t.res_secs),
                        kind,
                        &name[..],
                        int(stats.requests),
                        int(stats.errors_5xx),
                        latency,
                    ])?;
                    for (code, n) in stats.codes_5xx.iter() {
                        key_code.execute(params![
                            t.res_secs,
                            align(*sec, t.res_secs),
                            kind,
                            &name[..],
                            code,
                            int(n),
                        ])?;
                    }
                }
            }
        }
        if sum.routes_folded {
            for t in tiers {
                folded.execute(params![t.res_secs, align(*sec, t.res_secs)])?;
            }
        }
    }
    Ok(())
}

fn write_rows(tx: &Transaction<'_>, c: &Commit<'_>) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT OR REPLACE INTO checkpoint (path, dev, ino, head, head_len, byte_offset)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for cp in c.checkpoints {
        stmt.execute(params![
            cp.path,
            int(cp.dev),
            int(cp.ino),
            int(cp.head),
            cp.head_len,
            int(cp.offset)
        ])?;
    }
    let mut stmt = tx.prepare_cached(
        "INSERT OR REPLACE INTO input (path, kind, format, lines, parsed, malformed, error, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for i in c.inputs {
        stmt.execute(params![
            i.path,
            i.kind,
            i.format,
            int(i.lines),
            int(i.parsed),
            int(i.malformed),
            i.error,
            i.body
        ])?;
    }
    // Removals first, so an id both removed and upserted in one tick ends up stored.
    let mut stmt = tx.prepare_cached("DELETE FROM incident WHERE id = ?1")?;
    for id in c.removed_incidents {
        stmt.execute([id])?;
    }
    let mut stmt = tx.prepare_cached(
        "INSERT OR REPLACE INTO incident (id, start_at, end_at, state, cause, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for i in c.incidents {
        stmt.execute(params![i.id, i.start, i.end, i.state, i.cause, i.body])?;
    }
    let mut stmt = tx.prepare_cached(
        "INSERT OR REPLACE INTO finding (id, kind, start_at, end_at, body) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for f in c.findings {
        stmt.execute(params![f.id, f.kind, f.start, f.end, f.body])?;
    }
    let mut stmt = tx.prepare_cached(
        "INSERT OR REPLACE INTO error_group (fingerprint, first_at, last_at, count, body)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for g in c.groups {
        stmt.execute(params![
            g.fingerprint,
            g.first,
            g.last,
            int(g.count),
            g.body
        ])?;
    }
    Ok(())
}

fn retain_in(
    tx: &Transaction<'_>,
    tiers: &[Tier],
    now: i64,
    longest: i64,
) -> rusqlite::Result<u64> {
    let mut deleted = 0usize;
    // Every resolution the file holds, so a tier dropped from the config still ages out
    // (after the longest keep) instead of staying forever.
    for (res, _) in schema::stored_tiers(tx)? {
        let keep = tiers
            .iter()
            .find(|t| t.res_secs == res)
            .map_or(longest, |t| t.keep_secs);
        let cutoff = now.saturating_sub(keep);
        for sql in [
            "DELETE FROM rollup_status WHERE res = ?1 AND bucket < ?2",
            "DELETE FROM rollup_key WHERE res = ?1 AND bucket < ?2",
            "DELETE FROM rollup_key_code WHERE res = ?1 AND bucket < ?2",
            "DELETE FROM rollup_folded WHERE res = ?1 AND bucket < ?2",
        ] {
            deleted += tx.prepare_cached(sql)?.execute([res, cutoff])?;
        }
        // The reader answers a range from this tier only if it starts at or after the
        // horizon, i.e. if retention has not cut into it.
        tx.prepare_cached("UPDATE tier SET horizon = max(horizon, ?2) WHERE res = ?1")?
            .execute([res, cutoff])?;
    }
    let cutoff = now.saturating_sub(longest);
    for sql in [
        "DELETE FROM incident WHERE end_at < ?1",
        "DELETE FROM finding WHERE end_at < ?1",
        "DELETE FROM error_group WHERE last_at < ?1",
    ] {
        deleted += tx.prepare_cached(sql)?.execute([cutoff])?;
    }
    Ok(deleted as u64)
}

/// `sketch_merge(a, b)`: the encoded merge of two encoded latency sketches; NULL stands
/// for an empty sketch.
fn register_sketch_merge(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8
        | FunctionFlags::SQLITE_DETERMINISTIC
        | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function("sketch_merge", 2, flags, |ctx| {
        let a: Option<Vec<u8>> = ctx.get(0)?;
        let b: Option<Vec<u8>> = ctx.get(1)?;
        match (a, b) {
            (None, x) | (x, None) => Ok(x),
            (Some(a), Some(b)) => {
                let mut merged = decode(&a)?;
                merged.merge(&decode(&b)?);
                Ok(Some(merged.to_bytes()))
            }
        }
    })
}

fn decode(bytes: &[u8]) -> rusqlite::Result<LatencySketch> {
    LatencySketch::from_bytes(bytes).ok_or_else(|| {
        rusqlite::Error::UserFunctionError("a stored latency sketch does not decode".into())
    })
}
