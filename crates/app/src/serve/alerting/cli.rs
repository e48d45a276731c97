//! `faultline silence`, `faultline alerts` and `faultline notify test`: clients of a running
//! `serve`'s API (silences and history), and a direct send through one receiver.

use std::io::Read;
use std::time::Duration;

use faultline_alert::alert::{Alert, Details, EvidenceLine, State};
use faultline_alert::dispatch::Notification;
use faultline_alert::notify::{self, Context};
use faultline_alert::Labels;
use serde_json::{json, Value};

use super::delivery::wall_ms;
use crate::analyze::{Fatal, EXIT_UNUSABLE};
use crate::cli::{AlertsArgs, Daemon, NotifyCommand, SilenceCommand};
use crate::serve::config::{self, ServePlan};

fn fatal(message: String) -> Fatal {
    Fatal {
        message,
        status: EXIT_UNUSABLE,
    }
}

fn plan(path: &std::path::Path) -> Result<ServePlan, Fatal> {
    config::load(path).map_err(|e| fatal(format!("invalid config:\n  {}", e.join("\n  "))))
}

fn base_url(d: &Daemon, plan: &ServePlan) -> String {
    d.url
        .clone()
        .unwrap_or_else(|| format!("http://{}", plan.listen))
        .trim_end_matches('/')
        .to_string()
}

/// The admin token: `FAULTLINE_ADMIN_TOKEN`, else the one the config names.
fn token(plan: &ServePlan) -> Option<String> {
    std::env::var("FAULTLINE_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .or_else(|| plan.alerting.admin_token.clone())
}

/// One API call; a non-2xx answer becomes the API's error message.
fn call(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Result<Value, Fatal> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into();
    let auth = token.map(|t| format!("Bearer {t}"));
    let result = match (method, body) {
        ("POST", Some(b)) => {
            let mut r = agent.post(url).header("content-type", "application/json");
            if let Some(a) = &auth {
                r = r.header("authorization", a);
            }
            r.send(b.to_string().as_bytes())
        }
        ("DELETE", _) => {
            let mut r = agent.delete(url);
            if let Some(a) = &auth {
                r = r.header("authorization", a);
            }
            r.call()
        }
        _ => agent.get(url).call(),
    };
    let mut resp =
        result.map_err(|e| fatal(format!("{url}: {e} (is `faultline serve` running?)")))?;
    let status = resp.status().as_u16();
    let mut text = String::new();
    resp.body_mut()
        .as_reader()
        .take(16 << 20)
        .read_to_string(&mut text)
        .map_err(|e| fatal(format!("{url}: {e}")))?;
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if !(200..300).contains(&status) {
        let msg = v["error"]["message"]
            .as_str()
            .unwrap_or(text.as_str())
            .to_string();
        return Err(fatal(format!("{url}: {status}: {msg}")));
    }
    Ok(v)
}

/// Text from the API (log-derived, attacker-controlled) made safe for a terminal.
fn sanitize(s: &str) -> String {
    crate::report::clean_text(s.as_bytes())
}

fn when(ms: Option<i64>) -> String {
    ms.and_then(|m| jiff::Timestamp::from_millisecond(m).ok())
        .map_or("-".into(), |t| t.strftime("%Y-%m-%d %H:%M:%SZ").to_string())
}

/// `faultline silence add|list|expire`.
pub fn silence(cmd: &SilenceCommand) -> Result<u8, Fatal> {
    match cmd {
        SilenceCommand::Add(a) => {
            let plan = plan(&a.daemon.config)?;
            let mut body = json!({
                "matchers": a.matchers,
                "comment": a.comment,
                "created_by": a.author.clone().or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "unknown".into()),
            });
            for (k, v) in [
                ("duration", &a.duration),
                ("ends_at", &a.until),
                ("starts_at", &a.start),
            ] {
                if let Some(v) = v {
                    body[k] = v.clone().into();
                }
            }
            let url = format!("{}/api/v1/silences", base_url(&a.daemon, &plan));
            let made = call("POST", &url, token(&plan).as_deref(), Some(&body))?;
            println!("{}", made["id"].as_str().unwrap_or_default());
            Ok(0)
        }
        SilenceCommand::List(a) => {
            let plan = plan(&a.daemon.config)?;
            let url = format!("{}/api/v1/silences", base_url(&a.daemon, &plan));
            let v = call("GET", &url, None, None)?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&v).expect("serialises"));
                return Ok(0);
            }
            let shown: Vec<Value> = v["silences"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|s| a.all || s["state"] != "expired")
                .cloned()
                .collect();
            print_silences(&shown);
            Ok(0)
        }
        SilenceCommand::Expire(a) => {
            let plan = plan(&a.daemon.config)?;
            let url = format!("{}/api/v1/silences/{}", base_url(&a.daemon, &plan), a.id);
            call("DELETE", &url, token(&plan).as_deref(), None)?;
            println!("expired {}", a.id);
            Ok(0)
        }
    }
}

