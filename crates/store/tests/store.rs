//! What a user of `faultline serve` relies on: counts add up exactly across commits and
//! tiers, a commit is all or nothing, retention ages data out per tier, and the file
//! survives a restart.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use faultline_aggregate::{KeyStats, LatencySketch, Summary};
use faultline_store::{
    Commit, FileCheckpoint, InputRow, Reader, Store, StoreError, StoredFinding, StoredGroup,
    StoredIncident, Tier,
};

const T0: i64 = 1_700_000_000; // 2023-11-14T22:13:20Z
const DAY: i64 = 86_400;

fn tiers() -> Vec<Tier> {
    vec![
        Tier {
            res_secs: 10,
            keep_secs: DAY,
        },
        Tier {
            res_secs: 60,
            keep_secs: 30 * DAY,
        },
    ]
}

/// The start of the minute holding `T0`.
fn minute() -> i64 {
    T0.div_euclid(60) * 60
}

fn db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("faultline.db");
    (dir, path)
}

fn stats(requests: u64, errors: u64, latencies_us: &[u64]) -> KeyStats {
    let mut latency = LatencySketch::default();
    for &us in latencies_us {
        latency.add(us);
    }
    KeyStats {
        requests,
        errors_5xx: errors,
        latency,
        ..KeyStats::default()
    }
}

/// A summary with the given (status, count) pairs and one route carrying all of them.
fn tick(statuses: &[(usize, u64)], route: &str, latencies_us: &[u64]) -> Summary {
    let mut s = Summary {
        by_status: vec![0; 600],
        ..Summary::default()
    };
    for &(code, n) in statuses {
        s.by_status[code] += n;
    }
    let errors = statuses
        .iter()
        .filter(|(c, _)| *c >= 500)
        .map(|(_, n)| n)
        .sum();
    let mut key = stats(s.requests(), errors, latencies_us);
    key.codes_5xx = statuses
        .iter()
        .filter(|(c, _)| *c >= 500)
        .map(|&(c, n)| (c as u16, n))
        .collect();
    s.routes.insert(route.as_bytes().into(), key.clone());
    s.hosts.insert(b"api.example.com"[..].into(), key.clone());
    s.methods.insert(b"GET"[..].into(), key);
    s
}

fn commit_buckets(store: &mut Store, buckets: &[(i64, Summary)]) {
    store
        .commit(&Commit {
            buckets,
            ..Commit::default()
        })
        .unwrap();
}

fn checkpoint(path: &str, offset: u64) -> FileCheckpoint {
    FileCheckpoint {
        path: path.into(),
        dev: 2049,
        ino: 131_077,
        head: u64::MAX - 7, // a hash: above i64::MAX, stored bit for bit
        head_len: 1024,
        offset,
    }
}

