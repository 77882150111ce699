//! `GET /ui/inbox`: what the organisation received, newest first, each delivery's status and
//! verification result at a glance.

use actix_web::{HttpResponse, web};

use super::{Direction, ListQuery, list};
use crate::state::AppState;
use crate::ui::UiError;
use crate::ui::session::SignedIn;

/// The inbox page.
pub async fn inbox(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, UiError> {
    list(state, signed_in, query.into_inner(), Direction::Received).await
}
