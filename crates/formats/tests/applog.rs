//! Application logs: each runtime's output joins into the events a person reading the log
//! would see (first line, line count, kind, time, level), and the fingerprint puts repeats of
//! one failure together and different failures apart.

use faultline_formats::{fingerprint, is_continuation_of_error_log, AppEvent, Joiner, Level};

/// 2026-05-14T10:21:33, read as UTC.
const T: i64 = 1_778_754_093;

fn join_with(mut joiner: Joiner, text: &str) -> Vec<AppEvent> {
    let mut events = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        events.extend(joiner.push(i as u64 + 1, line.as_bytes()));
    }
    events.extend(joiner.finish());
    events
}

fn join(text: &str) -> Vec<AppEvent> {
    join_with(Joiner::new(), text)
}

/// First line, number of lines and kind of each event.
fn shapes(events: &[AppEvent]) -> Vec<(u64, u32, &'static str)> {
    events.iter().map(|e| (e.line, e.lines, e.kind)).collect()
}

fn fp(e: &AppEvent) -> faultline_formats::Fingerprint {
    fingerprint(&e.text, e.kind)
}

/// Events that are one record each, from `first` to `last`.
fn records(first: u64, last: u64) -> impl Iterator<Item = (u64, u32, &'static str)> {
    (first..=last).map(|l| (l, 1, "log"))
}

const PYTHON: &str = include_str!("../testdata/applog/python-gunicorn.log");
const JAVA: &str = include_str!("../testdata/applog/java-spring.log");
const GO: &str = include_str!("../testdata/applog/go.log");
const NODE: &str = include_str!("../testdata/applog/node.log");
const RAILS: &str = include_str!("../testdata/applog/rails.log");
const RAILS_STDOUT: &str = include_str!("../testdata/applog/rails-stdout.log");
const PHP_ERROR: &str = include_str!("../testdata/applog/php-error.log");
const PHP_FPM: &str = include_str!("../testdata/applog/php-fpm.log");
const NGINX_PHP: &str = include_str!("../testdata/applog/nginx-php-error.log");
const SINGLE: &str = include_str!("../testdata/applog/single-records.log");
const SYSLOG: &str = include_str!("../testdata/applog/syslog.log");

const ALL: [&str; 11] = [
    PYTHON,
    JAVA,
    GO,
    NODE,
    RAILS,
    RAILS_STDOUT,
    PHP_ERROR,
    PHP_FPM,
    NGINX_PHP,
    SINGLE,
    SYSLOG,
];

#[test]
fn python_tracebacks_behind_gunicorn() {
    let ev = join(PYTHON);
    let mut want: Vec<_> = records(1, 5).collect();
    want.extend([
        (6, 20, "python.traceback"),
        (26, 1, "log"),
        (27, 20, "python.traceback"),
        // Chained with "The above exception was the direct cause …".
        (47, 16, "python.traceback"),
        // A two-line exception message, then "During handling …"; the blank line after the
        // last traceback belongs to nobody.
        (63, 17, "python.traceback"),
        (81, 1, "log"),
        (82, 12, "python.traceback"),
    ]);
    want.extend(records(94, 97));
    assert_eq!(shapes(&ev), want);

    assert_eq!(ev[0].time, Some((T - 3, Some(0))));
    assert_eq!(ev[5].time, Some((T, None)));
    assert_eq!(ev[5].level, Some(Level::Error));
    assert_eq!(ev[10].level, Some(Level::Critical));
    assert!(ev[5]
        .text
        .starts_with("2026-05-14 10:21:33,123 ERROR [shop.app] Exception on /api/orders/1841"));
    assert!(ev[5].text.ends_with("https://sqlalche.me/e/20/3o7r)"));

    // The same pool exhaustion for another order, raised from another line of the view.
    assert_eq!(fp(&ev[5]), fp(&ev[7]));
    assert_eq!(
        fp(&ev[5]).title,
        "sqlalchemy.exc.TimeoutError: QueuePool limit of size {n} overflow {n} reached, \
         connection timed out, timeout {n} (Background on this error at: \
         https://sqlalche.me/e/{n}/{n}o7r)"
    );
    assert_eq!(
        fp(&ev[8]).title,
        "shop.services.pricing.PricingError: no price for SKU-{n}"
    );
    assert_eq!(
        fp(&ev[9]).title,
        "AttributeError: 'NoneType' object has no attribute 'month'"
    );
    assert_eq!(fp(&ev[11]).title, "SystemExit: {n}");
    // gunicorn's worker timeouts for two pids.
    assert_eq!(fp(&ev[10]), fp(&ev[15]));
    assert_eq!(fp(&ev[10]).title, "WORKER TIMEOUT (pid:{n})");
    let distinct: std::collections::HashSet<u64> =
        [5, 8, 9, 10, 11].map(|i| fp(&ev[i]).hash).into();
    assert_eq!(distinct.len(), 5);
}

