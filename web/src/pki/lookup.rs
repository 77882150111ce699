//! `GET /pki/certificates?serial=…` or `?holder_id=…`: public lookup of certificates whose holders
//! consented (CSP 2.3, 5.1–5.3).

use actix_web::{HttpResponse, web};
use mubadile_core::ca::register::{self, Serial};
use serde::Deserialize;

use crate::problem::{Problem, blocking};
use crate::state::AppState;

/// The query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupQuery {
    #[serde(default)]
    serial: Option<String>,
    #[serde(default)]
    holder_id: Option<String>,
}

/// Answers the lookup.
pub async fn lookup(
    state: web::Data<AppState>,
    query: web::Query<LookupQuery>,
) -> Result<HttpResponse, Problem> {
    let query = query.into_inner();
    let serial = query
        .serial
        .as_deref()
        .map(str::parse::<Serial>)
        .transpose()?;
    let pool = state.pool.clone();
    let rows = blocking(move || {
        let mut conn = pool.get()?;
        register::public_lookup(&mut conn, serial.as_ref(), query.holder_id.as_deref())
    })
    .await?;
    Ok(HttpResponse::Ok().json(rows))
}
