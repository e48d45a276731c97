//! The built-in catalog: every sample is a test of its own entry, and overrides behave.

use faultline_diagnose::{Catalog, RawSignature};

#[test]
fn every_sample_matches_its_signature_and_yields_its_cause() {
    let cat = Catalog::builtin();
    assert!(cat.len() >= 190, "catalog has {} entries", cat.len());
    let mut wrong = Vec::new();
    for (i, sig) in cat.signatures().iter().enumerate() {
        assert!(!sig.samples.is_empty(), "{} has no sample", sig.id);
        for sample in &sig.samples {
            assert!(
                cat.regex(i).is_match(sample.as_bytes()),
                "{}: sample does not match its pattern",
                sig.id
            );
            let best = if sig.is_access_log() {
                cat.best_match(sample.as_bytes())
            } else {
                cat.best_line_match(sample.as_bytes())
            };
            match best {
                Some(b) if cat.get(b).cause == sig.cause => {}
                Some(b) => wrong.push(format!(
                    "{} ({}) -> {} ({})",
                    sig.id,
                    sig.cause.id(),
                    cat.get(b).id,
                    cat.get(b).cause.id()
                )),
                None => wrong.push(format!("{}: nothing matched", sig.id)),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "samples yielding another cause:\n{}",
        wrong.join("\n")
    );
}

fn user(id: &str, pattern: &str, cause: &str) -> RawSignature {
    RawSignature {
        id: id.into(),
        pattern: Some(pattern.into()),
        cause: Some(cause.into()),
        ..RawSignature::default()
    }
}

#[test]
fn a_user_entry_is_added_and_matches_lines() {
    let cat = Catalog::with_overrides(vec![RawSignature {
        sample: Some("ERROR payment gateway said: card processor unavailable".into()),
        priority: Some(30),
        ..user(
            "acme.card_processor_down",
            r"card processor unavailable",
            "dependency_failure",
        )
    }])
    .unwrap();
    let i = cat
        .best_line_match(b"2026-11-24 10:00:00 ERROR card processor unavailable (retry 3)")
        .unwrap();
    assert_eq!(cat.get(i).id, "acme.card_processor_down");
    assert_eq!(cat.get(i).cause.id(), "dependency_failure");
}

#[test]
fn an_override_replaces_only_the_fields_it_sets() {
    let line = b"2026/05/14 10:21:33 [error] 2712#2712: *50913 connect() failed (111: Connection refused) while connecting to upstream, client: 203.0.113.7, server: a, request: \"GET / HTTP/1.1\", upstream: \"http://10.0.3.21:8080/\", host: \"a\"";
    let builtin = Catalog::builtin();
    let id = &builtin
        .get(builtin.best_line_match(line).unwrap())
        .id
        .clone();
    let cat = Catalog::with_overrides(vec![RawSignature {
        id: id.clone(),
        cause: Some("upstream_unreachable".into()),
        ..RawSignature::default()
    }])
    .unwrap();
    let i = cat.best_line_match(line).unwrap();
    assert_eq!(&cat.get(i).id, id);
    assert_eq!(cat.get(i).cause.id(), "upstream_unreachable");
    assert_eq!(cat.get(i).pattern, builtin.get(i).pattern);
    assert_eq!(cat.len(), builtin.len());
}

#[test]
fn bad_user_entries_are_named_all_at_once() {
    let errs = Catalog::with_overrides(vec![
        user("acme.bad_regex", r"unclosed (group", "app_error"),
        user("acme.bad_cause", r"boom", "kaboom"),
        RawSignature {
            sample: Some("something else".into()),
            ..user("acme.bad_sample", r"boom", "app_error")
        },
        RawSignature {
            id: "acme.no_pattern".into(),
            cause: Some("app_error".into()),
            ..RawSignature::default()
        },
    ])
    .unwrap_err();
    let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 4, "{text:#?}");
    assert!(text[0].starts_with("signature `acme.bad_regex`: `pattern` is not a valid regex"));
    assert!(text[1].contains("`acme.bad_cause`") && text[1].contains("not a cause id"));
    assert!(text[2].contains("`acme.bad_sample`: `sample` does not match"));
    assert!(text[3].contains("`acme.no_pattern`: `pattern` is missing"));
}

#[test]
fn higher_priority_wins_between_overlapping_matches() {
    let line = b"2026/05/14 10:21:33 [error] 1#1: *5 SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number) while SSL handshaking to upstream, client: 1.2.3.4, server: a, request: \"GET / HTTP/1.1\", upstream: \"https://10.0.0.1:443/\", host: \"a\"";
    let cat = Catalog::builtin();
    let matches: Vec<usize> = (0..cat.len())
        .filter(|&i| !cat.get(i).is_access_log() && cat.regex(i).is_match(line))
        .collect();
    assert!(
        matches.len() >= 2,
        "the example should overlap: {matches:?}"
    );
    let best = cat.best_line_match(line).unwrap();
    let top = matches.iter().map(|&i| cat.get(i).priority).max().unwrap();
    assert_eq!(cat.get(best).priority, top);
}
