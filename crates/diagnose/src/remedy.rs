//! Summaries and remediation per cause, with the incident's names filled in.

use faultline_model::Cause;

/// Names to put into the texts.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub upstreams: String,
    pub hosts: String,
    pub routes: String,
    pub detail: Option<String>,
}

fn or<'a>(text: &'a str, fallback: &'a str) -> &'a str {
    if text.is_empty() {
        fallback
    } else {
        text
    }
}

pub fn summary(cause: Cause, n: &Names) -> String {
    let hosts = or(&n.hosts, "the service");
    let routes = or(&n.routes, "its routes");
    let up = if n.upstreams.is_empty() {
        "the upstream".to_string()
    } else {
        format!("the upstream at {}", n.upstreams)
    };
    match cause {
        Cause::UpstreamDown => {
            format!("{up} refused connections or had no live server (process not listening)")
        }
        Cause::UpstreamTimeout => match &n.detail {
            Some(d) => format!("{up} accepted requests but did not answer in time: {d} fired"),
            None => format!("{up} accepted requests but did not answer in time"),
        },
        Cause::UpstreamUnreachable => {
            format!("{up} could not be reached (connect timeout, no route, DNS)")
        }
        Cause::UpstreamReset => format!("{up} closed or reset connections while answering"),
        Cause::UpstreamProtocol => format!("{up} sent an invalid or oversized answer"),
        Cause::TlsFailure => format!("TLS to {up} failed"),
        Cause::AppError => format!(
            "the application behind {} returned 500 errors on {routes}",
            or(&n.upstreams, "the proxy")
        ),
        Cause::DependencyFailure => "a dependency of the application failed".into(),
        Cause::Overload => format!("{up} was at capacity and answered 503"),
        Cause::RateLimited => format!("the proxy's own request limits rejected traffic to {hosts}"),
        Cause::ResourceExhaustion => "the host ran out of a resource".into(),
        Cause::Maintenance => format!("{hosts} answered 503 on purpose (maintenance)"),
        Cause::ProxyError => {
            format!("the proxy failed on its own for {hosts} without contacting an upstream")
        }
        Cause::Client => "clients gave up or sent what the server cannot handle".into(),
        Cause::Unknown => "not enough evidence in the logs to name a cause".into(),
    }
}

pub fn remediation(cause: Cause, n: &Names) -> Vec<String> {
    let up = if n.upstreams.is_empty() {
        "the upstream".to_string()
    } else {
        n.upstreams.clone()
    };
    let v: Vec<String> = match cause {
        Cause::UpstreamDown => vec![
            format!("check that the service behind {up} is running and listening on that address"),
            "look for a crash, OOM kill or deploy at the incident's start in the service's logs".into(),
            "if a deploy restarts every instance at once, roll it out gradually behind a health check".into(),
        ],
        Cause::UpstreamTimeout => vec![
            format!("find what made {up} slow: saturated workers, slow queries, a slow dependency"),
            "compare the timeout with the latency the route needs; raise it only if the work is legitimately long".into(),
            "add a timeout and circuit breaker on the application's own calls so it fails fast".into(),
        ],
        Cause::UpstreamUnreachable => vec![
            format!("check network reachability of {up} from the proxy (routes, firewall, security groups)"),
            "check DNS resolution of the upstream name and the proxy's resolver".into(),
        ],
        Cause::UpstreamReset => vec![
            format!("look for worker crashes, OOM kills or restarts of {up}"),
            "make the upstream's keep-alive timeout longer than the proxy's idle timeout".into(),
        ],
        Cause::UpstreamProtocol => vec![
            "check the upstream's response headers (size, validity) and the proxy's buffer sizes".into(),
        ],
        Cause::TlsFailure => vec![
            "check the upstream certificate's validity, chain and name; renew if expired".into(),
        ],
        Cause::AppError => vec![
            format!("read the application's error log or exception tracker for {} at the incident's start", n.routes),
            "check whether a deploy or config change happened just before; roll back if so".into(),
            "add the application's log to the analysis so faultline can group its exceptions".into(),
        ],
        Cause::DependencyFailure => vec!["check the database or service the application depends on (connections, pool size, health)".into()],
        Cause::Overload => vec![
            format!("add capacity to {up} or shed load earlier; check CPU, workers and queue depth"),
            "check whether a traffic surge (crawler, retry storm, campaign) drove the load".into(),
        ],
        Cause::RateLimited => vec![
            "check whether the traffic was legitimate: a surge of real users, a crawler, or abuse".into(),
            "if legitimate, raise the limit_req / limit_conn rate or burst for the zone".into(),
        ],
        Cause::ResourceExhaustion => vec!["check memory, disk, file descriptors and CPU on the host".into()],
        Cause::Maintenance => vec![
            "confirm a maintenance window was planned; if not, find who enabled maintenance mode".into(),
            "declare maintenance windows in faultline's config so they are not reported as incidents".into(),
        ],
        Cause::ProxyError => vec!["read the proxy's error log at the incident's start (configuration, rewrite loops, missing files, disk)".into()],
        Cause::Client => vec!["check whether clients time out before the backend answers".into()],
        Cause::Unknown => vec![
            "add the proxy's error log and the application's log to the analysis".into(),
            "log upstream fields ($upstream_addr, $upstream_status, $upstream_response_time, $request_time) in the access log".into(),
        ],
    };
    v
}
