//! `GET /api/v1/ca/statistics?year=&quarter=`: the quarterly statistics (CSP 3.14).

use actix_web::{HttpResponse, web};
use mubadile_core::accounts::Role;
use mubadile_core::ca::statistics;
use serde::Deserialize;

use crate::auth::Caller;
use crate::problem::{Problem, blocking};
use crate::state::AppState;

/// The query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuarterQuery {
    year: i32,
    quarter: u32,
}

/// Computes the statistics.
pub async fn quarterly(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<QuarterQuery>,
) -> Result<HttpResponse, Problem> {
    caller.0.require(&[
        Role::CertificateOfficer,
        Role::SecurityOfficer,
        Role::SystemAdministrator,
    ])?;
    let pool = state.pool.clone();
    let q = query.into_inner();
    let stats = blocking(move || {
        let mut conn = pool.get()?;
        statistics::quarterly(&mut conn, q.year, q.quarter)
    })
    .await?;
    Ok(HttpResponse::Ok().json(stats))
}