fn incident(id: &str, start: i64, end: i64, state: &str) -> StoredIncident {
    StoredIncident {
        id: id.into(),
        start,
        end,
        state: state.into(),
        cause: "upstream_timeout".into(),
        body: format!(r#"{{"id":"{id}","state":"{state}","evidence":[1,2]}}"#),
    }
}

fn requests(reader: &Reader, from: i64, to: i64) -> u64 {
    reader.summary(from, to).unwrap().requests()
}

#[test]
fn counts_added_across_commits_equal_their_sum() {
    let (_dir, path) = db();
    let mut store = Store::open(&path, tiers()).unwrap();
    let m = minute();
    commit_buckets(
        &mut store,
        &[(m + 3, tick(&[(200, 90), (502, 7)], "/a", &[]))],
    );
    commit_buckets(
        &mut store,
        &[
            (m + 9, tick(&[(200, 10), (503, 1)], "/a", &[])),
            (m + 10, tick(&[(200, 5)], "/b", &[])),
        ],
    );
    commit_buckets(&mut store, &[(m, tick(&[(502, 2)], "/a", &[]))]);

    let reader = store.reader().unwrap();
    let sum = reader.summary(m, m + 60).unwrap();
    assert_eq!(sum.by_status[200], 105);
    assert_eq!(sum.by_status[502], 9);
    assert_eq!(sum.by_status[503], 1);
    assert_eq!(sum.requests(), 115);
    let a = &sum.routes[&b"/a"[..]];
    assert_eq!((a.requests, a.errors_5xx), (110, 10));
    assert_eq!(sum.routes[&b"/b"[..]].requests, 5);
    assert_eq!(sum.methods[&b"GET"[..]].requests, 115);
    assert_eq!(sum.hosts[&b"api.example.com"[..]].errors_5xx, 10);

    let (res, points) = reader.timeline(m, m + 60).unwrap();
    assert_eq!(res, 10);
    assert_eq!(
        points,
        vec![(m, 200, 100), (m, 502, 9), (m, 503, 1), (m + 10, 200, 5)]
    );
    // The range is over bucket starts: the second bucket alone.
    assert_eq!(requests(&reader, m + 10, m + 20), 5);
}

#[test]
fn a_bucket_spread_over_commits_merges_its_latency_sketches() {
    let (_dir, path) = db();
    let mut store = Store::open(&path, tiers()).unwrap();
    let m = minute();
    let values: Vec<u64> = (0..700u64).map(|i| (i * 7919) % 250_000 + 100).collect();
    let mut all = LatencySketch::default();
    // Uneven slices: some sketches stay exact (≤ 32 values), others switch to buckets.
    for part in [
        &values[..5],
        &values[5..20],
        &values[20..400],
        &values[400..],
    ] {
        for &v in part {
            all.add(v);
        }
        let n = part.len() as u64;
        commit_buckets(&mut store, &[(m + 1, tick(&[(200, n)], "/slow", part))]);
    }

    let sum = store.reader().unwrap().summary(m, m + 10).unwrap();
    let merged = &sum.routes[&b"/slow"[..]].latency;
    assert_eq!(merged.count(), 700);
    for q in [0.0, 0.1, 0.5, 0.9, 0.99, 1.0] {
        assert_eq!(merged.quantile_us(q), all.quantile_us(q), "q={q}");
    }
}

#[test]
fn a_coarse_tier_holds_the_sums_of_its_fine_buckets() {
    let (_dir, path) = db();
    let mut store = Store::open(&path, tiers()).unwrap();
    let m = minute();
    let mut all = LatencySketch::default();
    for i in 0..6u64 {
        let lat: Vec<u64> = (0..10).map(|j| 1000 * (i + 1) + j).collect();
        lat.iter().for_each(|&v| all.add(v));
        commit_buckets(
            &mut store,
            &[(
                m + 10 * i as i64 + 5,
                tick(&[(200, 10), (500, i)], "/r", &lat),
            )],
        );
    }
    commit_buckets(&mut store, &[(m + 60, tick(&[(200, 1)], "/r", &[]))]);

    let fine = store.reader().unwrap();
    let (res, points) = fine.timeline(m, m + 60).unwrap();
    assert_eq!(res, 10);
    assert_eq!(points.iter().filter(|p| p.1 == 200).count(), 6);

    // A reader configured with the coarse tier alone reads it directly.
    let coarse = Reader::open(&path, vec![tiers()[1]]).unwrap();
    let (res, points) = coarse.timeline(m, m + 120).unwrap();
    assert_eq!(res, 60);
    assert_eq!(points, vec![(m, 200, 60), (m, 500, 15), (m + 60, 200, 1)]);
    let sum = coarse.summary(m, m + 60).unwrap();
    let r = &sum.routes[&b"/r"[..]];
    assert_eq!((r.requests, r.errors_5xx), (75, 15));
    assert_eq!(r.latency.count(), 60);
    assert_eq!(r.latency.quantile_us(0.5), all.quantile_us(0.5));
    assert_eq!(fine.summary(m, m + 60).unwrap().requests(), sum.requests());
}

#[test]
fn retention_drops_old_rows_per_tier_and_ranges_fall_back_to_the_coarser_tier() {
    let (_dir, path) = db();
    let mut store = Store::open(&path, tiers()).unwrap();
    let m = minute();
    // One bucket an hour for two days.
    for h in 0..48 {
        commit_buckets(&mut store, &[(m + h * 3600, tick(&[(200, 1)], "/", &[]))]);
    }
    let now = m + 48 * 3600;
    store
        .commit(&Commit {
            incidents: &[
                incident("old", m - 40 * DAY, m - 39 * DAY, "resolved"),
                incident("recent", m, m + 60, "resolved"),
            ],
            ..Commit::default()
        })
        .unwrap();
    let reader = store.reader().unwrap();
    assert_eq!(reader.timeline(m, now).unwrap().0, 10, "nothing cut yet");

    let deleted = store.retain(now).unwrap();
    // 24 hourly buckets of the 10 s tier (status and three keys each), and "old".
    assert_eq!(deleted, 24 * 4 + 1);

    let (res, points) = reader.timeline(m, now).unwrap();
    assert_eq!(res, 60, "the 10 s tier no longer holds the start");
    assert_eq!(points.len(), 48);
    assert_eq!(requests(&reader, m, now), 48);
    let (res, points) = reader.timeline(now - DAY, now).unwrap();
    assert_eq!(res, 10, "the last day is still fine-grained");
    assert_eq!(points.len(), 24);
    let ids: Vec<String> = reader
        .incidents(i64::MIN, i64::MAX, 10)
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids, ["recent"]);

    // Thirty days on, the coarse tier lets go too.
    store.retain(now + 30 * DAY - 3600).unwrap();
    assert_eq!(
        requests(&reader, m, now),
        1,
        "only the newest hour's minute is left"
    );
    assert_eq!(
        reader.span().unwrap(),
        Some((m + 47 * 3600, m + 47 * 3600 + 59))
    );
}

