//! `POST /api/v1/documents`: sends a signed document to one or more organisations (EDE 4.1–4.2).
//!
//! The message id comes from the body or from the `Idempotency-Key` header: sending it again
//! answers the first result with `200` instead of `201` and never registers a second document
//! (EDE 4.3.3).

use actix_web::{HttpRequest, HttpResponse, web};
use mubadile_api_json::documents::SendBody;
use mubadile_core::Error;
use mubadile_core::exchange::{OrganisationId, Outgoing, SendingParty};

use crate::auth::{Party, SENDERS};
use crate::problem::{Problem, blocking};
use crate::state::AppState;

/// Sends the document in the body.
pub async fn send(
    state: web::Data<AppState>,
    party: Party,
    request: HttpRequest,
    body: web::Json<SendBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let header = request
        .headers()
        .get("Idempotency-Key")
        .map(|v| {
            v.to_str()
                .map(str::to_string)
                .map_err(|_| Error::invalid("Idempotency-Key", "must be visible ASCII"))
        })
        .transpose()?;
    let message_id = match (body.message_id, header) {
        (Some(a), Some(b)) if a != b => {
            return Err(Error::invalid(
                "message id",
                "the body's message_id and the Idempotency-Key header differ; send one of them",
            )
            .into());
        }
        (Some(id), _) | (None, Some(id)) => id,
        (None, None) => {
            return Err(Error::invalid(
                "message id",
                "give message_id in the body or an Idempotency-Key header, so that a retried request is never registered twice",
            )
            .into());
        }
    };
    let addressees = body
        .addressees
        .iter()
        .map(|a| OrganisationId::parse(a))
        .collect::<Result<Vec<_>, _>>()?;
    let outgoing = Outgoing {
        message_id,
        kind: body.kind,
        title: body.title,
        category: body.category,
        addressees,
        registration_number: body.registration_number,
        optional: body.optional,
        document: body.document.into(),
        attachments: body.attachments.into_iter().map(Into::into).collect(),
        receipt_term_hours: body.receipt_term_hours,
    };
    let party = SendingParty {
        organisation: party.acting_for(SENDERS)?,
        actor: party.actor_id(),
        kind: party.sender_kind()?,
    };
    let exchange = state.exchange.clone();
    let sent = blocking(move || exchange.send(&party, &outgoing)).await?;
    if sent.repeated {
        return Ok(HttpResponse::Ok().json(sent));
    }
    state.deliveries.notify_one();
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/documents/{}", sent.id)))
        .json(sent))
}
