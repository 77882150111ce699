//! `POST /api/v1/validations`: validates every signature of a signed document (SVR 2.3) and
//! answers the report.
//!
//! The body is either JSON — `{"document": base64, "detached_content": base64?, "at": RFC 3339?}`
//! — or the signed file itself in any other content type, with `?at=` in the query. The answer is
//! the JSON report, or the ETSI TS 119 102-2 XML report when `Accept` asks for `application/xml`.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use mubadile_core::Error;
use serde::Deserialize;

use crate::auth::Caller;
use crate::problem::{Problem, blocking};
use crate::state::AppState;

/// The JSON form of the request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidationBody {
    /// The signed document.
    #[serde(with = "mubadile_core::serde_base64")]
    document: Vec<u8>,
    /// The signed data of a detached signature.
    #[serde(default, with = "mubadile_core::serde_base64::optional")]
    detached_content: Option<Vec<u8>>,
    /// Validate as of this time instead of now.
    #[serde(default)]
    at: Option<DateTime<Utc>>,
}

/// The query of the raw form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationQuery {
    #[serde(default)]
    at: Option<DateTime<Utc>>,
}

/// Validates the document in the body.
pub async fn validate(
    state: web::Data<AppState>,
    _caller: Caller,
    request: HttpRequest,
    query: web::Query<ValidationQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let json = request
        .headers()
        .get("Content-Type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let (document, detached, at) = if json {
        let body: ValidationBody = serde_json::from_slice(&body).map_err(|e| {
            Error::invalid(
                "JSON body",
                format!("{e}; send {{\"document\": base64, \"detached_content\": base64?, \"at\": RFC 3339?}}"),
            )
        })?;
        (body.document, body.detached_content, body.at.or(query.at))
    } else {
        (body.to_vec(), None, query.at)
    };
    if document.is_empty() {
        return Err(Error::invalid("document", "the body is empty; send the signed file").into());
    }
    let validation = state.validation.clone();
    let report = blocking(move || validation.validate(&document, detached.as_deref(), at)).await?;
    Ok(HttpResponse::Ok().json(report))
}