#[test]
fn span_covers_the_stored_rollups() {
    let (_dir, path) = db();
    let mut store = Store::open(&path, tiers()).unwrap();
    let reader = store.reader().unwrap();
    assert_eq!(reader.span().unwrap(), None);
    let m = minute();
    commit_buckets(&mut store, &[(m + 15, tick(&[(200, 1)], "/", &[]))]);
    commit_buckets(&mut store, &[(m + 125, tick(&[(200, 1)], "/", &[]))]);
    let (first, last) = reader.span().unwrap().unwrap();
    assert_eq!((first, last), (m, m + 129));
    assert_eq!(requests(&reader, first, last + 1), 2);
}

#[test]
fn checkpoints_round_trip_and_upsert_by_path() {
    let (_dir, path) = db();
    let mut store = Store::open(&path, tiers()).unwrap();
    assert_eq!(store.checkpoints().unwrap(), vec![]);
    let a = checkpoint("/var/log/nginx/access.log", 4096);
    let b = checkpoint("/var/log/nginx/error.log", u64::MAX >> 1);
    store
        .commit(&Commit {
            checkpoints: &[a.clone(), b.clone()],
            ..Commit::default()
        })
        .unwrap();
    assert_eq!(store.checkpoints().unwrap(), vec![a.clone(), b.clone()]);

    let a2 = FileCheckpoint {
        ino: 9,
        offset: 8192,
        ..a
    };
    store
        .commit(&Commit {
            checkpoints: std::slice::from_ref(&a2),
            ..Commit::default()
        })
        .unwrap();
    assert_eq!(store.checkpoints().unwrap(), vec![a2, b]);
}

