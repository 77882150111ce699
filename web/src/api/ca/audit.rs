//! The audit log, for the security officer (CSP 13.3).

use actix_web::{HttpResponse, web};
use mubadile_core::accounts::Role;
use mubadile_core::ca::audit;
use serde::Deserialize;

use crate::auth::Caller;
use crate::problem::{Problem, blocking};
use crate::state::AppState;

/// Query of `GET /ca/audit`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    #[serde(default)]
    actor: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    before: Option<i64>,
}

/// `GET /ca/audit`: entries, newest first.
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, Problem> {
    caller.0.require(&[Role::SecurityOfficer])?;
    let pool = state.pool.clone();
    let q = query.into_inner();
    let rows = blocking(move || {
        let mut conn = pool.get()?;
        audit::list(
            &mut conn,
            q.actor.as_deref(),
            q.limit.unwrap_or(100),
            q.before,
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// `GET /ca/audit/verify`: checks the whole hash chain.
pub async fn verify(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, Problem> {
    caller.0.require(&[Role::SecurityOfficer])?;
    let pool = state.pool.clone();
    let entries = blocking(move || {
        let mut conn = pool.get()?;
        audit::verify(&mut conn)
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "intact": true, "entries": entries })))
}