#[test]
fn java_exceptions_from_spring_boot() {
    let ev = join(JAVA);
    assert_eq!(
        shapes(&ev),
        [
            (1, 1, "log"),
            // "with root cause", a blank line, the trace with two `Caused by:`.
            (2, 28, "java.exception"),
            (31, 1, "log"),
            (32, 28, "java.exception"),
            (61, 8, "java.exception"),
            (70, 1, "log"),
            // Uncaught on stderr, with `Suppressed:` and `... N more`.
            (71, 15, "java.exception"),
            (86, 1, "log"),
        ]
    );
    assert_eq!(ev[1].time, Some((T, Some(0))));
    assert_eq!(ev[1].level, Some(Level::Error));
    assert_eq!(ev[6].time, None);
    // Titled by the root cause; grouped across threads, pool counters and timings.
    assert_eq!(
        fp(&ev[1]).title,
        "java.net.ConnectException: Connection refused"
    );
    assert_eq!(fp(&ev[1]), fp(&ev[3]));
    assert_ne!(fp(&ev[1]).hash, fp(&ev[4]).hash);
    assert!(fp(&ev[4])
        .title
        .starts_with("java.lang.NullPointerException: Cannot invoke"));
    assert_eq!(
        fp(&ev[6]).title,
        "java.net.SocketTimeoutException: Read timed out"
    );
}

#[test]
fn go_panics_and_goroutine_dumps() {
    let ev = join(GO);
    assert_eq!(
        shapes(&ev),
        [
            (1, 1, "log"),
            // net/http's recovered panic: a log line, then the goroutine.
            (2, 18, "go.panic"),
            (20, 1, "log"),
            (21, 18, "go.panic"),
            (39, 1, "log"),
            // panic, blank line, goroutine, `exit status 2`.
            (40, 8, "go.panic"),
            (48, 1, "log"),
            // fatal error with two goroutines separated by a blank line.
            (49, 21, "go.panic"),
            (70, 1, "log"),
            // SIGQUIT dump with registers.
            (71, 14, "go.panic"),
        ]
    );
    assert_eq!(ev[1].time, Some((T, None)));
    assert_eq!(ev[5].level, Some(Level::Fatal));
    assert!(ev[5].text.ends_with("exit status 2"));
    assert_eq!(fp(&ev[1]), fp(&ev[3]));
    assert_eq!(
        fp(&ev[1]).title,
        "panic: runtime error: invalid memory address or nil pointer dereference"
    );
    assert_eq!(
        fp(&ev[5]).title,
        "panic: pq: password authentication failed for user \"shop\""
    );
    assert_eq!(fp(&ev[7]).title, "fatal error: concurrent map writes");
    assert_eq!(fp(&ev[9]).title, "SIGQUIT: quit");
}

#[test]
fn a_goroutine_dump_without_a_panic() {
    let dump = "goroutine 1 [chan receive, 12 minutes]:\nmain.main()\n\t/app/main.go:40 +0x2b4\n\n\
                goroutine 7 [select]:\nmain.worker()\n\t/app/worker.go:18 +0x9c\n";
    let ev = join(dump);
    assert_eq!(shapes(&ev), [(1, 7, "go.goroutines")]);
    let later = dump
        .replace("12 minutes", "40 minutes")
        .replace("+0x2b4", "+0x2c0");
    assert_eq!(fp(&ev[0]), fp(&join(&later)[0]));
    assert_eq!(
        fp(&ev[0]).title,
        "goroutine {n} [chan receive, {n} minutes]:"
    );
}

