//! The recipient's side of a signed-receipt agreement (EDE 4.5, 5.4):
//! `GET /api/v1/documents/{id}/receipt-draft` answers the receipt to sign;
//! `POST /api/v1/documents/{id}/receipt` takes the detached CAdES signature over it (DER, or
//! PEM); `POST /api/v1/documents/{id}/refusal` with `{"reason": …}` refuses the document.

use actix_web::{HttpResponse, web};
use mubadile_api_json::documents::RefusalBody;
use mubadile_core::Error;

use crate::auth::{Party, REGISTRARS};
use crate::problem::{Problem, blocking};
use crate::state::AppState;

/// The receipt to sign, the same bytes every time.
pub async fn draft(
    state: web::Data<AppState>,
    party: Party,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let organisation = party.acting_for(REGISTRARS)?;
    let exchange = state.exchange.clone();
    let bytes = blocking(move || exchange.receipt_draft(&organisation, &id)).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(bytes))
}

/// Records the signed receipt.
pub async fn acknowledge(
    state: web::Data<AppState>,
    party: Party,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let organisation = party.acting_for(REGISTRARS)?;
    if body.is_empty() {
        return Err(Error::invalid(
            "receipt signature",
            "the body is empty; send the detached CAdES signature over the receipt draft",
        )
        .into());
    }
    let signature = mubadile_core::ca::csr::pem_or_der(&body, "CMS")
        .or_else(|_| mubadile_core::ca::csr::pem_or_der(&body, "PKCS7"))?;
    let exchange = state.exchange.clone();
    let view = blocking(move || exchange.acknowledge(&organisation, &id, &signature)).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Refuses the document as defective.
pub async fn refuse(
    state: web::Data<AppState>,
    party: Party,
    id: web::Path<String>,
    body: web::Json<RefusalBody>,
) -> Result<HttpResponse, Problem> {
    let organisation = party.acting_for(REGISTRARS)?;
    let exchange = state.exchange.clone();
    let view = blocking(move || exchange.refuse(&organisation, &id, &body.reason)).await?;
    Ok(HttpResponse::Ok().json(view))
}
