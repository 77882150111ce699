//! Errors as RFC 9457 problem details: the one place that maps core errors to HTTP statuses.
//! The `code` member is the stable snake_case code of [`mubadile_core::Error::code`], which the
//! UI translates.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use mubadile_core::Error;
use mubadile_core::store::{DbConnection, DbPool};
use serde::Serialize;

/// An error answered as `application/problem+json`.
#[derive(Debug)]
pub struct Problem(pub Error);

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: String,
    code: &'a str,
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        Problem(e)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        status_of(&self.0)
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        // Internal failures are logged in full and shown without their inner details.
        let detail = if status.is_server_error() {
            tracing::error!(error = %self.0, "request failed");
            "the server could not complete the request; it was logged".to_string()
        } else {
            self.0.to_string()
        };
        let code = self.0.code();
        let body = Body {
            kind: format!("https://mubadile.az/problems/{code}"),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail,
            code,
        };
        let mut response = HttpResponse::build(status);
        response.content_type("application/problem+json");
        if status == StatusCode::UNAUTHORIZED {
            let challenge = if code == "bad_token" {
                "Bearer realm=\"mubadile\""
            } else {
                "Basic realm=\"mubadile\", charset=\"UTF-8\""
            };
            response.insert_header(("WWW-Authenticate", challenge));
        }
        response.json(body)
    }
}

/// The HTTP status of `error`, for the API and the UI alike.
pub fn status_of(error: &Error) -> StatusCode {
    match error {
        Error::InvalidInput { .. } => StatusCode::BAD_REQUEST,
        Error::Refused {
            code:
                "bad_credentials"
                | "bad_token"
                | "certificate_unknown"
                | "certificate_not_in_force"
                | "certificate_not_bound"
                | "peer_certificate_required"
                | "peer_unknown"
                | "second_factor_required",
            ..
        } => StatusCode::UNAUTHORIZED,
        Error::Refused {
            code: "password_change_required" | "csrf_failed",
            ..
        } => StatusCode::FORBIDDEN,
        Error::Refused {
            code: "sign_in_throttled",
            ..
        } => StatusCode::TOO_MANY_REQUESTS,
        Error::Refused { .. } => StatusCode::CONFLICT,
        Error::NotFound { .. } => StatusCode::NOT_FOUND,
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Runs blocking database work off the async executor (diesel is synchronous).
pub async fn blocking<T, F>(f: F) -> Result<T, Problem>
where
    F: FnOnce() -> Result<T, Error> + Send + 'static,
    T: Send + 'static,
{
    actix_web::web::block(f)
        .await
        .map_err(|e| Problem(Error::Io(std::io::Error::other(e.to_string()))))?
        .map_err(Problem)
}

/// [`blocking`] work on a connection from `pool`.
pub async fn with_connection<T, F>(pool: &DbPool, f: F) -> Result<T, Problem>
where
    F: FnOnce(&mut DbConnection) -> Result<T, Error> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    blocking(move || {
        let mut conn = pool.get()?;
        f(&mut conn)
    })
    .await
}
