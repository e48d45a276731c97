//! Cross-layer chains: a proxy-side message and an upstream-side one that, seen together in
//! one incident, name a cause neither names alone (e.g. nginx's "prematurely closed" plus
//! gunicorn's `WORKER TIMEOUT`: the application was too slow, not the network).

use faultline_model::Cause;

use crate::catalog::Catalog;
use crate::correlate::Via;

/// A chain that holds for an incident.
#[derive(Debug, Clone)]
pub struct ChainHit {
    pub cause: Cause,
    pub score: f64,
    pub reason: String,
}

/// One chain: the proxy saw `proxy` (causes of its signatures), the other layer logged one of
/// `upstream` (signature ids, or id prefixes ending in `.`), so the cause is `cause`.
struct Chain {
    proxy: &'static [Cause],
    upstream: &'static [&'static str],
    cause: Cause,
    why: &'static str,
}

const CHAINS: &[Chain] = &[
    Chain {
        proxy: &[
            Cause::UpstreamReset,
            Cause::UpstreamProtocol,
            Cause::UpstreamTimeout,
        ],
        upstream: &[
            "gunicorn.worker_timeout",
            "uwsgi.harakiri",
            "php_fpm.execution_timed_out",
            "php.max_execution_time",
        ],
        cause: Cause::UpstreamTimeout,
        why: "the app server killed requests that ran past its own timeout: the application \
              was too slow, not the network",
    },
    Chain {
        proxy: &[
            Cause::UpstreamReset,
            Cause::UpstreamDown,
            Cause::UpstreamProtocol,
        ],
        upstream: &[
            "kernel.oom_killed_process",
            "kernel.oom_invoked",
            "gunicorn.worker_killed_oom",
            "k8s.oomkilled",
        ],
        cause: Cause::ResourceExhaustion,
        why: "the kernel killed the process for lack of memory: its in-flight requests failed, \
              then the proxy found nothing listening",
    },
    Chain {
        proxy: &[
            Cause::UpstreamTimeout,
            Cause::Overload,
            Cause::UpstreamDown,
            Cause::UpstreamReset,
        ],
        upstream: &[
            "php_fpm.max_children_reached",
            "uwsgi.listen_queue_full",
            "apache.mpm.max_request_workers",
            "kernel.syn_flooding",
        ],
        cause: Cause::Overload,
        why: "the upstream's worker pool or accept queue was full: requests waited or were \
              turned away",
    },
];

fn matches(id: &str, pat: &str) -> bool {
    if pat.ends_with('.') {
        id.starts_with(pat)
    } else {
        id == pat
    }
}

/// The chains whose two sides both appear among an incident's joined signatures.
pub fn find(catalog: &Catalog, sigs: &[(usize, u64, Via)]) -> Vec<ChainHit> {
    let mut out = Vec::new();
    for ch in CHAINS {
        let proxy = sigs.iter().find(|(s, _, _)| {
            let sig = catalog.get(*s);
            ch.proxy.contains(&sig.cause) && !ch.upstream.iter().any(|p| matches(&sig.id, p))
        });
        let upstream = sigs
            .iter()
            .find(|(s, _, _)| ch.upstream.iter().any(|p| matches(&catalog.get(*s).id, p)));
        if let (Some(p), Some(u)) = (proxy, upstream) {
            out.push(ChainHit {
                cause: ch.cause,
                score: 0.97,
                reason: format!(
                    "{} ({} lines) together with {} ({} lines): {}",
                    catalog.get(p.0).id,
                    p.1,
                    catalog.get(u.0).id,
                    u.1,
                    ch.why
                ),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chain_names_catalog_entries() {
        let cat = Catalog::builtin();
        for ch in CHAINS {
            for id in ch.upstream {
                assert!(
                    cat.signatures().iter().any(|s| matches(&s.id, id)),
                    "{id} is not in the catalog"
                );
            }
        }
    }
}
