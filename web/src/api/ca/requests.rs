//! Requests between the CA's officers (CSP 13.3): the registration officer files a request to
//! issue, suspend, restore or revoke; the certificate officer carries it out or rejects it with
//! a reason (CSP 3.7). The same core operations as `/ui/ca`; the roles are checked there.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use mubadile_core::Error;
use mubadile_core::accounts::Role;
use mubadile_core::ca::profiles::Enrollment;
use mubadile_core::ca::requests::{RequestParts, Requested};
use serde::Deserialize;

use super::issue::{Generate, IssuedView, key_source};
use crate::auth::Caller;
use crate::problem::{Problem, blocking};
use crate::state::AppState;

/// Body of `POST /ca/requests`: the kind, and what that kind needs.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileBody {
    /// `issue`, `suspend`, `restore` or `revoke`.
    kind: String,
    /// An issuance's holder data, with its `profile`.
    #[serde(default)]
    enrollment: Option<Enrollment>,
    /// An issuance: the holder consents to public lookup (CSP 2.3).
    #[serde(default)]
    public_consent: bool,
    /// A status change's certificate (hex serial).
    #[serde(default)]
    serial: Option<String>,
    /// A revocation's reason (RFC 5280 name).
    #[serde(default)]
    reason: Option<String>,
    /// A revocation: since when the key is known or suspected to be compromised.
    #[serde(default)]
    invalidity_date: Option<DateTime<Utc>>,
    /// What the registration officer checked (e.g. the identity document).
    #[serde(default)]
    note: Option<String>,
}

impl FileBody {
    fn requested(&self) -> Result<Requested, Error> {
        Requested::from_parts(RequestParts {
            kind: &self.kind,
            enrollment: self.enrollment.clone(),
            public_consent: self.public_consent,
            serial: self.serial.as_deref(),
            reason: self.reason.as_deref(),
            invalidity_date: self.invalidity_date,
        })
    }
}

/// `POST /ca/requests` (registration officer).
pub async fn file(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<FileBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let requested = body.requested()?;
    let ca = state.ca.clone();
    let filed =
        blocking(move || ca.file_request(&caller.0, &requested, body.note.as_deref())).await?;
    Ok(HttpResponse::Created().json(filed))
}

/// Query of `GET /ca/requests`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `pending` (the default) or `all` (the latest hundred of any status).
    #[serde(default)]
    status: Option<String>,
}

/// `GET /ca/requests` (registration and certificate officers), newest first.
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, Problem> {
    let pending_only = match query.status.as_deref() {
        None | Some("pending") => true,
        Some("all") => false,
        Some(other) => {
            return Err(Error::invalid("status", format!("{other:?}: use pending or all")).into());
        }
    };
    let ca = state.ca.clone();
    let requests = blocking(move || ca.requests(&caller.0, pending_only)).await?;
    Ok(HttpResponse::Ok().json(requests))
}

/// `GET /ca/requests/{id}`.
pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let ca = state.ca.clone();
    let request = blocking(move || ca.request(&caller.0, &id)).await?;
    Ok(HttpResponse::Ok().json(request))
}

/// Body of `POST /ca/requests/{id}/carry-out`: for an issuance, where the key comes from.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CarryOutBody {
    /// The holder's PKCS#10 request, PEM.
    #[serde(default)]
    csr_pem: Option<String>,
    /// Or: a key generated at the centre.
    #[serde(default)]
    generate: Option<Generate>,
}

/// `POST /ca/requests/{id}/carry-out` (certificate officer): an issuance answers as
/// `POST /ca/certificates` does (201), a status change with the register entry (200).
pub async fn carry_out(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Option<web::Json<CarryOutBody>>,
) -> Result<HttpResponse, Problem> {
    let body = body.map(|b| b.into_inner()).unwrap_or_default();
    let ca = state.ca.clone();
    let (actor, id) = (caller.0, id.into_inner());
    // Who asks is answered before what is sent (the core checks the role again).
    actor.require(&[Role::CertificateOfficer])?;
    let request = {
        let (ca, actor, id) = (ca.clone(), actor.clone(), id.clone());
        blocking(move || ca.request(&actor, &id)).await?
    };
    if request.kind == "issue" {
        let key = key_source(body.csr_pem, body.generate)?;
        let issued = blocking(move || ca.carry_out_issuance(&actor, &id, key)).await?;
        return Ok(HttpResponse::Created().json(IssuedView::of(issued)?));
    }
    if body.csr_pem.is_some() || body.generate.is_some() {
        return Err(Error::invalid(
            "request",
            format!("a {} request takes no key: send no body", request.kind),
        )
        .into());
    }
    let record = blocking(move || ca.carry_out_change(&actor, &id)).await?;
    Ok(HttpResponse::Ok().json(record))
}

/// Body of `POST /ca/requests/{id}/rejection`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectionBody {
    /// Why (CSP 3.7), told to the registration officer.
    reason: String,
}

/// `POST /ca/requests/{id}/rejection` (certificate officer).
pub async fn reject(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<RejectionBody>,
) -> Result<HttpResponse, Problem> {
    let ca = state.ca.clone();
    let reason = body.into_inner().reason;
    let rejected = blocking(move || ca.reject_request(&caller.0, &id, &reason)).await?;
    Ok(HttpResponse::Ok().json(rejected))
}
