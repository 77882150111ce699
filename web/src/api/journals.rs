//! The caller's registration journals (EDE 6): `GET /api/v1/journals/{outgoing|incoming}` reads
//! entries after a cursor, `GET /api/v1/journals/{…}/verification` checks the whole hash chain
//! and the latest signed checkpoint, and answers the head, or a `journal_tampered` problem naming
//! the first broken entry; `GET /api/v1/journals/{…}/entries/{seq}/proof` answers one entry's
//! inclusion proof in the earliest signed checkpoint covering it.

use actix_web::{HttpResponse, web};
use mubadile_core::journal::{self, Journal};

use crate::api::{CursorQuery, Page};
use crate::auth::{KEEPERS, Party};
use crate::problem::{Problem, blocking};
use crate::state::AppState;

/// Registers the routes (inside `/api/v1`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/journals/{journal}", web::get().to(entries))
        .route(
            "/journals/{journal}/verification",
            web::get().to(verification),
        )
        .route(
            "/journals/{journal}/entries/{seq}/proof",
            web::get().to(proof),
        );
}

async fn entries(
    state: web::Data<AppState>,
    party: Party,
    name: web::Path<String>,
    query: web::Query<CursorQuery>,
) -> Result<HttpResponse, Problem> {
    let organisation = party.acting_for(KEEPERS)?;
    let which = Journal::parse(&name)?;
    let CursorQuery { after, limit } = query.into_inner();
    let pool = state.pool.clone();
    let items = blocking(move || {
        let mut conn = pool.get()?;
        journal::entries(&mut conn, &organisation, which, after, limit)
    })
    .await?;
    let next = items.last().map_or(after, |e| e.seq);
    Ok(HttpResponse::Ok().json(Page { items, next }))
}

async fn verification(
    state: web::Data<AppState>,
    party: Party,
    name: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let organisation = party.acting_for(KEEPERS)?;
    let which = Journal::parse(&name)?;
    let exchange = state.exchange.clone();
    let verified = blocking(move || exchange.verify_journal(&organisation, which)).await?;
    Ok(HttpResponse::Ok().json(verified))
}

async fn proof(
    state: web::Data<AppState>,
    party: Party,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, Problem> {
    let organisation = party.acting_for(KEEPERS)?;
    let (name, seq) = path.into_inner();
    let which = Journal::parse(&name)?;
    let exchange = state.exchange.clone();
    let proof = blocking(move || exchange.inclusion_proof(&organisation, which, seq)).await?;
    Ok(HttpResponse::Ok().json(proof))
}
