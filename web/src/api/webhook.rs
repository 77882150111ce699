//! `PUT /api/v1/webhook` with `{"url": …}`: where the caller's organisation receives signed
//! notices of arrivals, receipts, refusals and deadlines. Answers the new signing secret once;
//! every call replaces the secret. `docs/exchange.md` explains how to check the signature.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::auth::Agent;
use crate::problem::{Problem, blocking};
use crate::state::AppState;

/// The request body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    url: String,
}

#[derive(Serialize)]
struct WebhookAnswer {
    url: String,
    secret: String,
}

/// Sets the webhook.
pub async fn set(
    state: web::Data<AppState>,
    Agent(client): Agent,
    body: web::Json<WebhookBody>,
) -> Result<HttpResponse, Problem> {
    let pool = state.pool.clone();
    let url = body.into_inner().url;
    let answer = blocking(move || {
        let mut conn = pool.get()?;
        let secret =
            mubadile_core::notify::webhook::set_webhook(&mut conn, &client.organisation_id, &url)?;
        Ok(WebhookAnswer { url, secret })
    })
    .await?;
    Ok(HttpResponse::Ok().json(answer))
}
