//! Two-step external signing over REST (DESIGN.md "Signing flows"): `POST
//! /api/v1/signatures/prepare` answers the data the holder's own token must sign and a session;
//! `POST /api/v1/signatures/finish` takes the session and the signature value and answers the
//! signed document. The holder's private key never reaches the platform. `POST
//! /api/v1/signatures/extend` raises a signed document to B-T or B-LT.

use actix_web::{HttpResponse, web};
use base64::Engine;
use mubadile_api_json::signatures::{ExtendBody, FinishBody, PrepareBody};
use mubadile_core::Error;
use mubadile_core::pki::read_certificates;
use mubadile_core::signing::SignatureOptions;
use mubadile_core::signing::extend::{self, Level};
use mubadile_core::signing::external::{self, SigningSession};
use mubadile_core::validation::PlatformValidation;
use mubadile_plugin_api::SignTarget;
use serde::Serialize;

use crate::auth::Caller;
use crate::problem::{Problem, blocking};
use crate::state::AppState;

/// The signed document.
#[derive(Serialize)]
pub struct Signed {
    #[serde(with = "mubadile_core::serde_base64")]
    document: Vec<u8>,
    media_type: String,
    signature_count: usize,
}

/// Step one.
pub async fn prepare(
    state: web::Data<AppState>,
    _caller: Caller,
    body: web::Json<PrepareBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let validation = state.validation.clone();
    let preparation = blocking(move || {
        let certificate = one_certificate(&body.certificate, "certificate")?;
        let chain = match &body.chain {
            Some(given) => given
                .iter()
                .map(|c| one_certificate(c, "chain"))
                .collect::<Result<Vec<_>, _>>()?,
            None => validation.chain_for(&certificate)?,
        };
        let validator = &validation.validator;
        let (plugin, target) = match (body.content, body.document) {
            (Some(content), None) => (
                validator.plugin_named(body.format.as_deref().unwrap_or("cms"))?,
                SignTarget::New {
                    content,
                    attached: body.attached.unwrap_or(true),
                },
            ),
            (None, Some(document)) => {
                let (plugin, _) = validator.plugin_for(&document)?;
                let target = match body.counter_sign {
                    Some(signature) => SignTarget::Counter {
                        document,
                        signature,
                    },
                    None => SignTarget::Parallel {
                        document,
                        detached_content: body.detached_content,
                    },
                };
                (plugin, target)
            }
            _ => {
                return Err(Error::invalid(
                    "body",
                    "give either `content` (a new signature) or `document` (a parallel signature, \
                     or a counter-signature with `counter_sign`)",
                ));
            }
        };
        external::prepare(
            plugin.as_ref(),
            target,
            &certificate,
            &chain,
            mubadile_core::time::now(),
            SignatureOptions {
                appearance: body.appearance,
                certify: body.certify,
                field: body.field,
            },
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(preparation))
}

/// Step two.
pub async fn finish(
    state: web::Data<AppState>,
    _caller: Caller,
    body: web::Json<FinishBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let validation = state.validation.clone();
    let signed = blocking(move || {
        let session = SigningSession::decode(&body.session)?;
        let plugin = validation.validator.plugin_named(session.plugin())?;
        let document = external::finish(
            plugin.as_ref(),
            &session,
            &body.signature_value,
            mubadile_core::time::now(),
        )?;
        signed(&validation, document)
    })
    .await?;
    Ok(HttpResponse::Ok().json(signed))
}

/// Raises every signature of a document to B-T or B-LT, timestamped by the embedded TSA.
pub async fn extend(
    state: web::Data<AppState>,
    _caller: Caller,
    body: web::Json<ExtendBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let validation = state.validation.clone();
    let ca = state.ca.clone();
    let signed = blocking(move || {
        let level: Level = body.level.parse()?;
        let document = extend::extend(
            &validation.validator,
            &validation.anchors,
            ca.as_ref(),
            &body.document,
            body.detached_content.as_deref(),
            level,
        )?;
        signed(&validation, document)
    })
    .await?;
    Ok(HttpResponse::Ok().json(signed))
}

fn signed(validation: &PlatformValidation, document: Vec<u8>) -> Result<Signed, Error> {
    let (_, description) = validation.validator.plugin_for(&document)?;
    Ok(Signed {
        document,
        media_type: description.media_type,
        signature_count: description.signature_count,
    })
}

/// One certificate given as PEM or base64 DER.
fn one_certificate(text: &str, what: &'static str) -> Result<Vec<u8>, Error> {
    let bytes = if text.trim_start().starts_with("-----BEGIN") {
        text.as_bytes().to_vec()
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| Error::invalid(what, "give a PEM certificate or base64 DER"))?
    };
    let mut certificates = read_certificates(&bytes, what)?;
    match certificates.len() {
        1 => Ok(certificates.remove(0)),
        n => Err(Error::invalid(
            what,
            format!("expected one certificate, found {n}"),
        )),
    }
}