#[test]
fn a_failed_commit_stores_nothing_of_it() {
    let (_dir, path) = db();
    let m = minute();
    let mut store = Store::open(&path, tiers()).unwrap();
    let first_cp = checkpoint("/access.log", 100);
    store
        .commit(&Commit {
            buckets: &[(m, tick(&[(200, 3)], "/", &[5, 6]))],
            checkpoints: std::slice::from_ref(&first_cp),
            ..Commit::default()
        })
        .unwrap();

    // Rollups and a checkpoint go in first; the incident's body is no JSON and fails the
    // commit after them.
    let mut bad = incident("i1", m, m + 10, "open");
    bad.body = "{not json".into();
    let err = store
        .commit(&Commit {
            buckets: &[
                (m, tick(&[(500, 50)], "/", &[7])),
                (m + 600, tick(&[(200, 1)], "/x", &[])),
            ],
            checkpoints: &[checkpoint("/access.log", 999), checkpoint("/other.log", 1)],
            inputs: &[input("/access.log", 5)],
            incidents: &[incident("i0", m, m + 10, "open"), bad],
            ..Commit::default()
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::Sql { .. }), "{err}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );

    for store in [store, Store::open(&path, tiers()).unwrap()] {
        assert_eq!(store.checkpoints().unwrap(), vec![first_cp.clone()]);
        let reader = store.reader().unwrap();
        let sum = reader.summary(m - DAY, m + DAY).unwrap();
        assert_eq!(sum.requests(), 3);
        assert_eq!(sum.routes[&b"/"[..]].latency.count(), 2);
        assert!(!sum.routes.contains_key(&b"/x"[..]));
        assert_eq!(reader.incidents(i64::MIN, i64::MAX, 10).unwrap(), vec![]);
        assert_eq!(reader.inputs().unwrap(), vec![]);
    }
}

fn input(path: &str, lines: u64) -> InputRow {
    InputRow {
        path: path.into(),
        kind: "access".into(),
        format: Some("nginx_combined".into()),
        lines,
        parsed: lines - 1,
        malformed: 1,
        error: None,
        body: format!(r#"{{"path":"{path}","lines":{lines}}}"#),
    }
}

#[test]
fn resolve_open_resolves_state_and_body() {
    let (_dir, path) = db();
    let mut store = Store::open(&path, tiers()).unwrap();
    store
        .commit(&Commit {
            incidents: &[
                incident("a", T0, T0 + 60, "open"),
                incident("b", T0 - 600, T0 - 300, "resolved"),
                incident("c", T0 + 100, T0 + 160, "open"),
            ],
            ..Commit::default()
        })
        .unwrap();
    assert_eq!(store.resolve_open().unwrap(), 2);
    assert_eq!(store.resolve_open().unwrap(), 0);

    let reader = store.reader().unwrap();
    for id in ["a", "b", "c"] {
        let i = reader.incident(id).unwrap().unwrap();
        assert_eq!(i.state, "resolved");
        let body: serde_json::Value = serde_json::from_str(&i.body).unwrap();
        assert_eq!(body["state"], "resolved", "{id}");
        assert_eq!(
            body["evidence"],
            serde_json::json!([1, 2]),
            "the rest is kept"
        );
    }
    assert_eq!(reader.incident("nope").unwrap(), None);
}

#[test]
fn incidents_findings_and_groups_are_found_by_overlap() {
    let (_dir, path) = db();
    let mut store = Store::open(&path, tiers()).unwrap();
    let finding = |id: &str, start, end| StoredFinding {
        id: id.into(),
        kind: "ratio".into(),
        start,
        end,
        body: "{}".into(),
    };
    let group = |fp: &str, first, last, count| StoredGroup {
        fingerprint: fp.into(),
        first,
        last,
        count,
        body: r#"{"sample":"java.net.SocketTimeoutException"}"#.into(),
    };
    store
        .commit(&Commit {
            incidents: &[
                incident("early", 100, 200, "resolved"),
                incident("pending-id", 300, 400, "open"),
                incident("late", 500, 600, "resolved"),
            ],
            findings: &[finding("f1", 100, 150), finding("f2", 450, 460)],
            groups: &[group("g1", 100, 120, 3), group("g2", 110, 900, 40)],
            ..Commit::default()
        })
        .unwrap();
    // The open incident got its final id; a group's count grew.
    store
        .commit(&Commit {
            incidents: &[incident("mid", 300, 420, "open")],
            removed_incidents: &["pending-id".into()],
            groups: &[group("g1", 100, 130, 50)],
            ..Commit::default()
        })
        .unwrap();

    let reader = store.reader().unwrap();
    let ids = |from, to, limit| -> Vec<String> {
        let rows = reader.incidents(from, to, limit).unwrap();
        rows.into_iter().map(|i| i.id).collect()
    };
    assert_eq!(ids(0, 1000, 10), ["late", "mid", "early"]);
    assert_eq!(ids(0, 1000, 2), ["late", "mid"]);
    assert_eq!(ids(200, 300, 10), ["early"], "end is inclusive, to is not");
    assert_eq!(ids(601, 700, 10), Vec::<String>::new());
    assert_eq!(reader.incident("pending-id").unwrap(), None);

    let f: Vec<String> = reader
        .findings(0, 455)
        .unwrap()
        .into_iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(f, ["f1", "f2"]);
    assert_eq!(reader.findings(151, 450).unwrap(), vec![]);

    let g = reader.groups(0, 1000).unwrap();
    assert_eq!(
        g.iter()
            .map(|g| (g.fingerprint.as_str(), g.count))
            .collect::<Vec<_>>(),
        [("g1", 50), ("g2", 40)],
        "most frequent first, values replaced"
    );
    assert_eq!(reader.groups(131, 1000).unwrap().len(), 1);
}

#[test]
fn reopening_keeps_everything() {
    let (_dir, path) = db();
    let m = minute();
    let cp = checkpoint("/var/log/access.log", 123_456);
    let inputs = [
        input("/var/log/access.log", 10),
        input("/var/log/error.log", 3),
    ];
    let inc = incident("i1", m, m + 30, "open");
    {
        let mut store = Store::open(&path, tiers()).unwrap();
        store
            .commit(&Commit {
                buckets: &[(m + 5, tick(&[(200, 8), (504, 2)], "/api", &[1500, 2500]))],
                checkpoints: std::slice::from_ref(&cp),
                inputs: &inputs,
                incidents: std::slice::from_ref(&inc),
                ..Commit::default()
            })
            .unwrap();
        // A later run's input row replaces the first.
        store
            .commit(&Commit {
                inputs: &[input("/var/log/error.log", 7)],
                ..Commit::default()
            })
            .unwrap();
    }
    let store = Store::open(&path, tiers()).unwrap();
    assert_eq!(store.checkpoints().unwrap(), vec![cp]);
    let reader = store.reader().unwrap();
    let sum = reader.summary(m, m + 60).unwrap();
    assert_eq!((sum.by_status[200], sum.by_status[504]), (8, 2));
    assert_eq!(sum.routes[&b"/api"[..]].latency.count(), 2);
    assert_eq!(
        reader.inputs().unwrap(),
        vec![inputs[0].clone(), input("/var/log/error.log", 7)]
    );
    assert_eq!(reader.incident("i1").unwrap(), Some(inc));
    assert!(reader.size_bytes().unwrap() > 0);
}

#[test]
fn a_reader_on_another_thread_sees_whole_commits_while_the_writer_commits() {
    let (_dir, path) = db();
    let m = minute();
    let mut store = Store::open(&path, tiers()).unwrap();
    let reader = store.reader().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let seen = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut reads = Vec::new();
            loop {
                let finished = done.load(Ordering::Acquire);
                let sum = reader.summary(m, m + 3600).unwrap();
                // Each commit adds one 200 to one bucket and one 503 to another: a reader
                // sees both or neither.
                assert_eq!(sum.by_status.get(200), sum.by_status.get(503));
                reads.push(sum.by_status.get(200).copied().unwrap_or(0));
                if finished {
                    return reads;
                }
            }
        })
    };
    for i in 0..200 {
        commit_buckets(
            &mut store,
            &[
                (m + i % 60, tick(&[(200, 1)], "/", &[])),
                (m + 600 + i % 60, tick(&[(503, 1)], "/", &[])),
            ],
        );
    }
    done.store(true, Ordering::Release);
    let reads = seen.join().unwrap();
    assert!(
        reads.windows(2).all(|w| w[0] <= w[1]),
        "counts never go back"
    );
    assert_eq!(reads.last(), Some(&200), "the last read sees every commit");
}

