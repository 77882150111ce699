//! `GET /ui/outbox`: what the organisation sent, newest first, one row per addressee with the
//! delivery's status (acknowledged, refused, overdue, not sent, EDE 4.3–4.6).

use actix_web::{HttpResponse, web};

use super::{Direction, ListQuery, list};
use crate::state::AppState;
use crate::ui::UiError;
use crate::ui::session::SignedIn;

/// The outbox page.
pub async fn outbox(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, UiError> {
    list(state, signed_in, query.into_inner(), Direction::Sent).await
}
