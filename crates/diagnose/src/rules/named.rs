//! Logs that name the upstream server but not its status (Apache's
//! `%{BALANCER_WORKER_NAME}e`): a 502/503 that names its member and failed at once is a
//! refused connection; a 500 that reached its member and took a while came from the
//! application (the proxy's own 500s name no member).

use faultline_model::Cause;

use super::{Facts, Support, Tell};
use faultline_aggregate::FAST_US;

pub fn rule(f: &Facts<'_>) -> Vec<Support> {
    let mut out = Vec::new();
    for status in [502u16, 503] {
        let Some(t) = f.tells.status(status) else {
            continue;
        };
        let fast = t.fast.min(t.named_only);
        if t.named_only == 0 || fast * 2 < t.named_only {
            continue;
        }
        out.push(Support {
            cause: Cause::UpstreamDown,
            score: 0.5 + 0.35 * f.share(fast),
            reason: format!(
                "{fast} of {} {status}s name their backend member and failed in under {} ms: \
                 the proxy could not connect (refused) and took the member out of rotation",
                t.count,
                FAST_US / 1000
            ),
            tell: Some(Tell {
                status,
                count: fast,
                text: format!(
                    "status={status}, member named, duration<{}ms",
                    FAST_US / 1000
                ),
            }),
            detail: None,
        });
    }
    if let Some(t) = f.tells.status(500) {
        let slow = t.named_only.saturating_sub(t.fast.min(t.named_only));
        if slow > 0 && slow * 2 >= t.named_only {
            out.push(Support {
                cause: Cause::AppError,
                score: 0.4 + 0.35 * f.share(slow),
                reason: format!(
                    "{slow} of {} 500s reached their backend member and came back after the \
                     application worked on them: the application failed, not the proxy",
                    t.count
                ),
                tell: Some(Tell {
                    status: 500,
                    count: slow,
                    text: "status=500, member named".into(),
                }),
                detail: None,
            });
        }
    }
    out
}
