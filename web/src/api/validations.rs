//! `POST /api/v1/validations`: validates every signature of a signed document (SVR 2.3) and
//! answers the report.
//!
//! The body is either JSON — `{"document": base64, "detached_content": base64?, "at": RFC 3339?}`
//! — or the signed file itself in any other content type, with `?at=` in the query. The answer is
//! the report in the form `Accept` asks for: JSON (the default), the ETSI TS 119 102-2 XML report
//! (`application/xml`), plain text for people (`text/plain`), or the verification protocol as a
//! PDF sealed by the caller's organisation (`application/pdf`, SVC) in the language of
//! `Accept-Language` (Azerbaijani by default, English, Russian).

use actix_web::{HttpRequest, HttpResponse, web};
use mubadile_api_json::validations::{ValidationBody, ValidationQuery};
use mubadile_core::Error;

use crate::auth::Caller;
use crate::problem::{Problem, blocking};
use crate::protocol;
use crate::state::AppState;
use crate::ui::i18n::{Locale, Tr};

/// Validates the document in the body.
pub async fn validate(
    state: web::Data<AppState>,
    caller: Caller,
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
    let form = ReportForm::asked_by(&request);
    // A protocol is sealed by the caller's organisation: refused before any work when it has none.
    let holder = match form {
        ReportForm::Protocol => Some(caller.0.organisation.clone().ok_or_else(|| {
            Error::refused(
                "no_organisation",
                format!(
                    "a verification protocol is sealed by the caller's organisation, and {} \
                     belongs to none: call as a user of an organisation, or ask for \
                     application/json, application/xml or text/plain",
                    caller.0.id
                ),
            )
        })?),
        _ => None,
    };
    let t = Tr::new(locale_asked_by(&request));
    let validation = state.validation.clone();
    let exchange = state.exchange.clone();
    let answer = blocking(move || {
        let report = validation.validate(&document, detached.as_deref(), at)?;
        let bytes = match (form, holder) {
            (ReportForm::Xml, _) => report.to_etsi_xml()?.into_bytes(),
            (ReportForm::Text, _) => report.to_string().into_bytes(),
            (ReportForm::Protocol, Some(holder)) => {
                protocol::of_report(&exchange, &holder, &report, t)?
            }
            (ReportForm::Json | ReportForm::Protocol, _) => return Ok(Err(report)),
        };
        Ok(Ok(bytes))
    })
    .await?;
    Ok(match answer {
        Ok(bytes) => HttpResponse::Ok()
            .content_type(form.media_type())
            .body(bytes),
        Err(report) => HttpResponse::Ok().json(report),
    })
}

/// The forms of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReportForm {
    Json,
    Xml,
    Text,
    Protocol,
}

impl ReportForm {
    /// The first form `Accept` names that this endpoint answers, JSON otherwise.
    fn asked_by(request: &HttpRequest) -> ReportForm {
        let accept = request
            .headers()
            .get("Accept")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        accept
            .split(',')
            .filter_map(|range| match range.split(';').next().unwrap_or("").trim() {
                "application/json" => Some(ReportForm::Json),
                "application/xml" | "text/xml" => Some(ReportForm::Xml),
                "text/plain" => Some(ReportForm::Text),
                "application/pdf" => Some(ReportForm::Protocol),
                _ => None,
            })
            .next()
            .unwrap_or(ReportForm::Json)
    }

    fn media_type(self) -> &'static str {
        match self {
            ReportForm::Json => "application/json",
            ReportForm::Xml => "application/xml",
            ReportForm::Text => "text/plain; charset=utf-8",
            ReportForm::Protocol => protocol::MEDIA_TYPE,
        }
    }
}

/// The first language of `Accept-Language` the platform speaks, Azerbaijani otherwise.
fn locale_asked_by(request: &HttpRequest) -> Locale {
    request
        .headers()
        .get("Accept-Language")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(',')
        .filter_map(|range| {
            let tag = range.split(';').next().unwrap_or("").trim();
            Locale::parse(&tag.split('-').next().unwrap_or("").to_ascii_lowercase())
        })
        .next()
        .unwrap_or_default()
}