/// .NET is not a shape of its own: its frames continue the record, as indented lines do.
#[test]
fn dotnet_frames_are_not_read_as_node() {
    let ev = join(
        "2026-05-14 10:21:33 ERROR request failed\nSystem.InvalidOperationException: boom\n   \
         at Shop.Orders.Show() in /src/Orders.cs:line 42",
    );
    assert_eq!(shapes(&ev), [(1, 3, "log")]);
}

#[test]
fn node_errors_crashes_and_rejections() {
    let ev = join(NODE);
    assert_eq!(
        shapes(&ev),
        [
            (1, 1, "log"),
            // pino with `err.stack`.
            (2, 1, "node.error"),
            // winston's line and the logged error.
            (3, 4, "node.error"),
            // console.error(err) with the error's properties.
            (7, 8, "node.error"),
            // Uncaught: source line, caret, error, frames, `Node.js v20`.
            (15, 10, "node.error"),
            // Unhandled rejections as Node 18 and Node 20 print them.
            (25, 9, "node.error"),
            (34, 12, "node.error"),
            // An 'error' event nobody listened to.
            (46, 18, "node.error"),
            (64, 4, "node.error"),
            (68, 1, "log"),
        ]
    );
    assert_eq!(ev[1].time, Some((T, Some(0))));
    assert_eq!(ev[1].level, Some(Level::Error));
    assert_eq!(ev[0].level, Some(Level::Info));
    // The same error logged as JSON and as text.
    assert_eq!(fp(&ev[1]), fp(&ev[2]));
    assert_eq!(
        fp(&ev[1]).title,
        "TypeError: Cannot read properties of undefined (reading 'id')"
    );
    assert_eq!(fp(&ev[3]).title, "Error: connect ECONNREFUSED {ip}");
    assert_ne!(fp(&ev[3]).hash, fp(&ev[7]).hash, "different frames");
    assert_eq!(fp(&ev[4]).title, "Error: order {n} not found");
    assert!(ev[4].text.ends_with("Node.js v20.11.1"));
}

#[test]
fn rails_with_the_logger_formatter() {
    let ev = join(RAILS);
    let mut want: Vec<_> = records(1, 4).collect();
    want.extend([
        (5, 9, "ruby.exception"),
        (14, 1, "log"),
        (15, 1, "log"),
        (16, 9, "ruby.exception"),
        (25, 5, "ruby.exception"),
        (30, 1, "log"),
        // An uncaught error from a rake task, right after a warning.
        (31, 4, "ruby.exception"),
        (35, 1, "log"),
    ]);
    assert_eq!(shapes(&ev), want);
    assert_eq!(ev[4].level, Some(Level::Fatal));
    assert_eq!(ev[4].time, Some((T, None)));
    assert_eq!(fp(&ev[4]), fp(&ev[7]));
    assert_eq!(
        fp(&ev[4]).title,
        "ActionView::Template::Error: undefined method `name' for nil"
    );
    assert_eq!(
        fp(&ev[8]).title,
        "ActiveRecord::ConnectionNotEstablished: connection to server at \"{ip}\", port {n} \
         failed: Connection refused"
    );
    assert_eq!(
        fp(&ev[10]).title,
        "NoMethodError: undefined method 'each' for nil"
    );
    assert_eq!(
        fp(&ev[3]).title,
        "Completed {n} Internal Server Error in {n}ms (ActiveRecord: {n}ms | Allocations: {n})"
    );
    assert_eq!(fp(&ev[0]), fp(&ev[5]), "request ids are masked");
}

#[test]
fn rails_on_stdout_with_request_tags_and_no_timestamps() {
    let ev = join(RAILS_STDOUT);
    assert_eq!(
        shapes(&ev),
        [
            (1, 1, "log"),
            // The indented `  Parameters:` continues the record before it.
            (2, 2, "log"),
            (4, 1, "log"),
            (6, 3, "ruby.exception"),
            (9, 1, "log"),
            (10, 1, "log"),
            (12, 3, "ruby.exception"),
        ]
    );
    assert_eq!(fp(&ev[3]), fp(&ev[6]));
    assert_eq!(
        fp(&ev[3]).title,
        "ActiveRecord::RecordNotFound: Couldn't find Order with 'id'={n}"
    );
}

