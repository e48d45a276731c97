//! The HTTP side both HTTP notifiers share: one blocking client per receiver, a POST whose
//! failure is classified for the retry stage, and URLs shown without what may be secret in
//! them (a chat webhook's path is its password).

use std::io::Read;
use std::time::Duration;

use ureq::http::{HeaderName, HeaderValue, Uri};
use ureq::Agent;

use super::{parse_retry_after, SendError};
use crate::Ms;

/// How much of a refusal's body goes into the error.
const BODY_BYTES: u64 = 4096;

pub(crate) fn agent(timeout_ms: Ms) -> Agent {
    Agent::config_builder()
        .timeout_global(Some(Duration::from_millis(timeout_ms.max(1) as u64)))
        .http_status_as_error(false)
        // Following a redirect would send the signed body somewhere else, or turn the POST
        // into a GET: a 3xx is reported instead, as a configuration error.
        .max_redirects(0)
        .max_redirects_will_error(false)
        .user_agent(concat!("faultline/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// An absolute `http` or `https` URL with a host.
pub(crate) fn check_url(url: &str) -> Result<(), String> {
    let shown = redact_url(url);
    let uri: Uri = url.parse().map_err(|_| format!("invalid URL {shown}"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
        return Err(format!("{shown} is not an http(s) URL with a host"));
    }
    Ok(())
}

/// Header names and values the client will accept, checked once at build time. The value
/// never appears in the message: it is often a token.
pub(crate) fn check_headers(headers: &[(String, String)]) -> Result<(), String> {
    for (name, value) in headers {
        HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("invalid header {name:?}"))?;
        HeaderValue::from_str(value).map_err(|_| format!("invalid value for header {name:?}"))?;
    }
    Ok(())
}

/// `scheme://host[:port]`, then `/…` if there was more: no user info, path or query.
pub(crate) fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("?", url));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let more = !rest[end..].trim_start_matches('/').is_empty();
    format!("{scheme}://{host}{}", if more { "/…" } else { "" })
}

/// POSTs a JSON body; any 2xx is success.
pub(crate) fn post_json(
    agent: &Agent,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    now: Ms,
) -> Result<(), SendError> {
    let mut req = agent.post(url).header("content-type", "application/json");
    for (name, value) in headers {
        req = req.header(name, value);
    }
    let mut resp = req.send(body).map_err(|e| transport_error(&e, url))?;
    let status = resp.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(());
    }
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, now));
    let mut text = Vec::new();
    let _ = resp
        .body_mut()
        .as_reader()
        .take(BODY_BYTES)
        .read_to_end(&mut text);
    Err(SendError::http(
        status,
        &String::from_utf8_lossy(&text),
        retry_after,
    ))
}

/// No answer at all: the receiver may be down or unreachable for a while, so try again,
/// unless the request itself can never be sent.
fn transport_error(e: &ureq::Error, url: &str) -> SendError {
    let message = format!("POST {}: {}", redact_url(url), e).replace(url, &redact_url(url));
    match e {
        ureq::Error::BadUri(_)
        | ureq::Error::Http(_)
        | ureq::Error::RequireHttpsOnly(_)
        | ureq::Error::InvalidProxyUrl => SendError::fatal(message),
        _ => SendError::retry(message, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_credentials_path_or_query() {
        assert_eq!(
            redact_url("https://user:pw@hooks.example:8443/services/T0/B0/XyZ?token=1"),
            "https://hooks.example:8443/…"
        );
        assert_eq!(
            redact_url("http://am.example:9093/"),
            "http://am.example:9093"
        );
        assert_eq!(redact_url("http://[::1]:9093"), "http://[::1]:9093");
    }

    #[test]
    fn only_absolute_http_urls_and_valid_headers_are_accepted() {
        assert!(check_url("https://hooks.example/x").is_ok());
        assert!(check_url("ftp://hooks.example/x").is_err());
        assert!(check_url("/relative").is_err());
        let bad = [("Authorization".to_string(), "Bearer s3cret\n".to_string())];
        let err = check_headers(&bad).unwrap_err();
        assert!(!err.contains("s3cret"), "{err}");
    }
}
