//! Email: one message per notification over SMTP, as `multipart/alternative` with a plain
//! text part and an HTML part that say the same: per alert its summary, cause, reasons, top
//! evidence lines, remediation and the incident link.
//!
//! Evidence is log text, and anyone who can make a server log a line can choose it: the HTML
//! part escapes everything that did not come from the configuration, and both parts drop
//! control characters. The `Message-ID` is made from the notification id, so a receiver (or
//! a person) can spot the duplicate a retry may cause.

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Message, SmtpTransport, Transport};

use super::{clean, evidence_lines, rfc3339, Context, Notifier, SendError};
use crate::alert::{Alert, State};
use crate::dispatch::Notification;
use crate::Ms;

/// Whether to upgrade the connection with STARTTLS. On port 465 TLS starts with the first
/// byte instead (implicit TLS), unless this is `Off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartTls {
    /// Refuse to send without TLS.
    Required,
    /// Use it when the server offers it.
    Opportunistic,
    /// Plain text, for a relay on the same host.
    Off,
}

/// An email receiver's plan.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// `host:port`.
    pub smarthost: String,
    pub from: String,
    pub to: Vec<String>,
    pub starttls: StartTls,
    pub username: Option<String>,
    pub password: Option<String>,
    /// An extra root CA (PEM), for servers with a private or self-signed certificate.
    pub ca_file: Option<PathBuf>,
    /// The name to greet with (`EHLO`), if not this host's name.
    pub hello: Option<String>,
    pub timeout_ms: Ms,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("smarthost", &self.smarthost)
            .field("from", &self.from)
            .field("to", &self.to)
            .field("starttls", &self.starttls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("ca_file", &self.ca_file)
            .field("hello", &self.hello)
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

/// The email notifier.
pub struct Email {
    smarthost: String,
    from: Mailbox,
    to: Vec<Mailbox>,
    transport: SmtpTransport,
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let to: Vec<String> = self.to.iter().map(ToString::to_string).collect();
        f.debug_struct("Email")
            .field("smarthost", &self.smarthost)
            .field("from", &self.from.to_string())
            .field("to", &to)
            .finish()
    }
}

impl Email {
    pub fn new(c: &Config) -> Result<Email, String> {
        let (host, port) = host_port(&c.smarthost)?;
        let mailbox = |s: &str| {
            s.parse::<Mailbox>()
                .map_err(|e| format!("invalid address {s:?}: {e}"))
        };
        let from = mailbox(&c.from)?;
        let to =
            c.to.iter()
                .map(|s| mailbox(s))
                .collect::<Result<Vec<_>, _>>()?;
        if to.is_empty() {
            return Err("no recipient".to_string());
        }
        let mut b = SmtpTransport::builder_dangerous(host.clone())
            .port(port)
            .tls(tls(c, &host, port)?)
            .timeout(Some(Duration::from_millis(c.timeout_ms.max(1) as u64)));
        match (&c.username, &c.password) {
            (Some(u), Some(p)) => b = b.credentials(Credentials::new(u.clone(), p.clone())),
            (None, None) => {}
            _ => return Err("a username needs a password and a password a username".into()),
        }
        if let Some(name) = &c.hello {
            b = b.hello_name(ClientId::Domain(name.clone()));
        }
        Ok(Email {
            smarthost: c.smarthost.clone(),
            from,
            to,
            transport: b.build(),
        })
    }

    /// The message for a notification, as it will be sent.
    pub fn message(&self, n: &Notification, ctx: &Context) -> Result<Message, SendError> {
        let mut b = Message::builder()
            .from(self.from.clone())
            .subject(subject(n))
            .message_id(Some(format!("<{}@{}>", n.id, self.from.email.domain())))
            .date(SystemTime::UNIX_EPOCH + Duration::from_millis(ctx.now.max(0) as u64));
        for to in &self.to {
            b = b.to(to.clone());
        }
        b.multipart(MultiPart::alternative_plain_html(
            text(n, ctx),
            html(n, ctx),
        ))
        .map_err(|e| SendError::fatal(format!("building the message: {e}")))
    }
}

