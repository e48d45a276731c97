//! Bearer tokens: reads need a read or the admin token once read tokens are configured;
//! writes always need the admin token. Tokens are compared in constant time.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::Response;

use crate::{AppError, Shared};

/// Equal without an early exit, so the time taken tells nothing of the token.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn bearer(headers: &HeaderMap) -> &str {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map_or("", str::trim)
}

/// The middleware of every data route, whatever the method: `HEAD` answers what `GET`
/// does (without the body, but with its length and headers), and a write or a wrong method
/// says nothing to a client without a token either. Writes check the admin token in their
/// handler besides.
pub(crate) async fn reads(
    State(state): State<Shared>,
    req: Request,
    next: Next,
) -> Result<Response, AppError> {
    let tokens = state.tokens();
    if !tokens.read.is_empty() {
        let given = bearer(req.headers()).as_bytes();
        let ok = tokens.read.iter().any(|t| same(given, t.as_bytes()))
            || tokens
                .admin
                .as_ref()
                .is_some_and(|t| same(given, t.as_bytes()));
        if !ok {
            return Err(AppError::Unauthorized(
                "a read token is needed: Authorization: Bearer TOKEN".into(),
            ));
        }
    }
    Ok(next.run(req).await)
}

/// Writes: the admin token, or 403 when the config sets none.
pub(crate) fn writes(state: &Shared, headers: &HeaderMap) -> Result<(), AppError> {
    let Some(token) = state.tokens().admin else {
        return Err(AppError::Forbidden(
            "writes are disabled: set alerting.admin_token in the config".into(),
        ));
    };
    if same(bearer(headers).as_bytes(), token.as_bytes()) {
        Ok(())
    } else {
        Err(AppError::Unauthorized(
            "a valid admin token is needed: Authorization: Bearer TOKEN".into(),
        ))
    }
}
