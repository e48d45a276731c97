use serde::Serialize;

/// The class of an HTTP status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum StatusClass {
    Informational,
    Success,
    Redirect,
    Client,
    Server,
}

impl StatusClass {
    /// The class of `status`, `None` outside 100..=599.
    pub fn of(status: u16) -> Option<StatusClass> {
        Some(match status {
            100..=199 => StatusClass::Informational,
            200..=299 => StatusClass::Success,
            300..=399 => StatusClass::Redirect,
            400..=499 => StatusClass::Client,
            500..=599 => StatusClass::Server,
            _ => return None,
        })
    }

    /// The label used in reports: `1xx` … `5xx`.
    pub fn label(self) -> &'static str {
        match self {
            StatusClass::Informational => "1xx",
            StatusClass::Success => "2xx",
            StatusClass::Redirect => "3xx",
            StatusClass::Client => "4xx",
            StatusClass::Server => "5xx",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_first_digit() {
        assert_eq!(StatusClass::of(200).unwrap().label(), "2xx");
        assert_eq!(StatusClass::of(499).unwrap().label(), "4xx");
        assert_eq!(StatusClass::of(599).unwrap().label(), "5xx");
        assert_eq!(StatusClass::of(600), None);
        assert_eq!(StatusClass::of(0), None);
    }
}
