//! `POST /api/v1/ca/crls`: publish new CRLs now.

use actix_web::{HttpResponse, web};

use crate::auth::Caller;
use crate::problem::{Problem, blocking};
use crate::state::AppState;

/// Publishes full and delta CRLs of every CA.
pub async fn publish(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, Problem> {
    let ca = state.ca.clone();
    let published = blocking(move || ca.publish_crls(&caller.0, "published by an officer")).await?;
    Ok(HttpResponse::Ok().json(published))
}
