//! 5xx that the upstream returned itself (`$status` = last `$upstream_status`, not at once):
//! the application answered with an error.

use faultline_model::Cause;

use super::{Facts, Support, Tell};

pub fn rule(f: &Facts<'_>) -> Vec<Support> {
    let mut out = Vec::new();
    if let Some(t) = f.tells.status(500) {
        if t.from_upstream > 0 {
            out.push(Support {
                cause: Cause::AppError,
                score: (0.4 + 0.4 * f.share(t.from_upstream)).min(0.8),
                reason: format!(
                    "{} of {} 500s were returned by the upstream itself (upstream_status 500): \
                     the application failed, not the proxy",
                    t.from_upstream, t.count
                ),
                tell: Some(Tell {
                    status: 500,
                    count: t.from_upstream,
                    text: "upstream_status=500".into(),
                }),
                detail: None,
            });
        }
    }
    if let Some(t) = f.tells.status(503) {
        if t.from_upstream > 0 {
            out.push(Support {
                cause: Cause::Overload,
                score: 0.35 + 0.4 * f.share(t.from_upstream),
                reason: format!(
                    "{} of {} 503s were returned by the upstream itself: the application said \
                     it could not serve (overloaded, starting, or shedding load)",
                    t.from_upstream, t.count
                ),
                tell: Some(Tell {
                    status: 503,
                    count: t.from_upstream,
                    text: "upstream_status=503".into(),
                }),
                detail: None,
            });
        }
    }
    out
}
