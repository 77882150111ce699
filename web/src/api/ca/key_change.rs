//! Changing an issuing CA's key (CSP 4.4).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use mubadile_core::ca::key_change::KeyChange;
use serde::Deserialize;

use crate::auth::Caller;
use crate::problem::{Problem, blocking};
use crate::state::AppState;

/// Body of a key change: empty for a planned one, a description for a compromise.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct KeyChangeBody {
    /// What happened to the key, when it is compromised.
    #[serde(default)]
    compromise: Option<String>,
    /// Since when the key is known or suspected to be compromised.
    #[serde(default)]
    invalidity_date: Option<DateTime<Utc>>,
}

/// `POST /authorities/{label}/key-change`.
pub async fn change_key(
    state: web::Data<AppState>,
    caller: Caller,
    label: web::Path<String>,
    body: Option<web::Json<KeyChangeBody>>,
) -> Result<HttpResponse, Problem> {
    let body = body.map(|b| b.into_inner()).unwrap_or_default();
    let change = match body.compromise {
        Some(description) => KeyChange::Compromise {
            description,
            invalidity_date: body.invalidity_date,
        },
        None => KeyChange::Planned,
    };
    let ca = state.ca.clone();
    let outcome = blocking(move || ca.change_key(&caller.0, &label, &change)).await?;
    Ok(HttpResponse::Ok().json(outcome))
}
