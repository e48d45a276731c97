use serde::Serialize;

/// The cause ids of the report contract (`contract/report.md`, "Cause ids").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    UpstreamDown,
    UpstreamTimeout,
    UpstreamUnreachable,
    UpstreamReset,
    UpstreamProtocol,
    TlsFailure,
    AppError,
    DependencyFailure,
    Overload,
    RateLimited,
    ResourceExhaustion,
    Maintenance,
    ProxyError,
    Client,
    Unknown,
}

/// The families of server-side failure, plus `maintenance`, `client` and `unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Application,
    Network,
    Configuration,
    Resource,
    Maintenance,
    Client,
    Unknown,
}

impl Cause {
    /// Every cause, in the contract's order.
    pub const ALL: [Cause; 15] = [
        Cause::UpstreamDown,
        Cause::UpstreamTimeout,
        Cause::UpstreamUnreachable,
        Cause::UpstreamReset,
        Cause::UpstreamProtocol,
        Cause::TlsFailure,
        Cause::AppError,
        Cause::DependencyFailure,
        Cause::Overload,
        Cause::RateLimited,
        Cause::ResourceExhaustion,
        Cause::Maintenance,
        Cause::ProxyError,
        Cause::Client,
        Cause::Unknown,
    ];

    /// The stable id written in reports.
    pub fn id(self) -> &'static str {
        match self {
            Cause::UpstreamDown => "upstream_down",
            Cause::UpstreamTimeout => "upstream_timeout",
            Cause::UpstreamUnreachable => "upstream_unreachable",
            Cause::UpstreamReset => "upstream_reset",
            Cause::UpstreamProtocol => "upstream_protocol",
            Cause::TlsFailure => "tls_failure",
            Cause::AppError => "app_error",
            Cause::DependencyFailure => "dependency_failure",
            Cause::Overload => "overload",
            Cause::RateLimited => "rate_limited",
            Cause::ResourceExhaustion => "resource_exhaustion",
            Cause::Maintenance => "maintenance",
            Cause::ProxyError => "proxy_error",
            Cause::Client => "client",
            Cause::Unknown => "unknown",
        }
    }

    /// Parses a cause id as written in reports and in the signature catalog.
    pub fn from_id(id: &str) -> Option<Cause> {
        Cause::ALL.into_iter().find(|c| c.id() == id)
    }

    /// The category the contract assigns to this cause.
    pub fn category(self) -> Category {
        match self {
            Cause::UpstreamDown
            | Cause::UpstreamTimeout
            | Cause::UpstreamReset
            | Cause::AppError
            | Cause::DependencyFailure => Category::Application,
            Cause::UpstreamUnreachable => Category::Network,
            Cause::UpstreamProtocol | Cause::TlsFailure | Cause::ProxyError => {
                Category::Configuration
            }
            Cause::Overload | Cause::RateLimited | Cause::ResourceExhaustion => Category::Resource,
            Cause::Maintenance => Category::Maintenance,
            Cause::Client => Category::Client,
            Cause::Unknown => Category::Unknown,
        }
    }
}

impl Category {
    /// The stable id written in reports.
    pub fn id(self) -> &'static str {
        match self {
            Category::Application => "application",
            Category::Network => "network",
            Category::Configuration => "configuration",
            Category::Resource => "resource",
            Category::Maintenance => "maintenance",
            Category::Client => "client",
            Category::Unknown => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_match_serde() {
        for c in Cause::ALL {
            assert_eq!(Cause::from_id(c.id()), Some(c));
            let json = serde_json_like(c);
            assert_eq!(json, c.id());
        }
    }

    fn serde_json_like(c: Cause) -> String {
        // serde's derive with snake_case must agree with `id()`.
        format!("{:?}", c)
            .chars()
            .enumerate()
            .flat_map(|(i, ch)| {
                if ch.is_uppercase() && i > 0 {
                    vec!['_', ch.to_ascii_lowercase()]
                } else {
                    vec![ch.to_ascii_lowercase()]
                }
            })
            .collect()
    }

    #[test]
    fn categories_follow_the_contract() {
        assert_eq!(Cause::UpstreamUnreachable.category().id(), "network");
        assert_eq!(Cause::TlsFailure.category().id(), "configuration");
        assert_eq!(Cause::RateLimited.category().id(), "resource");
        assert_eq!(Cause::Maintenance.category().id(), "maintenance");
    }
}
