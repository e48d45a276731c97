//! Read-only queries on a connection of their own.

use std::path::{Path, PathBuf};

use faultline_aggregate::{Codes, KeyMap, KeyStats, LatencySketch, Summary};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::error::{Context, StoreError};
use crate::write::{HOST, METHOD, ROUTE, UPSTREAM};
use crate::{schema, InputRow, KeyKind, StoredFinding, StoredGroup, StoredIncident, Tier};

/// One point of a timeline: (bucket start, status code, requests).
pub type StatusCount = (i64, u16, u64);

/// Queries for the API and dashboard, on their own connection (`Send`, so it can move to
/// another thread). WAL lets it read while the [`crate::Store`] commits; each query sees
/// one committed state.
#[derive(Debug)]
pub struct Reader {
    conn: Connection,
    path: PathBuf,
    tiers: Vec<Tier>,
}

/// One bucket of one key's timeline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPoint {
    /// The bucket's first second.
    pub bucket: i64,
    pub requests: u64,
    pub errors_5xx: u64,
    /// The 5xx by code (empty for buckets stored before codes were kept per key).
    pub codes_5xx: Codes,
}

impl Reader {
    /// Opens an existing store read-only. `tiers` are the ones the writer was configured
    /// with.
    pub fn open(path: &Path, tiers: Vec<Tier>) -> Result<Reader, StoreError> {
        let tiers = schema::check_tiers(tiers)?;
        let conn = schema::open_reader(path)?;
        Ok(Reader {
            conn,
            path: path.to_path_buf(),
            tiers,
        })
    }

    /// The first and the last second covered by stored rollups, both inclusive (so
    /// `summary(first, last + 1)` covers everything), or `None` when nothing is stored.
    /// The first comes from whichever tier reaches furthest back (aligned to its
    /// resolution), the last from the finest tier that has data.
    pub fn span(&self) -> Result<Option<(i64, i64)>, StoreError> {
        let tx = self
            .conn
            .unchecked_transaction()
            .ctx(&self.path, "read the span")?;
        let mut first: Option<i64> = None;
        let mut last: Option<i64> = None;
        for t in &self.tiers {
            let (lo, hi): (Option<i64>, Option<i64>) = tx
                .prepare_cached(
                    "SELECT (SELECT min(bucket) FROM rollup_status WHERE res = ?1),
                            (SELECT max(bucket) FROM rollup_status WHERE res = ?1)",
                )
                .and_then(|mut s| s.query_row([t.res_secs], |r| Ok((r.get(0)?, r.get(1)?))))
                .ctx(&self.path, "read the span")?;
            if let (Some(lo), Some(hi)) = (lo, hi) {
                first = Some(first.map_or(lo, |f| f.min(lo)));
                last = last.or(Some(hi + t.res_secs - 1));
            }
        }
        Ok(first.zip(last))
    }

    /// The tier a range starting at `from` is answered from: the finest that still holds
    /// every bucket from `from` on (retention has not cut into it, and it existed by then),
    /// else the coarsest.
    pub fn tier_for(&self, from: i64) -> Result<Tier, StoreError> {
        let stored = schema::stored_tiers(&self.conn).ctx(&self.path, "read the tiers")?;
        let covers = |t: &Tier| {
            stored
                .iter()
                .any(|&(res, horizon)| res == t.res_secs && horizon <= from)
        };
        let coarsest = *self.tiers.last().expect("check_tiers keeps at least one");
        Ok(self.tiers.iter().copied().find(covers).unwrap_or(coarsest))
    }

