//! Suspend, restore, revoke and report a compromise (CSP 4.1–4.3, GOV 4.2).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use mubadile_core::accounts::Actor;
use mubadile_core::ca::authority::CertificateAuthority;
use mubadile_core::ca::reason::RevocationReason;
use mubadile_core::ca::register::{CertificateRecord, Serial};
use serde::Deserialize;

use crate::auth::Caller;
use crate::problem::{Problem, blocking};
use crate::state::AppState;

/// Body of suspend and restore.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    #[serde(default)]
    note: Option<String>,
}

/// Body of revoke.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeBody {
    reason: String,
    #[serde(default)]
    invalidity_date: Option<DateTime<Utc>>,
    #[serde(default)]
    note: Option<String>,
}

/// Body of a compromise report.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompromiseBody {
    description: String,
}

/// `POST /certificates/{serial}/suspend`.
pub async fn suspend(
    state: web::Data<AppState>,
    caller: Caller,
    serial: web::Path<String>,
    body: Option<web::Json<NoteBody>>,
) -> Result<HttpResponse, Problem> {
    hold(state, caller, serial, body, CertificateAuthority::suspend).await
}

/// `POST /certificates/{serial}/restore`.
pub async fn restore(
    state: web::Data<AppState>,
    caller: Caller,
    serial: web::Path<String>,
    body: Option<web::Json<NoteBody>>,
) -> Result<HttpResponse, Problem> {
    hold(state, caller, serial, body, CertificateAuthority::restore).await
}

type HoldChange = fn(
    &CertificateAuthority,
    &Actor,
    &Serial,
    Option<&str>,
) -> mubadile_core::Result<CertificateRecord>;

/// Suspension and restoration take the same input and answer alike.
async fn hold(
    state: web::Data<AppState>,
    caller: Caller,
    serial: web::Path<String>,
    body: Option<web::Json<NoteBody>>,
    change: HoldChange,
) -> Result<HttpResponse, Problem> {
    let serial: Serial = serial.parse()?;
    let note = body.map(|b| b.into_inner()).unwrap_or_default().note;
    let ca = state.ca.clone();
    let record = blocking(move || change(&ca, &caller.0, &serial, note.as_deref())).await?;
    Ok(HttpResponse::Ok().json(record))
}

/// `POST /certificates/{serial}/revoke`.
pub async fn revoke(
    state: web::Data<AppState>,
    caller: Caller,
    serial: web::Path<String>,
    body: web::Json<RevokeBody>,
) -> Result<HttpResponse, Problem> {
    let serial: Serial = serial.parse()?;
    let body = body.into_inner();
    let reason: RevocationReason = body.reason.parse()?;
    let ca = state.ca.clone();
    let record = blocking(move || {
        ca.revoke(
            &caller.0,
            &serial,
            reason,
            body.invalidity_date,
            body.note.as_deref(),
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(record))
}

/// `POST /certificates/{serial}/compromise`.
pub async fn compromise(
    state: web::Data<AppState>,
    caller: Caller,
    serial: web::Path<String>,
    body: web::Json<CompromiseBody>,
) -> Result<HttpResponse, Problem> {
    let serial: Serial = serial.parse()?;
    let ca = state.ca.clone();
    let description = body.into_inner().description;
    let record = blocking(move || ca.report_compromise(&caller.0, &serial, &description)).await?;
    Ok(HttpResponse::Ok().json(record))
}