fn host_port(smarthost: &str) -> Result<(String, u16), String> {
    let bad = || format!("smarthost {smarthost:?} is not host:port");
    let (host, port) = smarthost.rsplit_once(':').ok_or_else(bad)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = port.parse::<u16>().map_err(|_| bad())?;
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

fn tls(c: &Config, host: &str, port: u16) -> Result<Tls, String> {
    if c.starttls == StartTls::Off {
        return Ok(Tls::None);
    }
    let mut b = TlsParameters::builder(host.to_string());
    if let Some(path) = &c.ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        let cert = Certificate::from_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))?;
        b = b.add_root_certificate(cert);
    }
    let params = b.build_rustls().map_err(|e| format!("TLS setup: {e}"))?;
    Ok(match (port, c.starttls) {
        (465, _) => Tls::Wrapper(params),
        (_, StartTls::Required) => Tls::Required(params),
        _ => Tls::Opportunistic(params),
    })
}

impl Notifier for Email {
    fn send(&self, n: &Notification, ctx: &Context) -> Result<(), SendError> {
        let message = self.message(n, ctx)?;
        self.transport.send(&message).map(|_| ()).map_err(|e| {
            let text = format!("SMTP {}: {e}", self.smarthost);
            // 5xx is the server's final word (unknown mailbox, refused login); anything else
            // (no connection, a timeout, 4xx "try later") may pass.
            if e.is_permanent() {
                SendError::fatal(text)
            } else {
                SendError::retry(text, None)
            }
        })
    }
}

/// `[FIRING:2] incident shop.example`: the status and the group's label values, as
/// Alertmanager's default subject reads.
pub fn subject(n: &Notification) -> String {
    let status = match n.status {
        State::Firing => format!("FIRING:{}", n.firing().count()),
        State::Pending | State::Resolved => "RESOLVED".to_string(),
    };
    let labels = if n.group_labels.is_empty() {
        n.common_labels()
    } else {
        n.group_labels.clone()
    };
    let values: Vec<&str> = labels.values().map(String::as_str).collect();
    clean(format!("[{status}] {}", values.join(" ")).trim_end(), 200)
}

/// Facts shown as a list even when there is one item.
const LISTS: [&str; 3] = ["reasons", "evidence", "remediation"];

