//! Reading the register (CSP 9.1–9.2): officers search it and read one certificate's history.

use actix_web::{HttpResponse, web};
use mubadile_core::Error;
use mubadile_core::accounts::Role;
use mubadile_core::ca::register::{self, RegisterQuery, Serial};
use serde::Serialize;

use crate::auth::Caller;
use crate::pki::certificate_pem;
use crate::problem::{Problem, blocking};
use crate::state::AppState;

const OFFICERS: [Role; 3] = [
    Role::RegistrationOfficer,
    Role::CertificateOfficer,
    Role::SecurityOfficer,
];

#[derive(Serialize)]
struct AuthorityView {
    label: String,
    subject: String,
    certificate_pem: String,
}

/// `GET /ca/authorities`: the hierarchy.
pub async fn authorities(state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    let ca = &state.ca;
    let views = ca
        .authorities()
        .iter()
        .map(|a| {
            Ok(AuthorityView {
                label: a.label.clone(),
                subject: a.certificate.tbs_certificate.subject.to_string(),
                certificate_pem: certificate_pem(&a.der)?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(HttpResponse::Ok().json(views))
}

/// `GET /ca/certificates?subject=&holder_id=&status=&…`.
pub async fn search(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<RegisterQuery>,
) -> Result<HttpResponse, Problem> {
    caller.0.require(&OFFICERS)?;
    let pool = state.pool.clone();
    let query = query.into_inner();
    let rows = blocking(move || {
        let mut conn = pool.get()?;
        register::search(&mut conn, &query)
    })
    .await?;
    Ok(HttpResponse::Ok().json(rows))
}

#[derive(Serialize)]
struct CertificateView {
    certificate: register::CertificateRecord,
    certificate_pem: String,
    history: Vec<register::CertificateEvent>,
}

/// `GET /ca/certificates/{serial}`: one certificate with its history (CSP 9.2).
pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    serial: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    caller.0.require(&OFFICERS)?;
    let serial: Serial = serial.parse()?;
    let pool = state.pool.clone();
    let view = blocking(move || {
        let mut conn = pool.get()?;
        let certificate = register::find(&mut conn, &serial)?;
        let history = register::events(&mut conn, &serial)?;
        Ok(CertificateView {
            certificate_pem: certificate_pem(&certificate.der)?,
            certificate,
            history,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
