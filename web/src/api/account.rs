//! `POST /api/v1/account/password`: replace one's own password (the one-time password first).

use actix_web::{HttpRequest, HttpResponse, web};
use mubadile_core::accounts::change_password as change;
use serde::Deserialize;

use crate::auth::{Caller, basic_credentials};
use crate::problem::{Problem, blocking};
use crate::state::AppState;

/// The body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    new_password: String,
}

/// Checks the current password (HTTP Basic) and sets the new one.
pub async fn change_password(
    state: web::Data<AppState>,
    request: HttpRequest,
    _caller: Caller,
    body: web::Json<PasswordBody>,
) -> Result<HttpResponse, Problem> {
    // The extractor authenticated the caller; the current password is needed again to re-hash.
    let (user, current) = basic_credentials(&request)?;
    let pool = state.pool.clone();
    let new = body.into_inner().new_password;
    blocking(move || {
        let mut conn = pool.get()?;
        change(&mut conn, &user, &current, &new)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