/// What the two parts say about one alert, before either is written out.
struct Block {
    status: &'static str,
    summary: String,
    facts: Vec<(&'static str, Vec<String>)>,
    link: Option<String>,
}

fn block(a: &Alert, ctx: &Context) -> Block {
    let d = &a.details;
    let mut facts = vec![("since", vec![rfc3339(a.starts_at())])];
    if let Some(at) = a.resolved_at.filter(|_| a.state == State::Resolved) {
        facts.push(("resolved", vec![rfc3339(at)]));
    }
    if let Some(cause) = &d.cause {
        let mut about: Vec<String> = d.category.iter().cloned().collect();
        about.extend(d.confidence.map(|c| format!("confidence {c:.2}")));
        let about = if about.is_empty() {
            String::new()
        } else {
            format!(" ({})", about.join(", "))
        };
        facts.push(("cause", vec![format!("{cause}{about}")]));
    }
    facts.push(("value", d.value.iter().map(|v| v.to_string()).collect()));
    facts.push(("reasons", d.reasons.clone()));
    facts.push(("evidence", evidence_lines(d)));
    facts.push(("remediation", d.remediation.clone()));
    let labels: Vec<String> = a.labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    facts.push(("labels", vec![labels.join(", ")]));
    facts.retain(|(_, v)| !v.is_empty());
    Block {
        status: if a.state == State::Resolved {
            "RESOLVED"
        } else {
            "FIRING"
        },
        summary: d.summary.clone(),
        facts,
        link: d.incident.as_deref().map(|i| ctx.incident_url(i)),
    }
}

/// A line about the whole notification: how many fire, how many resolved.
fn tally(n: &Notification) -> String {
    let firing = n.firing().count();
    format!("{firing} firing, {} resolved", n.alerts.len() - firing)
}

/// Log-derived text for the plain part: one line, no control characters.
fn line(text: &str) -> String {
    clean(text, 2000)
}

fn text(n: &Notification, ctx: &Context) -> String {
    let mut out = format!("{}\n\n{} ({})\n", subject(n), tally(n), ctx.external_url);
    for b in n.alerts.iter().map(|a| block(a, ctx)) {
        out.push_str(&format!("\n{} {}\n", b.status, line(&b.summary)));
        for (name, values) in &b.facts {
            match values.as_slice() {
                [one] if !LISTS.contains(name) => {
                    out.push_str(&format!("  {name}: {}\n", line(one)))
                }
                many => {
                    out.push_str(&format!("  {name}:\n"));
                    many.iter()
                        .for_each(|v| out.push_str(&format!("    - {}\n", line(v))));
                }
            }
        }
        if let Some(link) = &b.link {
            out.push_str(&format!("  incident: {link}\n"));
        }
    }
    out
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn html(n: &Notification, ctx: &Context) -> String {
    let e = |s: &str| escape_html(&line(s));
    let mut out = format!(
        "<!DOCTYPE html>\n<html><body style=\"font-family:sans-serif\">\n<h2>{}</h2>\n\
         <p>{} &mdash; <a href=\"{}\">faultline</a></p>\n",
        e(&subject(n)),
        e(&tally(n)),
        e(&ctx.external_url)
    );
    for b in n.alerts.iter().map(|a| block(a, ctx)) {
        out.push_str(&format!("<h3>{} {}</h3>\n<ul>\n", b.status, e(&b.summary)));
        for (name, values) in &b.facts {
            let items: Vec<String> = values
                .iter()
                .map(|v| match *name {
                    "evidence" => format!("<li><code>{}</code></li>", e(v)),
                    _ => format!("<li>{}</li>", e(v)),
                })
                .collect();
            out.push_str(&format!(
                "<li><b>{name}</b><ul>{}</ul></li>\n",
                items.concat()
            ));
        }
        out.push_str("</ul>\n");
        if let Some(link) = &b.link {
            out.push_str(&format!("<p><a href=\"{0}\">{0}</a></p>\n", e(link)));
        }
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::EvidenceLine;
    use crate::notify::testkit::{self, notification, unused_port};
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    fn config(smarthost: &str) -> Config {
        Config {
            smarthost: smarthost.to_string(),
            from: "faultline <faultline@example.org>".into(),
            to: vec!["ops@example.org".into(), "oncall@example.org".into()],
            starttls: StartTls::Off,
            username: None,
            password: None,
            ca_file: None,
            hello: Some("faultline.example".into()),
            timeout_ms: 2_000,
        }
    }

    fn hostile() -> Notification {
        let mut n = notification();
        n.alerts[0].details.evidence.insert(
            0,
            EvidenceLine {
                source: "app.log".into(),
                line: 3,
                text: "GET /<script>alert('x')</script> \u{1b}[2J\r\nBcc: victim@example.org"
                    .into(),
                signature: None,
            },
        );
        n
    }

    #[test]
    fn the_html_part_escapes_log_text_and_the_plain_part_carries_it() {
        let (n, ctx) = (hostile(), testkit::context());
        let h = html(&n, &ctx);
        assert!(!h.contains("<script>"), "{h}");
        assert!(
            h.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"),
            "{h}"
        );
        assert!(
            h.contains("<code>nginx/error.log:12: connect() failed"),
            "{h}"
        );
        assert!(h.contains("http://faultline.example:9790/api/v1/incidents/7"));
        let t = text(&n, &ctx);
        assert!(
            t.contains("app.log:3: GET /<script>alert('x')</script>"),
            "{t}"
        );
        assert!(!t.contains('\u{1b}') && !t.contains("\r\nBcc"), "{t}");
        assert!(
            t.contains("cause: upstream_down (network, confidence 0.92)"),
            "{t}"
        );
        assert!(t.contains("- check that the upstream is running"), "{t}");
        assert!(t.contains("incident: http://faultline.example:9790/api/v1/incidents/7"));
    }

    #[test]
    fn the_message_is_multipart_alternative_with_an_id_from_the_notification() {
        let email = Email::new(&config("127.0.0.1:25")).unwrap();
        let (n, ctx) = (hostile(), testkit::context());
        assert_eq!(subject(&n), "[FIRING:1] incident");
        let raw = String::from_utf8(email.message(&n, &ctx).unwrap().formatted()).unwrap();
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(
            raw.contains("text/plain") && raw.contains("text/html"),
            "{raw}"
        );
        assert!(
            raw.contains("Message-ID: <ntf-00000000000000a1@example.org>"),
            "{raw}"
        );
        assert!(raw.contains("Subject: [FIRING:1] incident"), "{raw}");
        assert!(raw.contains("Date: Wed, 25 Nov 2026 10:06:00"), "{raw}");
        assert!(!raw.contains("\r\nBcc:"), "{raw}");
    }

    #[test]
    fn the_password_is_never_shown() {
        let c = Config {
            username: Some("faultline".into()),
            password: Some("hunter2".into()),
            ..config("smtp.example:587")
        };
        let shown = format!("{c:?} {:?}", Email::new(&c).unwrap());
        assert!(!shown.contains("hunter2"), "{shown}");
        let half = Config {
            username: None,
            ..c
        };
        assert!(Email::new(&half).is_err());
        assert!(Email::new(&config("smtp.example")).is_err(), "no port");
    }

    /// A one-connection SMTP server that answers `RCPT` with `rcpt` and returns the data.
    fn smtp(rcpt: &'static str) -> (u16, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(2)))
                .unwrap();
            let mut out = stream.try_clone().unwrap();
            let mut data = String::new();
            let mut in_data = false;
            let _ = out.write_all(b"220 test ESMTP\r\n");
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                let reply = match line.as_str() {
                    "." if in_data => {
                        in_data = false;
                        "250 queued"
                    }
                    _ if in_data => {
                        data.push_str(&line);
                        data.push('\n');
                        continue;
                    }
                    l if l.starts_with("EHLO") => "250-test\r\n250 8BITMIME",
                    l if l.starts_with("RCPT") => rcpt,
                    "DATA" => {
                        in_data = true;
                        "354 go on"
                    }
                    "QUIT" => "221 bye",
                    _ => "250 ok",
                };
                if out.write_all(format!("{reply}\r\n").as_bytes()).is_err()
                    || reply.starts_with("221")
                {
                    break;
                }
            }
            data
        });
        (port, server)
    }