#[test]
fn php_error_log() {
    let ev = join(PHP_ERROR);
    assert_eq!(
        shapes(&ev),
        [
            (1, 1, "log"),
            (2, 7, "php.fatal"),
            (9, 1, "php.fatal"),
            (10, 7, "php.fatal"),
            // `Next …` after a blank line chains a second exception.
            (17, 12, "php.fatal"),
            (29, 1, "php.fatal"),
        ]
    );
    assert_eq!(ev[0].level, Some(Level::Warn));
    assert_eq!(ev[1].level, Some(Level::Fatal));
    assert_eq!(ev[1].time, Some((T, Some(0))));
    assert_eq!(fp(&ev[1]), fp(&ev[3]));
    assert_eq!(
        fp(&ev[1]).title,
        "Uncaught PDOException: SQLSTATE[HY000] [{n}] Connection refused"
    );
    assert_eq!(
        fp(&ev[2]).title,
        "PHP Fatal error: Allowed memory size of {n} bytes exhausted (tried to allocate {n} bytes)"
    );
    assert_eq!(
        fp(&ev[4]).title,
        "Uncaught RuntimeException: payment gateway returned {n}"
    );
}

#[test]
fn php_fpm_log_joins_a_childs_stderr_lines() {
    let ev = join(PHP_FPM);
    let mut want: Vec<_> = records(1, 7).collect();
    want.extend([(8, 4, "php.fatal"), (12, 4, "php.fatal")]);
    want.extend(records(16, 18));
    assert_eq!(shapes(&ev), want);
    assert_eq!(ev[7].level, Some(Level::Fatal));
    assert_eq!(ev[7].time, Some((T + 7, None)));
    assert_eq!(fp(&ev[7]), fp(&ev[8]));
    assert_eq!(fp(&ev[7]).title, "Uncaught Exception: order {n} is locked");
    assert_eq!(
        fp(&ev[2]).title,
        "[pool www] server reached pm.max_children setting ({n}), consider raising it"
    );
}

#[test]
fn nginx_error_log_carrying_a_php_stack_trace() {
    let mut entries: Vec<String> = Vec::new();
    for line in NGINX_PHP.lines() {
        match entries.last_mut() {
            Some(last) if is_continuation_of_error_log(line.as_bytes()) => {
                last.push('\n');
                last.push_str(line);
            }
            _ => entries.push(line.to_string()),
        }
    }
    assert_eq!(entries.len(), 4);
    assert!(entries[0].ends_with("host: \"shop.example.com\""));
    let php = join(PHP_ERROR);
    // The same failure as PHP logs it itself, whichever of its messages comes first.
    assert_eq!(fingerprint(&entries[0], "log"), fp(&php[1]));
    assert_eq!(fingerprint(&entries[2], "log"), fp(&php[1]));
    assert_eq!(
        fingerprint(&entries[1], "log").title,
        "FastCGI sent in stderr: \"Primary script unknown\" while reading response header from \
         upstream"
    );
    assert!(fingerprint(&entries[3], "log")
        .title
        .starts_with("connect() to unix:/run/php/php8.{n}-fpm.sock failed ({n}: Resource"));
    assert!(!is_continuation_of_error_log(
        b"2026/05/14 10:21:33 [error] 29#29: *1 x"
    ));
    assert!(is_continuation_of_error_log(b"#0 {main}"));
    assert!(is_continuation_of_error_log(b""));
}

