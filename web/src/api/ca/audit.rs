//! The audit log, for the security officer (CSP 13.3).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
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
    action: Option<String>,
    #[serde(default)]
    from: Option<DateTime<Utc>>,
    #[serde(default)]
    until: Option<DateTime<Utc>>,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    before: Option<i64>,
}

/// `GET /ca/audit?actor=&action=&from=&until=&before=&limit=`: entries, newest first; `action`
/// matches a prefix (`certificate.`), `from` and `until` are RFC 3339 moments.
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
            &audit::AuditQuery {
                actor: q.actor,
                action: q.action,
                from: q.from,
                until: q.until,
                before_seq: q.before,
                limit: q.limit.unwrap_or(100),
            },
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