    /// The merged rollups of the buckets with `from <= bucket < to` (bucket = its first
    /// second) in the tier [`Reader::tier_for`] picks: statuses and the four key maps with
    /// merged latency sketches.
    pub fn summary(&self, from: i64, to: i64) -> Result<Summary, StoreError> {
        let what = "read a summary";
        let tx = self.conn.unchecked_transaction().ctx(&self.path, what)?;
        let res = self.tier_for(from)?.res_secs;
        let mut sum = Summary::default();
        let range = (res, from, to);
        self.merge_statuses(&tx, &mut sum, range)?;
        self.merge_keys(&tx, &mut sum, range)?;
        self.merge_key_codes(&tx, &mut sum, range)?;
        sum.routes_folded = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM rollup_folded WHERE res = ?1 AND bucket >= ?2 AND bucket < ?3)",
            )
            .and_then(|mut s| s.query_row(params![res, from, to], |r| r.get(0)))
            .ctx(&self.path, what)?;
        Ok(sum)
    }

    /// Calls `f` on every row of `sql`, a query over `(res, from, to)` as `?1..?3`.
    fn each_row(
        &self,
        conn: &Connection,
        sql: &str,
        (res, from, to): (i64, i64, i64),
        mut f: impl FnMut(&Row<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let what = "read a summary";
        let mut stmt = conn.prepare_cached(sql).ctx(&self.path, what)?;
        let mut rows = stmt.query(params![res, from, to]).ctx(&self.path, what)?;
        while let Some(row) = rows.next().ctx(&self.path, what)? {
            f(row)?;
        }
        Ok(())
    }

    fn merge_statuses(
        &self,
        conn: &Connection,
        sum: &mut Summary,
        range: (i64, i64, i64),
    ) -> Result<(), StoreError> {
        let what = "read a summary";
        let sql = "SELECT status, sum(requests) FROM rollup_status
                   WHERE res = ?1 AND bucket >= ?2 AND bucket < ?3 GROUP BY status";
        self.each_row(conn, sql, range, |row| {
            let (status, n): (i64, i64) = (
                row.get(0).ctx(&self.path, what)?,
                row.get(1).ctx(&self.path, what)?,
            );
            let status = usize::try_from(status)
                .ok()
                .filter(|&s| s < 1000)
                .ok_or_else(|| self.corrupt("status code"))?;
            if sum.by_status.len() <= status {
                sum.by_status.resize(status + 1, 0);
            }
            sum.by_status[status] += n as u64;
            Ok(())
        })
    }

    fn merge_keys(
        &self,
        conn: &Connection,
        sum: &mut Summary,
        range: (i64, i64, i64),
    ) -> Result<(), StoreError> {
        let sql = "SELECT kind, name, requests, errors, latency FROM rollup_key
                   WHERE res = ?1 AND bucket >= ?2 AND bucket < ?3";
        self.each_row(conn, sql, range, |row| {
            let (map, name) = self.key_of(sum, row)?;
            let stats = self.key_stats(row)?;
            // Looked up by slice first: most names repeat across buckets, and a hit needs no
            // allocation.
            match map.get_mut(name) {
                Some(have) => have.merge(&stats),
                None => {
                    map.insert(name.into(), stats);
                }
            }
            Ok(())
        })
    }

    fn merge_key_codes(
        &self,
        conn: &Connection,
        sum: &mut Summary,
        range: (i64, i64, i64),
    ) -> Result<(), StoreError> {
        let what = "read a summary";
        let sql = "SELECT kind, name, status, sum(requests) FROM rollup_key_code
                   WHERE res = ?1 AND bucket >= ?2 AND bucket < ?3 GROUP BY kind, name, status";
        self.each_row(conn, sql, range, |row| {
            let (map, name) = self.key_of(sum, row)?;
            let status = self.code_5xx(row.get(2).ctx(&self.path, what)?)?;
            let n = row.get::<_, i64>(3).ctx(&self.path, what)? as u64;
            // Written in the same commit as the key's row, so the key is there.
            if let Some(stats) = map.get_mut(name) {
                stats.codes_5xx.add(status, n);
            }
            Ok(())
        })
    }

    /// The map of a row's key kind (column 0) and its name (column 1).
    fn key_of<'s, 'r>(
        &self,
        sum: &'s mut Summary,
        row: &'r Row<'_>,
    ) -> Result<(&'s mut KeyMap, &'r [u8]), StoreError> {
        let what = "read a summary";
        let kind = row.get::<_, i64>(0).ctx(&self.path, what)?;
        let map = match kind {
            ROUTE | HOST | UPSTREAM | METHOD => sum
                .key_maps_mut()
                .into_iter()
                .nth(kind as usize)
                .expect("four kinds"),
            _ => return Err(self.corrupt("rollup key kind")),
        };
        let name = row
            .get_ref(1)
            .and_then(|v| Ok(v.as_blob()?))
            .ctx(&self.path, what)?;
        Ok((map, name))
    }

    /// A stored 5xx status code.
    fn code_5xx(&self, status: i64) -> Result<u16, StoreError> {
        u16::try_from(status)
            .ok()
            .filter(|s| (500..600).contains(s))
            .ok_or_else(|| self.corrupt("status code"))
    }

    fn key_stats(&self, row: &Row<'_>) -> Result<KeyStats, StoreError> {
        let what = "read a summary";
        let blob = row
            .get_ref(4)
            .and_then(|v| Ok(v.as_blob_or_null()?))
            .ctx(&self.path, what)?;
        let latency = match blob {
            None => LatencySketch::default(),
            Some(bytes) => {
                LatencySketch::from_bytes(bytes).ok_or_else(|| self.corrupt("latency sketch"))?
            }
        };
        Ok(KeyStats {
            requests: row.get::<_, i64>(2).ctx(&self.path, what)? as u64,
            errors_5xx: row.get::<_, i64>(3).ctx(&self.path, what)? as u64,
            codes_5xx: Codes::default(),
            latency,
        })
    }

    /// Requests per (bucket, status) with `from <= bucket < to`, ordered, and the resolution
    /// of the tier they come from (picked as for [`Reader::summary`]).
    pub fn timeline(&self, from: i64, to: i64) -> Result<(i64, Vec<StatusCount>), StoreError> {
        let what = "read a timeline";
        let tx = self.conn.unchecked_transaction().ctx(&self.path, what)?;
        let res = self.tier_for(from)?.res_secs;
        let mut stmt = tx
            .prepare_cached(
                "SELECT bucket, status, requests FROM rollup_status
                 WHERE res = ?1 AND bucket >= ?2 AND bucket < ?3 ORDER BY bucket, status",
            )
            .ctx(&self.path, what)?;
        let rows = stmt
            .query_map(params![res, from, to], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
            })
            .ctx(&self.path, what)?;
        let points = rows.collect::<Result<_, _>>().ctx(&self.path, what)?;
        Ok((res, points))
    }

    /// Requests and 5xx (by code) per bucket of one key (a route, host, upstream or method) with
    /// `from <= bucket < to`, ordered, and the resolution of the tier they come from.
    pub fn key_timeline(
        &self,
        from: i64,
        to: i64,
        kind: KeyKind,
        name: &str,
    ) -> Result<(i64, Vec<KeyPoint>), StoreError> {
        let what = "read a key's timeline";
        let tx = self.conn.unchecked_transaction().ctx(&self.path, what)?;
        let res = self.tier_for(from)?.res_secs;
        let args = params![res, kind as i64, name.as_bytes(), from, to];
        let mut stmt = tx
            .prepare_cached(
                "SELECT bucket, requests, errors FROM rollup_key
                 WHERE res = ?1 AND kind = ?2 AND name = ?3 AND bucket >= ?4 AND bucket < ?5
                 ORDER BY bucket",
            )
            .ctx(&self.path, what)?;
        let rows = stmt
            .query_map(args, |r| {
                Ok(KeyPoint {
                    bucket: r.get(0)?,
                    requests: r.get::<_, i64>(1)? as u64,
                    errors_5xx: r.get::<_, i64>(2)? as u64,
                    codes_5xx: Codes::default(),
                })
            })
            .ctx(&self.path, what)?;
        let mut points: Vec<KeyPoint> = rows.collect::<Result<_, _>>().ctx(&self.path, what)?;
        let mut stmt = tx
            .prepare_cached(
                "SELECT bucket, status, requests FROM rollup_key_code
                 WHERE res = ?1 AND kind = ?2 AND name = ?3 AND bucket >= ?4 AND bucket < ?5",
            )
            .ctx(&self.path, what)?;
        let rows = stmt
            .query_map(args, |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .ctx(&self.path, what)?;
        for row in rows {
            let (bucket, status, n) = row.ctx(&self.path, what)?;
            let status = self.code_5xx(status)?;
            if let Ok(i) = points.binary_search_by_key(&bucket, |p| p.bucket) {
                points[i].codes_5xx.add(status, n as u64);
            }
        }
        Ok((res, points))
    }

    /// Incidents whose `[start, end]` touches `[from, to)`, newest start first, at most
    /// `limit`.
    pub fn incidents(
        &self,
        from: i64,
        to: i64,
        limit: usize,
    ) -> Result<Vec<StoredIncident>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.rows(
            "read incidents",
            "SELECT id, start_at, end_at, state, cause, body FROM incident
             WHERE start_at < ?2 AND end_at >= ?1 ORDER BY start_at DESC, id LIMIT ?3",
            params![from, to, limit],
            incident_row,
        )
    }

    /// One incident by id.
    pub fn incident(&self, id: &str) -> Result<Option<StoredIncident>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT id, start_at, end_at, state, cause, body FROM incident WHERE id = ?1",
            )
            .and_then(|mut s| s.query_row([id], incident_row).optional())
            .ctx(&self.path, "read an incident")
    }

    /// Findings whose `[start, end]` touches `[from, to)`, oldest start first.
    pub fn findings(&self, from: i64, to: i64) -> Result<Vec<StoredFinding>, StoreError> {
        self.rows(
            "read findings",
            "SELECT id, kind, start_at, end_at, body FROM finding
             WHERE start_at < ?2 AND end_at >= ?1 ORDER BY start_at, id",
            params![from, to],
            |r| {
                Ok(StoredFinding {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    start: r.get(2)?,
                    end: r.get(3)?,
                    body: r.get(4)?,
                })
            },
        )
    }

    /// Error groups seen in `[from, to)` (`last >= from && first < to`), most frequent
    /// first.
    pub fn groups(&self, from: i64, to: i64) -> Result<Vec<StoredGroup>, StoreError> {
        self.rows(
            "read error groups",
            "SELECT fingerprint, first_at, last_at, count, body FROM error_group
             WHERE last_at >= ?1 AND first_at < ?2 ORDER BY count DESC, fingerprint",
            params![from, to],
            |r| {
                Ok(StoredGroup {
                    fingerprint: r.get(0)?,
                    first: r.get(1)?,
                    last: r.get(2)?,
                    count: r.get::<_, i64>(3)? as u64,
                    body: r.get(4)?,
                })
            },
        )
    }

    /// Every input's health, by path.
    pub fn inputs(&self) -> Result<Vec<InputRow>, StoreError> {
        self.rows(
            "read inputs",
            "SELECT path, kind, format, lines, parsed, malformed, error, body FROM input ORDER BY path",
            [],
            |r| {
                Ok(InputRow {
                    path: r.get(0)?,
                    kind: r.get(1)?,
                    format: r.get(2)?,
                    lines: r.get::<_, i64>(3)? as u64,
                    parsed: r.get::<_, i64>(4)? as u64,
                    malformed: r.get::<_, i64>(5)? as u64,
                    error: r.get(6)?,
                    body: r.get(7)?,
                })
            },
        )
    }

    /// Bytes on disk: the database file plus its WAL.
    pub fn size_bytes(&self) -> Result<u64, StoreError> {
        let io = |source| StoreError::Io {
            path: self.path.clone(),
            what: "read the file size",
            source,
        };
        let main = std::fs::metadata(&self.path).map_err(io)?.len();
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        let wal = match std::fs::metadata(&wal) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(io(e)),
        };
        Ok(main + wal)
    }

    fn rows<T, P: rusqlite::Params>(
        &self,
        what: &'static str,
        sql: &str,
        params: P,
        map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).ctx(&self.path, what)?;
        let rows = stmt.query_map(params, map).ctx(&self.path, what)?;
        rows.collect::<Result<_, _>>().ctx(&self.path, what)
    }

    fn corrupt(&self, what: &'static str) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            what,
        }
    }
}

fn incident_row(r: &Row<'_>) -> rusqlite::Result<StoredIncident> {
    Ok(StoredIncident {
        id: r.get(0)?,
        start: r.get(1)?,
        end: r.get(2)?,
        state: r.get(3)?,
        cause: r.get(4)?,
        body: r.get(5)?,
    })
}
