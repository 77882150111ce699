//! `GET /api/v1/inbox?after=CURSOR&limit=N`: what the caller's organisation received, in the
//! order its incoming journal recorded it. `next` is the cursor to pass as `after` next time;
//! a poller that always resumes from it misses nothing and sees nothing twice.

use actix_web::{HttpResponse, web};

use crate::api::{CursorQuery, Page};
use crate::auth::{Party, READERS};
use crate::problem::{Problem, blocking};
use crate::state::AppState;

/// A page of the inbox.
pub async fn inbox(
    state: web::Data<AppState>,
    party: Party,
    query: web::Query<CursorQuery>,
) -> Result<HttpResponse, Problem> {
    let organisation = party.acting_for(READERS)?;
    let exchange = state.exchange.clone();
    let CursorQuery { after, limit } = query.into_inner();
    let items = blocking(move || exchange.inbox(&organisation, after, limit)).await?;
    let next = items.last().map_or(after, |i| i.cursor);
    Ok(HttpResponse::Ok().json(Page { items, next }))
}