#[test]
fn a_file_that_is_no_sqlite_database_is_refused_by_path() {
    let (_dir, path) = db();
    std::fs::write(
        &path,
        "127.0.0.1 - - [14/Nov/2023] \"GET / HTTP/1.1\" 502 0\n".repeat(100),
    )
    .unwrap();
    let err = Store::open(&path, tiers()).unwrap_err();
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");
    assert_names(&err, &path);
    let err = Reader::open(&path, tiers()).unwrap_err();
    assert_names(&err, &path);
}

#[test]
fn another_programs_database_is_refused_by_path() {
    let (_dir, path) = db();
    let other = rusqlite::Connection::open(&path).unwrap();
    other
        .execute_batch("CREATE TABLE notes (body TEXT)")
        .unwrap();
    drop(other);
    let err = Store::open(&path, tiers()).unwrap_err();
    assert!(matches!(err, StoreError::NotAStore { .. }), "{err:?}");
    assert_names(&err, &path);
}

#[test]
fn a_store_of_another_schema_version_is_refused() {
    let (_dir, path) = db();
    drop(Store::open(&path, tiers()).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = Store::open(&path, tiers()).unwrap_err();
    assert!(err.to_string().contains("newer faultline"), "{err}");
    assert_names(&err, &path);
}

#[test]
fn a_reader_of_a_missing_file_names_it() {
    let (_dir, path) = db();
    let err = Reader::open(&path, tiers()).unwrap_err();
    assert_names(&err, &path);
    assert!(!path.exists(), "a reader creates nothing");
}

fn assert_names(err: &StoreError, path: &Path) {
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
}

#[test]
fn unusable_tiers_are_refused() {
    let (_dir, path) = db();
    let bad = |tiers: Vec<Tier>| matches!(Store::open(&path, tiers), Err(StoreError::Tiers(_)));
    assert!(bad(vec![]));
    assert!(bad(vec![Tier {
        res_secs: 0,
        keep_secs: 60
    }]));
    assert!(bad(vec![Tier {
        res_secs: 60,
        keep_secs: 30
    }]));
    assert!(bad(vec![tiers()[0], tiers()[0]]));
}

#[test]
fn a_tier_added_later_answers_only_ranges_after_it_was_added() {
    let (_dir, path) = db();
    let m = minute();
    let coarse = vec![tiers()[1]];
    let mut store = Store::open(&path, coarse).unwrap();
    commit_buckets(&mut store, &[(m + 5, tick(&[(200, 4)], "/", &[]))]);
    drop(store);

    let mut store = Store::open(&path, tiers()).unwrap();
    commit_buckets(&mut store, &[(m + 65, tick(&[(200, 1)], "/", &[]))]);
    let reader = store.reader().unwrap();
    assert_eq!(
        reader.timeline(m, m + 120).unwrap().0,
        60,
        "the 10 s tier misses the first minute"
    );
    assert_eq!(requests(&reader, m, m + 120), 5);
    assert_eq!(reader.timeline(m + 60, m + 120).unwrap().0, 10);
    assert_eq!(requests(&reader, m + 60, m + 120), 1);
}

#[test]
fn one_keys_timeline_counts_its_buckets_only() {
    let (_d, path) = db();
    let mut store = Store::open(&path, tiers()).unwrap();
    let m = minute();
    commit_buckets(
        &mut store,
        &[
            (m, tick(&[(200, 8), (502, 2)], "/api/items/{id}", &[])),
            (m + 10, tick(&[(200, 5)], "/api/items/{id}", &[])),
            (m + 20, tick(&[(200, 7)], "/other", &[])),
        ],
    );
    let r = store.reader().unwrap();
    let (res, points) = r
        .key_timeline(
            m,
            m + 60,
            faultline_store::KeyKind::Route,
            "/api/items/{id}",
        )
        .unwrap();
    assert_eq!(res, 10);
    let got: Vec<_> = points
        .iter()
        .map(|p| {
            (
                p.bucket,
                p.requests,
                p.errors_5xx,
                p.codes_5xx.iter().collect::<Vec<_>>(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![(m, 10, 2, vec![(502, 2)]), (m + 10, 5, 0, vec![])]
    );
    let (_, hosts) = r
        .key_timeline(m, m + 60, faultline_store::KeyKind::Host, "api.example.com")
        .unwrap();
    assert_eq!(hosts.iter().map(|p| p.requests).sum::<u64>(), 22);
    let (_, none) = r
        .key_timeline(m, m + 60, faultline_store::KeyKind::Route, "/nope")
        .unwrap();
    assert!(none.is_empty());
}

#[test]
fn a_keys_5xx_by_code_add_up_across_commits_buckets_and_tiers() {
    let (_d, path) = db();
    let mut store = Store::open(&path, tiers()).unwrap();
    let m = minute();
    let route = "/api/items/{id}";
    commit_buckets(&mut store, &[(m, tick(&[(200, 8), (502, 2)], route, &[]))]);
    commit_buckets(
        &mut store,
        &[
            (m + 5, tick(&[(502, 1), (504, 3)], route, &[])),
            (m + 30, tick(&[(503, 4)], "/other", &[])),
        ],
    );
    let r = store.reader().unwrap();
    let codes = |s: &Summary, route: &str| -> Vec<(u16, u64)> {
        s.routes[route.as_bytes()].codes_5xx.iter().collect()
    };
    // The 10 s tier: both commits fell into one bucket.
    let fine = r.summary(m, m + 60).unwrap();
    assert_eq!(codes(&fine, route), [(502, 3), (504, 3)]);
    assert_eq!(codes(&fine, "/other"), [(503, 4)]);
    assert_eq!(
        fine.hosts[&b"api.example.com"[..]]
            .codes_5xx
            .iter()
            .collect::<Vec<_>>(),
        [(502, 3), (503, 4), (504, 3)]
    );
    // The 1 min tier, read once the 10 s tier no longer covers the range.
    store.retain(m + 2 * 86_400).unwrap();
    let r = store.reader().unwrap();
    let coarse = r.summary(m, m + 60).unwrap();
    assert_eq!(codes(&coarse, route), [(502, 3), (504, 3)]);
}

#[test]
fn a_version_2_store_keeps_its_rollups_and_gains_the_codes_per_key() {
    let (_d, path) = db();
    let m = minute();
    let route = "/api/items/{id}";
    let store = Store::open(&path, tiers()).unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("DROP TABLE rollup_key_code; PRAGMA user_version = 2;")
        .unwrap();
    conn.execute(
        "INSERT INTO rollup_key (res, bucket, kind, name, requests, errors) VALUES (10, ?1, 0, ?2, 7, 3)",
        rusqlite::params![m, route.as_bytes()],
    )
    .unwrap();
    drop(conn);
    let mut store = Store::open(&path, tiers()).unwrap();
    commit_buckets(&mut store, &[(m + 10, tick(&[(503, 2)], route, &[]))]);
    let s = store.reader().unwrap().summary(m, m + 20).unwrap();
    let k = &s.routes[route.as_bytes()];
    assert_eq!((k.requests, k.errors_5xx), (9, 5));
    // The old bucket's 5xx have no code; the new one's have.
    assert_eq!(k.codes_5xx.iter().collect::<Vec<_>>(), [(503, 2)]);
}