#[test]
fn single_records_of_common_shapes() {
    let ev = join_with(Joiner::with_year(2026), SINGLE);
    let mut want = vec![
        (1, 1, "log"),
        // uvicorn.
        (2, 9, "python.traceback"),
        (11, 1, "log"),
        // Django without a timestamp; the exception message's indented second line.
        (12, 9, "python.traceback"),
    ];
    want.extend(records(22, 27));
    // uWSGI's message, then Python's exception without a traceback.
    want.push((28, 2, "log"));
    want.extend(records(30, 33));
    // structlog's JSON with the traceback in `exception`.
    want.push((34, 1, "python.traceback"));
    want.extend(records(35, 37));
    assert_eq!(shapes(&ev), want);

    let at = |line: u64| ev.iter().find(|e| e.line == line).unwrap();
    assert_eq!(at(2).level, Some(Level::Error));
    assert_eq!(at(22).time, Some((T, None)));
    assert_eq!(at(24).time, Some((T, None)));
    assert_eq!(at(25).time, Some((T, None)));
    assert_eq!(at(30).time, Some((T, Some(0))));
    assert_eq!(at(30).level, Some(Level::Error));
    assert_eq!(at(33).time, Some((T + 1, Some(0))));
    assert_eq!(at(35).time, Some((T + 4, None)));
    assert_eq!(at(35).level, Some(Level::Error));
    assert_eq!(at(36).time, None);

    assert_eq!(fp(at(30)), fp(at(31)));
    assert_eq!(
        fp(at(30)).title,
        "request failed: dial tcp {ip}: connect: connection refused"
    );
    assert_eq!(fp(at(36)), fp(at(37)));
    assert!(fp(at(36))
        .title
        .starts_with("Out of memory: Killed process {n} (python3)"));
    assert_eq!(
        fp(at(33)).title,
        "query failed: pq: canceling statement due to statement timeout"
    );
    assert!(fp(at(34))
        .title
        .starts_with("httpx.HTTPStatusError: Server error '{n} Service"));
    assert_eq!(
        fp(at(24)).title,
        "GET /api/orders/{n} => generated {n} bytes in {n} msecs (HTTP/{n} {n}) {n} headers in \
         {n} bytes ({n} switches on core {n})"
    );
    assert_eq!(
        fp(at(12)).title,
        "django.db.utils.OperationalError: connection to server at \"{ip}\", port {n} failed: \
         Connection refused"
    );
}

#[test]
fn syslog_wrapped_traces_join_per_source() {
    let ev = join_with(Joiner::with_year(2026), SYSLOG);
    let mut want: Vec<_> = vec![(1, 1, "log"), (2, 7, "python.traceback")];
    want.extend(records(9, 12));
    // rsyslog writes the tab before `at` as `#011`.
    want.push((13, 3, "java.exception"));
    // Another process's line in between ends the trace: the joiner keeps one open event.
    want.extend(records(16, 17));
    assert_eq!(shapes(&ev), want);
    assert_eq!(ev[1].time, Some((T, None)));
    assert_eq!(ev[1].level, Some(Level::Error));
    assert_eq!(fp(&ev[1]).title, "LookupError: order {n} missing");
    // The kernel's OOM kill reads the same through syslog and from the ring buffer.
    let dmesg = join(SINGLE);
    let oom = dmesg.iter().find(|e| e.line == 36).unwrap();
    assert_eq!(fp(&ev[3]), fp(oom));
    assert_eq!(
        fp(&ev[6]).title,
        "java.lang.IllegalStateException: queue closed"
    );
    // Without a year, syslog times are unknown.
    assert_eq!(join(SYSLOG)[1].time, None);
}

/// Local seconds and offset, as [`AppEvent::time`] holds them.
type Stamp = (i64, Option<i32>);

fn time_of(line: &str) -> Option<Stamp> {
    let ev = join(line);
    assert_eq!(ev.len(), 1, "{line}");
    ev[0].time
}

