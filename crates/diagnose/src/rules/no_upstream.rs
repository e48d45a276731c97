//! 5xx that the proxy answered itself, without any upstream attempt: its own limits, a
//! maintenance switch, or its own failure.

use faultline_model::Cause;

use super::{Facts, Support, Tell};

/// Share of a scope's responses above which proxy-made 503s look like maintenance.
const MAINTENANCE_SHARE: f64 = 0.9;

pub fn rule(f: &Facts<'_>) -> Vec<Support> {
    let mut out = Vec::new();
    if let Some(t) = f.tells.status(503) {
        if t.no_upstream > 0 {
            let of_all = if f.requests == 0 {
                0.0
            } else {
                t.no_upstream as f64 / f.requests as f64
            };
            let tell = Some(Tell {
                status: 503,
                count: t.no_upstream,
                text: "upstream_addr=-, no upstream attempt".into(),
            });
            if of_all >= MAINTENANCE_SHARE {
                out.push(Support {
                    cause: Cause::Maintenance,
                    score: (0.4 + 0.3 * f.share(t.no_upstream)).min(0.7),
                    reason: format!(
                        "the proxy answered {:.0} % of the scope's requests with 503 itself, without \
                         trying an upstream and without an error line: the shape of a \
                         deliberate maintenance response",
                        of_all * 100.0
                    ),
                    tell,
                    detail: None,
                });
            } else {
                out.push(Support {
                    cause: Cause::RateLimited,
                    score: 0.45 + 0.35 * f.share(t.no_upstream),
                    reason: format!(
                        "{} 503s were answered by the proxy itself without an upstream attempt while \
                         other requests of the same scope went through: the shape of \
                         limit_req / limit_conn rejecting excess traffic",
                        t.no_upstream
                    ),
                    tell,
                    detail: None,
                });
            }
        }
    }
    for status in [500u16, 502, 504] {
        let Some(t) = f.tells.status(status) else {
            continue;
        };
        if t.no_upstream > 0 {
            out.push(Support {
                cause: Cause::ProxyError,
                score: 0.4 + 0.3 * f.share(t.no_upstream),
                reason: format!(
                    "{} {status}s were produced by the proxy without any upstream attempt: it \
                     failed on its own (configuration, rewrite loop, missing file, resources)",
                    t.no_upstream
                ),
                tell: Some(Tell {
                    status,
                    count: t.no_upstream,
                    text: "upstream_addr=-, no upstream attempt".into(),
                }),
                detail: None,
            });
        }
    }
    out
}
