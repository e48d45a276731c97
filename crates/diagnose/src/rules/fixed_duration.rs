//! 504s (or 502s) that all last the same time: a timer fired. Its length is learned from the
//! data: the proxy's read timeout for 504s, the app server's worker timeout for 502s.

use faultline_model::Cause;

use super::{fixed_duration, secs, Facts, Support, Tell};

pub fn rule(f: &Facts<'_>) -> Vec<Support> {
    let mut out = Vec::new();
    if let Some(t) = f.tells.status(504) {
        let connect = t.connect_bound;
        if connect * 2 > t.count && connect > 0 {
            out.push(Support {
                cause: Cause::UpstreamUnreachable,
                score: 0.55 + 0.3 * f.share(connect),
                reason: format!(
                    "{connect} of {} 504s spent the whole attempt connecting: the upstream \
                     could not be reached (packets dropped, no route, firewall)",
                    t.count
                ),
                tell: Some(Tell {
                    status: 504,
                    count: connect,
                    text: "upstream_connect_time ≈ upstream_response_time".into(),
                }),
                detail: None,
            });
        } else if let Some((p10, p50, p90)) = fixed_duration(t) {
            out.push(Support {
                cause: Cause::UpstreamTimeout,
                score: 0.6 + 0.3 * f.share(t.count),
                reason: format!(
                    "{} 504s all took about {} (p10 {}, p90 {}): the proxy's timeout fired \
                     while waiting for the upstream (proxy_read_timeout is likely {})",
                    t.count,
                    secs(p50),
                    secs(p10),
                    secs(p90),
                    round_timeout(p50)
                ),
                tell: Some(Tell {
                    status: 504,
                    count: t.count,
                    text: format!("request_time≈{}", secs(p50)),
                }),
                detail: Some(format!(
                    "the proxy's timeout of about {}",
                    round_timeout(p50)
                )),
            });
        } else if t.count > 0 {
            out.push(Support {
                cause: Cause::UpstreamTimeout,
                score: 0.35 + 0.3 * f.share(t.count),
                reason: format!(
                    "{} 504 Gateway Timeout responses: a hop gave up waiting for the upstream",
                    t.count
                ),
                tell: Some(Tell {
                    status: 504,
                    count: t.count,
                    text: "status=504".into(),
                }),
                detail: None,
            });
        }
    }
    if let Some(t) = f.tells.status(502) {
        if let Some((p10, p50, p90)) = fixed_duration(t) {
            // Apache's mod_proxy answers its own timeout with 502 and logs no upstream
            // status; nginx logs the upstream's 502 when the app server killed the worker.
            let proxy = t.named_only * 2 >= t.count;
            let (why, detail) = if proxy {
                (
                    format!(
                        "the proxy's timeout fired (Apache answers a timed-out backend with 502; ProxyTimeout is likely {})",
                        round_timeout(p50)
                    ),
                    format!("the proxy's timeout of about {}", round_timeout(p50)),
                )
            } else {
                (
                    "the app server's own timeout (e.g. gunicorn --timeout, uWSGI harakiri) killed the worker mid-request".to_string(),
                    format!("a worker timeout of about {}", round_timeout(p50)),
                )
            };
            out.push(Support {
                cause: Cause::UpstreamTimeout,
                score: 0.5 + 0.3 * f.share(t.count),
                reason: format!(
                    "{} 502s all took about {} (p10 {}, p90 {}): {why}",
                    t.count,
                    secs(p50),
                    secs(p10),
                    secs(p90)
                ),
                tell: Some(Tell {
                    status: 502,
                    count: t.count,
                    text: format!("request_time≈{}", secs(p50)),
                }),
                detail: Some(detail),
            });
        }
    }
    out
}

/// A timeout as people configure it: whole seconds above 2 s.
fn round_timeout(us: f64) -> String {
    let s = us / 1e6;
    if s >= 2.0 {
        format!("{}s", s.round())
    } else {
        format!("{}ms", (s * 1000.0).round())
    }
}