    #[test]
    fn a_server_that_accepts_gets_the_message() {
        let (port, server) = smtp("250 ok");
        let email = Email::new(&config(&format!("127.0.0.1:{port}"))).unwrap();
        email.send(&notification(), &testkit::context()).unwrap();
        let data = server.join().unwrap();
        assert!(
            data.contains("Message-ID: <ntf-00000000000000a1@example.org>"),
            "{data}"
        );
    }

    #[test]
    fn a_permanent_refusal_is_fatal_and_a_temporary_one_is_retried() {
        let (port, _server) = smtp("550 5.1.1 no such user");
        let err = Email::new(&config(&format!("127.0.0.1:{port}")))
            .unwrap()
            .send(&notification(), &testkit::context())
            .unwrap_err();
        assert!(!err.retryable, "{err}");
        let (port, _server) = smtp("451 4.3.0 try again later");
        let err = Email::new(&config(&format!("127.0.0.1:{port}")))
            .unwrap()
            .send(&notification(), &testkit::context())
            .unwrap_err();
        assert!(err.retryable, "{err}");
        let refused = Email::new(&config(&format!("127.0.0.1:{}", unused_port()))).unwrap();
        let err = refused
            .send(&notification(), &testkit::context())
            .unwrap_err();
        assert!(err.retryable, "{err}");
    }
}
