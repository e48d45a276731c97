//! `[[receiver]]` tables: each validated into a notifier's plan, with its secrets (signing
//! keys, passwords, and URLs or header values given as `{ env = … }` or `{ file = … }`)
//! read here and never printed.

use std::collections::BTreeMap;
use std::path::Path;

use faultline_alert::notify::{self, Receiver, ReceiverKind};
use serde::Deserialize;
use toml::Spanned;

use super::{dur, list, secret, value, RawSecret, RawValue, Report, DEFAULT_TIMEOUT_MS};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReceiver {
    pub name: Spanned<String>,
    #[serde(rename = "type")]
    pub type_: Spanned<String>,
    pub send_resolved: Option<bool>,
    pub timeout: Option<Spanned<String>>,
    // webhook
    pub url: Option<Spanned<RawValue>>,
    pub secret: Option<Spanned<RawSecret>>,
    #[serde(default)]
    pub headers: BTreeMap<String, Spanned<RawValue>>,
    // email
    pub smarthost: Option<Spanned<String>>,
    pub from: Option<Spanned<String>>,
    pub to: Option<Spanned<Vec<String>>>,
    pub starttls: Option<Spanned<String>>,
    pub username: Option<String>,
    pub password: Option<Spanned<RawSecret>>,
    pub ca_file: Option<String>,
    pub hello: Option<String>,
    // alertmanager
    pub urls: Option<Spanned<Vec<String>>>,
    pub resend: Option<Spanned<String>>,
    // exec
    pub command: Option<Spanned<Vec<String>>>,
}

fn need<R: Report>(
    errs: &mut R,
    v: &Option<Spanned<String>>,
    at: &Spanned<String>,
    key: String,
) -> String {
    match v {
        Some(v) if !v.get_ref().trim().is_empty() => v.get_ref().clone(),
        _ => {
            errs.at_span(at.span(), &key, "required for this receiver type".into());
            String::new()
        }
    }
}

/// A required list: its values, or an error saying what it should hold.
fn need_list<R: Report>(
    errs: &mut R,
    v: &Option<Spanned<Vec<String>>>,
    at: &Spanned<String>,
    key: String,
    what: &str,
) -> Vec<String> {
    if list(v).is_empty() {
        errs.at_span(at.span(), &key, what.into());
    }
    list(v).to_vec()
}

/// A required value that may come from the environment or a file.
fn need_value<R: Report>(
    errs: &mut R,
    v: &Option<Spanned<RawValue>>,
    at: &Spanned<String>,
    key: String,
    base: &Path,
) -> String {
    let Some(v) = v else {
        errs.at_span(at.span(), &key, "required for this receiver type".into());
        return String::new();
    };
    match value(v.get_ref(), base) {
        Ok(text) if !text.trim().is_empty() => text,
        Ok(_) => {
            errs.at_span(v.span(), &key, "empty".into());
            String::new()
        }
        Err(e) => {
            errs.at_span(v.span(), &key, e);
            String::new()
        }
    }
}

/// Header names and values; a value may come from the environment or a file.
fn headers<R: Report>(
    errs: &mut R,
    r: &RawReceiver,
    i: usize,
    base: &Path,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, v) in &r.headers {
        match value(v.get_ref(), base) {
            Ok(text) => out.push((name.clone(), text)),
            Err(e) => errs.at_span(v.span(), &format!("receiver[{i}].headers.{name}"), e),
        }
    }
    out
}

fn secret_at<R: Report>(
    errs: &mut R,
    v: &Option<Spanned<RawSecret>>,
    key: String,
    base: &Path,
) -> Option<String> {
    let v = v.as_ref()?;
    secret(v.get_ref(), base)
        .map_err(|e| errs.at_span(v.span(), &key, e))
        .ok()
}

pub(super) fn receiver<R: Report>(
    errs: &mut R,
    r: &RawReceiver,
    i: usize,
    base: &Path,
) -> Option<Receiver> {
    let key = |k: &str| format!("receiver[{i}].{k}");
    let timeout_ms = dur(errs, &r.timeout, &key("timeout"), DEFAULT_TIMEOUT_MS);
    let kind = match r.type_.get_ref().as_str() {
        "webhook" => ReceiverKind::Webhook(notify::webhook::Config {
            url: need_value(errs, &r.url, &r.type_, key("url"), base),
            secret: secret_at(errs, &r.secret, key("secret"), base),
            timeout_ms,
            headers: headers(errs, r, i, base),
        }),
        "email" => {
            let starttls = match r.starttls.as_ref().map(|s| (s, s.get_ref().as_str())) {
                None | Some((_, "required")) => notify::email::StartTls::Required,
                Some((_, "opportunistic")) => notify::email::StartTls::Opportunistic,
                Some((_, "off")) => notify::email::StartTls::Off,
                Some((s, other)) => {
                    errs.at_span(
                        s.span(),
                        &key("starttls"),
                        format!("{other:?}: required, opportunistic or off"),
                    );
                    notify::email::StartTls::Required
                }
            };
            if starttls == notify::email::StartTls::Off && r.password.is_some() {
                let at = r.starttls.as_ref().map_or(r.type_.span(), |s| s.span());
                errs.at_span(
                    at,
                    &key("starttls"),
                    "\"off\" would send the password in the clear: use required (or opportunistic)"
                        .into(),
                );
            }
            ReceiverKind::Email(notify::email::Config {
                smarthost: need(errs, &r.smarthost, &r.type_, key("smarthost")),
                from: need(errs, &r.from, &r.type_, key("from")),
                to: need_list(errs, &r.to, &r.type_, key("to"), "at least one address"),
                starttls,
                username: r.username.clone(),
                password: secret_at(errs, &r.password, key("password"), base),
                ca_file: r.ca_file.as_ref().map(|f| base.join(f)),
                hello: r.hello.clone(),
                timeout_ms,
            })
        }
        "alertmanager" => ReceiverKind::Alertmanager(notify::alertmanager::Config {
            urls: need_list(
                errs,
                &r.urls,
                &r.type_,
                key("urls"),
                "at least one Alertmanager URL",
            ),
            resend_ms: dur(errs, &r.resend, &key("resend"), 60_000),
            timeout_ms,
        }),
        "exec" => ReceiverKind::Exec(notify::exec::Config {
            command: need_list(
                errs,
                &r.command,
                &r.type_,
                key("command"),
                "a program and its arguments",
            ),
            timeout_ms,
        }),
        other => {
            errs.at_span(
                r.type_.span(),
                &key("type"),
                format!("{other:?}: webhook, email, alertmanager or exec"),
            );
            return None;
        }
    };
    let rec = Receiver {
        name: r.name.get_ref().clone(),
        send_resolved: r.send_resolved.unwrap_or(true),
        kind,
    };
    if let Err(e) = notify::build(&rec) {
        errs.at_span(r.name.span(), &format!("receiver[{i}]"), e);
    }
    Some(rec)
}