/// The silences that could have muted something since `from_ms`: active, pending, or
/// ended within the range.
fn silences_since(all: &Value, from_ms: i64) -> Vec<Value> {
    all["silences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["ends_at"].as_i64().is_some_and(|end| end >= from_ms))
        .cloned()
        .collect()
}

fn print_silences(silences: &[Value]) {
    println!(
        "{:<20} {:<8} {:<21} {:<21} {:<12} MATCHERS / COMMENT",
        "ID", "STATE", "STARTS", "ENDS", "BY"
    );
    for s in silences {
        let matchers: Vec<&str> = s["matchers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        println!(
            "{:<20} {:<8} {:<21} {:<21} {:<12} {} / {}",
            sanitize(s["id"].as_str().unwrap_or_default()),
            sanitize(s["state"].as_str().unwrap_or_default()),
            when(s["starts_at"].as_i64()),
            when(s["ends_at"].as_i64()),
            sanitize(s["created_by"].as_str().unwrap_or_default()),
            sanitize(&matchers.join(", ")),
            sanitize(s["comment"].as_str().unwrap_or_default()),
        );
    }
}

/// `faultline alerts`: active alerts, the history, the notifications and the silences of
/// the range: what paged whom and why, and what was muted.
pub fn alerts(a: &AlertsArgs) -> Result<u8, Fatal> {
    let plan = plan(&a.daemon.config)?;
    let since = humantime::parse_duration(&a.since)
        .map_err(|e| fatal(format!("--since {:?}: {e}", a.since)))?;
    let from = (wall_ms() - since.as_millis() as i64) / 1000;
    let base = base_url(&a.daemon, &plan);
    let alerts = call(
        "GET",
        &format!("{base}/api/v1/alerts?since={from}&limit=1000"),
        None,
        None,
    )?;
    let notes = call(
        "GET",
        &format!("{base}/api/v1/notifications?since={from}&limit=1000"),
        None,
        None,
    )?;
    let all = call("GET", &format!("{base}/api/v1/silences"), None, None)?;
    let silences = silences_since(&all, from * 1000);
    if a.json {
        let v = json!({
            "active": alerts["active"],
            "alerts": alerts["alerts"],
            "notifications": notes["notifications"],
            "silences": silences,
        });
        println!("{}", serde_json::to_string_pretty(&v).expect("serialises"));
        return Ok(0);
    }
    let clean = |v: &Value| sanitize(v.as_str().unwrap_or_default());
    println!("ALERTS since {}", when(Some(from * 1000)));
    println!(
        "{:<21} {:<9} {:<20} {:<18} SUMMARY",
        "SINCE", "STATE", "ALERT", "CAUSE"
    );
    for al in alerts["alerts"].as_array().into_iter().flatten() {
        let muted = match &al["muted"] {
            Value::Null => String::new(),
            m => format!(" [muted by {} {}]", clean(&m["by"]), clean(&m["what"])),
        };
        println!(
            "{:<21} {:<9} {:<20} {:<18} {}{muted}",
            when(al["active_since"].as_i64()),
            clean(&al["state"]),
            clean(&al["labels"]["alertname"]),
            clean(&al["labels"]["cause"]),
            clean(&al["details"]["summary"]),
        );
    }
    println!("\nNOTIFICATIONS");
    println!(
        "{:<21} {:<22} {:<14} {:<10} {:<8} LAST ERROR",
        "MADE", "ID", "RECEIVER", "DELIVERY", "TRIES"
    );
    for n in notes["notifications"].as_array().into_iter().flatten() {
        println!(
            "{:<21} {:<22} {:<14} {:<10} {:<8} {}",
            when(n["notification"]["created_at"].as_i64()),
            clean(&n["notification"]["id"]),
            clean(&n["notification"]["receiver"]),
            clean(&n["delivery"]),
            n["attempts"].as_u64().unwrap_or(0),
            clean(&n["last_error"]),
        );
    }
    println!("\nSILENCES");
    print_silences(&silences);
    Ok(0)
}

/// A sample notification, recognisable as a test by its labels.
fn sample(receiver: &str, now: i64) -> Notification {
    let mut labels = Labels::new();
    for (k, v) in [
        ("alertname", "faultline-test"),
        ("severity", "info"),
        ("cause", "upstream_down"),
        ("host", "shop.example"),
    ] {
        labels.insert(k.into(), v.into());
    }
    let mut alert = Alert::new(
        "faultline-test",
        labels.clone(),
        Details {
            summary: "a test notification from `faultline notify test`".into(),
            cause: Some("upstream_down".into()),
            category: Some("application".into()),
            confidence: Some(0.9),
            reasons: vec!["this is a sample: nothing is wrong".into()],
            evidence: vec![EvidenceLine {
                source: "error.log".into(),
                line: 1,
                text: "connect() failed (111: Connection refused) while connecting to upstream"
                    .into(),
                signature: Some("nginx.upstream.connect_refused".into()),
            }],
            remediation: vec!["nothing to do: this was a test".into()],
            incident: None,
            value: None,
        },
        now,
    );
    alert.state = State::Firing;
    alert.fired_at = Some(now);
    Notification {
        id: format!("ntf-test-{now}"),
        receiver: receiver.into(),
        group_key: "test:{}".into(),
        group_labels: labels,
        status: State::Firing,
        alerts: vec![alert],
        created_at: now,
    }
}

/// `faultline notify test RECEIVER`.
pub fn notify(cmd: &NotifyCommand) -> Result<u8, Fatal> {
    let NotifyCommand::Test(a) = cmd;
    let plan = plan(&a.config)?;
    let Some(r) = plan
        .alerting
        .receivers
        .iter()
        .find(|r| r.name == a.receiver)
    else {
        let names: Vec<&str> = plan
            .alerting
            .receivers
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        return Err(fatal(format!(
            "no receiver {:?} in {} (receivers: {})",
            a.receiver,
            a.config.display(),
            names.join(", ")
        )));
    };
    let n = notify::build(r).map_err(fatal)?;
    let now = wall_ms();
    let ctx = Context {
        now,
        external_url: plan.alerting.external_url.clone(),
    };
    match n.send(&sample(&r.name, now), &ctx) {
        Ok(()) => {
            println!("sent a test notification to {}", r.name);
            Ok(0)
        }
        Err(e) => {
            eprintln!(
                "faultline: {}: {e}{}",
                r.name,
                if e.retryable {
                    " (temporary: would be retried)"
                } else {
                    ""
                }
            );
            Ok(1)
        }
    }
}
