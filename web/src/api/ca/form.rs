//! `GET /api/v1/ca/certificates/{serial}/form`: the printable certificate form, two copies to be
//! signed and stamped (CSP 3.10).

use actix_web::{HttpResponse, web};
use askama::Template;
use mubadile_core::Error;
use mubadile_core::accounts::Role;
use mubadile_core::ca::register::{self, Serial};
use mubadile_core::time::{baku_display, from_db};

use crate::auth::Caller;
use crate::problem::{Problem, blocking};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "certificate_form.html")]
struct FormPage {
    copies: [&'static str; 2],
    organisation: String,
    serial: String,
    subject: String,
    profile: String,
    issuer: String,
    not_before: String,
    not_after: String,
    key_usage_until: String,
    key_algorithm: String,
    fingerprint: String,
    status: String,
}

/// Renders the form.
pub async fn form(
    state: web::Data<AppState>,
    caller: Caller,
    serial: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    caller
        .0
        .require(&[Role::RegistrationOfficer, Role::CertificateOfficer])?;
    let serial: Serial = serial.parse()?;
    let pool = state.pool.clone();
    let record = blocking(move || {
        let mut conn = pool.get()?;
        register::find(&mut conn, &serial)
    })
    .await?;
    let certificate = mubadile_core::ca::certificate::parse_certificate(&record.der)?;
    let key_algorithm = mubadile_core::crypto::KeyAlgorithm::of_public_key(
        &certificate.tbs_certificate.subject_public_key_info,
    )
    .map(|a| a.name().to_string())
    .unwrap_or_else(|_| {
        certificate
            .tbs_certificate
            .subject_public_key_info
            .algorithm
            .oid
            .to_string()
    });
    let fingerprint = aws_lc_rs_fingerprint(&record.der);
    let issuer = state
        .ca
        .authority(&record.issuer_id)?
        .certificate
        .tbs_certificate
        .subject
        .to_string();
    let page = FormPage {
        copies: ["1-ci nüsxə / copy 1", "2-ci nüsxə / copy 2"],
        organisation: state.config.ca.organisation.clone(),
        serial: record.serial.0.clone(),
        subject: record.subject.clone(),
        profile: record.profile.clone(),
        issuer,
        not_before: baku_display(from_db(record.not_before)),
        not_after: baku_display(from_db(record.not_after)),
        key_usage_until: record
            .key_usage_not_after
            .map(|t| baku_display(from_db(t)))
            .unwrap_or_else(|| "—".into()),
        key_algorithm,
        fingerprint,
        status: record.status.clone(),
    };
    let html = page
        .render()
        .map_err(|e| Error::Config(format!("form template: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html))
}

fn aws_lc_rs_fingerprint(der: &[u8]) -> String {
    mubadile_core::crypto::digest(&mubadile_core::crypto::oids::ID_SHA_256, der)
        .map(|d| {
            d.iter()
                .map(|b| format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join(":")
        })
        .unwrap_or_default()
}