#[test]
fn timestamps_on_the_first_line() {
    let cases: [(&str, Option<Stamp>); 14] = [
        ("2026-05-14T10:21:33.123Z boom", Some((T, Some(0)))),
        (
            "2026-05-14T12:21:33+02:00 boom",
            Some((T + 7200, Some(7200))),
        ),
        ("2026-05-14 10:21:33,123 ERROR boom", Some((T, None))),
        (
            "2026-05-14 10:21:33.123456-0700 boom",
            Some((T, Some(-25200))),
        ),
        (
            "[2026-05-14 10:21:33 +0000] [12] [ERROR] boom",
            Some((T, Some(0))),
        ),
        (
            "[2026-05-14 10:21:33,123] ERROR in app: boom",
            Some((T, None)),
        ),
        (
            "E, [2026-05-14T10:21:33.123456 #1234] ERROR -- : boom",
            Some((T, None)),
        ),
        (
            "[14-May-2026 10:21:33 UTC] PHP Notice:  boom",
            Some((T, Some(0))),
        ),
        ("[14-May-2026 10:21:33] NOTICE: boom", Some((T, None))),
        ("2026/05/14 10:21:33 boom", Some((T, None))),
        (
            r#"{"time":"2026-05-14T10:21:33.5+01:00","msg":"boom"}"#,
            Some((T, Some(3600))),
        ),
        (r#"{"ts":1778754093.25,"msg":"boom"}"#, Some((T, Some(0)))),
        ("ts=1778754093123 level=error msg=boom", Some((T, Some(0)))),
        ("10:21:33.123 [main] ERROR c.e.App - boom", None),
    ];
    for (line, want) in cases {
        assert_eq!(time_of(line), want, "{line}");
    }
    let ev = join_with(Joiner::with_year(2026), "May  4 10:21:33 web1 app[1]: boom");
    assert_eq!(ev[0].time, Some((T - 10 * 86_400, None)));
}

#[test]
fn levels_on_the_first_line() {
    let cases: [(&str, Option<Level>); 9] = [
        (
            "2026-05-14 10:21:33,123 - app - WARNING - x",
            Some(Level::Warn),
        ),
        (
            "2026-05-14T10:21:33.123Z\terror\tx.go:1\tx",
            Some(Level::Error),
        ),
        (
            "2026-05-14 10:21:33.123 ERROR 1 --- [main] c.e.A : x",
            Some(Level::Error),
        ),
        ("CRITICAL:root:x", Some(Level::Critical)),
        (r#"{"level":60,"msg":"x"}"#, Some(Level::Fatal)),
        (r#"{"severity":"WARNING","message":"x"}"#, Some(Level::Warn)),
        (
            "time=2026-05-14T10:21:33Z level=debug msg=x",
            Some(Level::Debug),
        ),
        ("W0514 10:21:33.123456       1 x.go:1] x", Some(Level::Warn)),
        ("2026-05-14 10:21:33 retrying after error", None),
    ];
    for (line, want) in cases {
        assert_eq!(join(line)[0].level, want, "{line}");
    }
}

#[test]
fn fingerprints_mask_what_varies_and_keep_what_differs() {
    let same = [
        (
            "2026-05-14 10:21:33 ERROR order 7f3c2a1b-9d8e-4f60-a1b2-c3d4e5f60718 failed for 10.0.0.7:4431",
            "2026-05-15 11:00:01 ERROR order 0b7e2f41-9c8d-4a55-b1e6-7f3a2c9d0e18 failed for 10.0.9.1:60001",
        ),
        (
            "2026-05-14 10:21:33 ERROR cache miss at 0xc000123abc in /tmp/tmpk2j4l_9x/x",
            "2026-05-14 10:21:34 ERROR cache miss at 0x7f00ab in /tmp/tmp81mmq0zz/x",
        ),
        (
            "Traceback (most recent call last):\n  File \"/srv/a.py\", line 3, in f\nKeyError: 'id'",
            "Traceback (most recent call last):\n  File \"/srv/a.py\", line 9, in f\nKeyError: 'id'",
        ),
    ];
    for (a, b) in same {
        let (ea, eb) = (&join(a)[0], &join(b)[0]);
        assert_eq!(fp(ea), fp(eb), "{a}\n{b}");
    }
    let different = [
        // Another exception type.
        (
            "Traceback (most recent call last):\n  File \"/srv/a.py\", line 3, in f\nKeyError: 'id'",
            "Traceback (most recent call last):\n  File \"/srv/a.py\", line 3, in f\nIndexError: 'id'",
        ),
        // Another top frame.
        (
            "Traceback (most recent call last):\n  File \"/srv/a.py\", line 3, in f\nKeyError: 'id'",
            "Traceback (most recent call last):\n  File \"/srv/a.py\", line 3, in g\nKeyError: 'id'",
        ),
        (
            "java.lang.IllegalStateException: x\n\tat a.B.c(B.java:1)",
            "java.lang.IllegalStateException: x\n\tat a.B.d(B.java:1)",
        ),
        (
            "2026-05-14 10:21:33 ERROR connection refused",
            "2026-05-14 10:21:33 ERROR connection reset",
        ),
        (
            "2026-05-14 10:21:33 ERROR connection refused",
            "2026-05-14 10:21:33 WARN connection refused",
        ),
    ];
    for (a, b) in different {
        let (ea, eb) = (&join(a)[0], &join(b)[0]);
        assert_ne!(fp(ea).hash, fp(eb).hash, "{a}\n{b}");
    }
    // Fixed algorithm: the value is part of the contract (stored fingerprints stay valid).
    assert_eq!(
        fingerprint("boom", "log").hash,
        fingerprint("boom", "log").hash
    );
    assert_eq!(fingerprint("boom", "log").hash, 0xa742_c307_95d0_f939);
}

#[test]
fn caps_hold_on_a_100k_line_trace() {
    let mut text =
        String::from("2026-05-14 10:21:33,123 ERROR boom\nTraceback (most recent call last):\n");
    for i in 0..100_000 {
        text.push_str(&format!(
            "  File \"/srv/deep.py\", line {i}, in recurse\n    recurse(n - 1)\n"
        ));
    }
    text.push_str("RecursionError: maximum recursion depth exceeded");
    let ev = join(&text);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].lines, 200_003);
    assert_eq!(ev[0].kind, "python.traceback");
    assert!(ev[0].text.len() < 24 * 1024, "{}", ev[0].text.len());
    assert!(ev[0].text.lines().count() <= 501);
    assert!(ev[0]
        .text
        .starts_with("2026-05-14 10:21:33,123 ERROR boom\nTraceback"));
    assert!(ev[0].text.contains("lines cut …]\n"));
    // The exception line at the end is kept, so the title survives the cut.
    assert!(ev[0]
        .text
        .ends_with("RecursionError: maximum recursion depth exceeded"));
    assert_eq!(
        fp(&ev[0]).title,
        "RecursionError: maximum recursion depth exceeded"
    );
}

#[test]
fn caps_hold_on_a_huge_line() {
    let mut line = b"2026-05-14 10:21:33 ERROR ".to_vec();
    line.extend(std::iter::repeat_n(b'x', 10 << 20));
    line.extend("é".as_bytes());
    let mut j = Joiner::new();
    assert!(j.push(1, &line).is_none());
    assert!(j.push(2, b"\tat a.B.c(B.java:1)").is_none());
    let ev = j.finish().unwrap();
    assert_eq!(ev.lines, 2);
    assert!(ev.text.len() <= 17 * 1024);
    assert!(ev.text.contains("x […]"));
}

#[test]
fn line_endings_and_byte_order_marks() {
    let ev = join("\u{feff}2026-05-14 10:21:33 ERROR boom\r\n\tat a.B.c(B.java:1)\r\n");
    assert_eq!(shapes(&ev), [(1, 2, "java.exception")]);
    assert_eq!(
        ev[0].text,
        "2026-05-14 10:21:33 ERROR boom\n\tat a.B.c(B.java:1)"
    );
    assert_eq!(ev[0].time, Some((T, None)));
}

/// Every file again, each line cut at every length: events change, nothing panics.
#[test]
fn every_prefix_of_every_line() {
    for text in ALL {
        let mut j = Joiner::with_year(2026);
        for (n, line) in text.lines().enumerate() {
            for cut in 0..=line.len() {
                let line = &line.as_bytes()[..cut];
                if let Some(e) = j.push(n as u64, line) {
                    fingerprint(&e.text, e.kind);
                }
                fingerprint(&String::from_utf8_lossy(line), "log");
            }
        }
        j.finish();
    }
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Random bytes, and the sample lines with random bytes put in: no panic, caps respected.
#[test]
fn arbitrary_bytes() {
    const PROBES: [u8; 16] = [
        0, b'"', b' ', b'\t', b'[', b']', b':', b'\\', b'9', b'x', b'{', b'#', b'(', 0x80, 0xe9,
        0xff,
    ];
    const KINDS: [&str; 9] = [
        "log",
        "python.traceback",
        "java.exception",
        "go.panic",
        "go.goroutines",
        "node.error",
        "ruby.exception",
        "php.fatal",
        "other",
    ];
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let lines: Vec<&str> = ALL.iter().flat_map(|t| t.lines()).collect();
    let mut j = Joiner::with_year(2026);
    let check = |e: AppEvent| {
        assert!(e.text.len() < 24 * 1024);
        for kind in KINDS {
            fingerprint(&e.text, kind);
        }
    };
    for n in 0..20_000u64 {
        let mut line = lines[rng.next() as usize % lines.len()].as_bytes().to_vec();
        for _ in 0..rng.next() % 4 {
            if line.is_empty() {
                break;
            }
            let at = rng.next() as usize % line.len();
            line[at] = PROBES[rng.next() as usize % PROBES.len()];
        }
        if n % 5 == 0 {
            let len = rng.next() as usize % 200;
            line = (0..len).map(|_| rng.next() as u8).collect();
        }
        if let Some(e) = j.push(n, &line) {
            check(e);
        }
    }
    if let Some(e) = j.finish() {
        check(e);
    }
}
