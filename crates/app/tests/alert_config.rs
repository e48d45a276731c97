//! The alerting tables of the config file as `serve` reads them: defaults an operator can
//! rely on, secrets from files, and every error with its line and key.

use std::path::Path;

use faultline::serve::config::load;
use faultline_alert::notify::ReceiverKind;
use faultline_alert::route::GroupBy;
use faultline_alert::rule::RuleKind;

fn write(dir: &Path, alerting: &str) -> std::path::PathBuf {
    let cfg = dir.join("faultline.toml");
    std::fs::write(
        &cfg,
        format!(
            "[serve]\nlisten = \"127.0.0.1:9999\"\n\n[[source]]\npaths = [\"/var/log/nginx/access.log\"]\n\n{alerting}"
        ),
    )
    .unwrap();
    cfg
}

#[test]
fn without_alerting_tables_every_incident_pages_and_nobody_is_told() {
    let dir = tempfile::tempdir().unwrap();
    let plan = load(&write(dir.path(), "")).unwrap().alerting;
    assert_eq!(plan.rules.len(), 1);
    assert!(matches!(plan.rules[0].kind, RuleKind::Incident { .. }));
    assert_eq!(plan.rules[0].severity, "page");
    assert!(plan.route.is_none());
    assert_eq!(plan.external_url, "http://127.0.0.1:9999");
    assert!(plan.admin_token.is_none());
}

#[test]
fn one_receiver_takes_everything_with_alertmanagers_defaults() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), "whsec_dGVzdGluZy1zZWNyZXQ=\n").unwrap();
    std::fs::write(dir.path().join("token"), "t0ken\n").unwrap();
    let plan = load(&write(
        dir.path(),
        "[alerting]\nadmin_token = { file = \"token\" }\n\n\
         [[receiver]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:1/x\"\nsecret = { file = \"secret\" }\n",
    ))
    .unwrap()
    .alerting;
    let route = plan.route.unwrap();
    assert_eq!(route.receiver, "hook");
    assert_eq!(route.group_wait, 30_000);
    assert_eq!(route.group_interval, 300_000);
    assert_eq!(route.repeat_interval, 4 * 3_600_000);
    assert_eq!(route.group_by, GroupBy::Labels(vec!["alertname".into()]));
    assert_eq!(
        plan.admin_token.as_deref(),
        Some("t0ken"),
        "the newline is not part of it"
    );
    let ReceiverKind::Webhook(w) = &plan.receivers[0].kind else {
        panic!("a webhook")
    };
    assert_eq!(w.secret.as_deref(), Some("whsec_dGVzdGluZy1zZWNyZXQ="));
    assert!(
        !format!("{:?}", plan.receivers[0]).contains("dGVzdGluZy1zZWNyZXQ"),
        "secrets are not printed"
    );
}

#[test]
fn every_alerting_error_names_its_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "[[rule]]\nname = \"r\"\non = \"ratio\"\nby = \"path\"\nwindow = \"soon\"\n\n\
         [[receiver]]\nname = \"a\"\ntype = \"email\"\nsmarthost = \"smtp:25\"\nfrom = \"f@x\"\n\
         starttls = \"off\"\npassword = { env = \"SURELY_NOT_SET_FL\" }\n\n\
         [[receiver]]\nname = \"b\"\ntype = \"pager\"\n\n\
         [[maintenance]]\nname = \"w\"\nstart = \"25:00\"\nduration = \"1h\"\n",
    );
    let errors = load(&cfg).unwrap_err().join("\n");
    for want in [
        ":10: rule[0].by",
        ":11: rule[0].window",
        ":9: rule[0].threshold",
        ":15: receiver[0].to",
        ":18: receiver[0].starttls",
        ":19: receiver[0].password: environment variable SURELY_NOT_SET_FL is not set",
        ":23: receiver[1].type",
        ":27: maintenance[0].start",
    ] {
        assert!(errors.contains(want), "{want:?} not in:\n{errors}");
    }
}

#[test]
fn a_ratio_rule_may_count_only_some_5xx_codes() {
    let dir = tempfile::tempdir().unwrap();
    let plan = load(&write(
        dir.path(),
        "[[rule]]\nname = \"upstream-502-ratio\"\non = \"ratio\"\nby = \"upstream\"\n\
         threshold = 0.05\ncodes = [504, 502, 502]\n",
    ))
    .unwrap()
    .alerting;
    let RuleKind::Ratio { codes, .. } = &plan.rules[0].kind else {
        panic!("a ratio rule")
    };
    assert_eq!(codes, &[502, 504]);
    let errors = load(&write(
        dir.path(),
        "[[rule]]\nname = \"r\"\non = \"ratio\"\nthreshold = 0.1\ncodes = [502, 404]\n\n\
         [[rule]]\nname = \"i\"\non = \"incident\"\ncodes = [502]\n\n\
         [[rule]]\nname = \"e\"\non = \"ratio\"\nthreshold = 0.1\ncodes = []\n",
    ))
    .unwrap_err()
    .join("\n");
    for want in [
        ":11: rule[0].codes: 404 is not a 5xx status",
        ":16: rule[1].codes: only ratio rules take codes",
        ":22: rule[2].codes: an empty list",
    ] {
        assert!(errors.contains(want), "{want:?} not in:\n{errors}");
    }
}

#[test]
fn a_webhook_url_and_header_values_may_come_from_a_file_or_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hook-url"),
        "https://hooks.example/services/T0/B0/XyZs3cret\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("token"), "t0ken-s3cret\n").unwrap();
    // A variable only this test sets, so parallel tests cannot see it change.
    std::env::set_var("FAULTLINE_TEST_HOOK_AUTH", "Bearer hdr-s3cret");
    let plan = load(&write(
        dir.path(),
        "[alerting]\nadmin_token = { file = \"token\" }\n\n\
         [[receiver]]\nname = \"hook\"\ntype = \"webhook\"\nurl = { file = \"hook-url\" }\n\
         headers = { Authorization = { env = \"FAULTLINE_TEST_HOOK_AUTH\" }, X-Team = \"shop\" }\n",
    ))
    .unwrap();
    let ReceiverKind::Webhook(w) = &plan.alerting.receivers[0].kind else {
        panic!("a webhook")
    };
    assert_eq!(w.url, "https://hooks.example/services/T0/B0/XyZs3cret");
    let mut headers = w.headers.clone();
    headers.sort();
    assert_eq!(
        headers,
        [
            ("Authorization".to_string(), "Bearer hdr-s3cret".to_string()),
            ("X-Team".to_string(), "shop".to_string())
        ]
    );
    let shown = format!("{plan:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
    let errors = load(&write(
        dir.path(),
        "[[receiver]]\nname = \"hook\"\ntype = \"webhook\"\nurl = { env = \"FAULTLINE_TEST_SURELY_UNSET\" }\n\
         headers = { Authorization = { file = \"missing-token\" } }\n",
    ))
    .unwrap_err()
    .join("\n");
    for want in [
        ":10: receiver[0].url: environment variable FAULTLINE_TEST_SURELY_UNSET is not set",
        ":11: receiver[0].headers.Authorization: ",
    ] {
        assert!(errors.contains(want), "{want:?} not in:\n{errors}");
    }
}
