//! Signing a draft, by the signer whose turn it is (GOV 2.5, CSP 14.3):
//! - `POST /ui/drafts/{id}/signature`: with the key carrier they hold (PKCS#12) and the PIN or
//!   password that opens it; the carrier is read from the form into memory, opened for this one
//!   signature and dropped; nothing of it is stored or logged;
//! - the two-step flow for a key that never leaves its token, without any script:
//!   `POST …/preparation` with their certificate, `GET …/to-be-signed` to download the data to
//!   sign (e.g. `openssl dgst -sha256 -sign`), `POST …/signature-value` to upload the value.
//!
//! Each is the core's `Exchange::sign_draft_with_key_carrier`, `prepare_draft_signature` and
//! `finish_draft_signature`, the same prepare/finish as `POST /api/v1/signatures/…`.

use actix_multipart::form::MultipartForm;
use actix_multipart::form::bytes::Bytes;
use actix_multipart::form::text::Text;
use actix_web::{HttpResponse, web};
use mubadile_core::Error;
use mubadile_core::pki::read_certificates;

use super::uploaded;
use crate::problem::blocking;
use crate::state::AppState;
use crate::ui::UiError;
use crate::ui::documents::download::attachment;
use crate::ui::session::{SignedIn, see_other};

/// The key carrier form.
#[derive(MultipartForm)]
pub struct KeyCarrierForm {
    csrf: Text<String>,
    carrier: Option<Bytes>,
    pin: Text<String>,
}

/// Signs with the uploaded key carrier.
pub async fn with_key_carrier(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<String>,
    form: MultipartForm<KeyCarrierForm>,
) -> Result<HttpResponse, UiError> {
    let form = form.into_inner();
    signed_in
        .check_csrf(&form.csrf)
        .map_err(|e| signed_in.fail(e))?;
    let carrier = uploaded(form.carrier).ok_or_else(|| {
        signed_in.fail(Error::invalid(
            "key carrier",
            "choose the file of your key carrier (.p12 or .pfx)",
        ))
    })?;
    let pin = form.pin.into_inner();
    if pin.is_empty() {
        return Err(signed_in.fail(Error::invalid(
            "key carrier password",
            "type the PIN or password of your key carrier",
        )));
    }
    let exchange = state.exchange.clone();
    let actor = signed_in.actor.clone();
    let id = id.into_inner();
    let draft = id.clone();
    blocking(move || exchange.sign_draft_with_key_carrier(&actor, &draft, &carrier.data, &pin))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    Ok(see_other(&format!("/ui/drafts/{id}?done=signed")))
}

/// The certificate form of the two-step flow.
#[derive(MultipartForm)]
pub struct CertificateForm {
    csrf: Text<String>,
    certificate: Option<Bytes>,
}

/// Step one: prepares the signature for the uploaded certificate (PEM or DER).
pub async fn prepare(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<String>,
    form: MultipartForm<CertificateForm>,
) -> Result<HttpResponse, UiError> {
    let form = form.into_inner();
    signed_in
        .check_csrf(&form.csrf)
        .map_err(|e| signed_in.fail(e))?;
    let file = uploaded(form.certificate).ok_or_else(|| {
        signed_in.fail(Error::invalid(
            "certificate",
            "choose the file of your signing certificate (.pem, .cer or .der)",
        ))
    })?;
    let certificate = read_certificates(&file.data, "certificate")
        .ok()
        .and_then(|mut all| (!all.is_empty()).then(|| all.remove(0)))
        .ok_or_else(|| {
            signed_in.fail(Error::invalid(
                "certificate",
                "the file holds no X.509 certificate in PEM or DER",
            ))
        })?;
    let exchange = state.exchange.clone();
    let actor = signed_in.actor.clone();
    let id = id.into_inner();
    let draft = id.clone();
    blocking(move || exchange.prepare_draft_signature(&actor, &draft, &certificate))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    Ok(see_other(&format!(
        "/ui/drafts/{id}?done=prepared#two-step"
    )))
}

/// The data to be signed of the prepared signature, as a file.
pub async fn to_be_signed(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let exchange = state.exchange.clone();
    let actor = signed_in.actor.clone();
    let id = id.into_inner();
    let name = format!("to-be-signed-{id}.bin");
    let data = blocking(move || exchange.draft_data_to_be_signed(&actor, &id))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    Ok(attachment("application/octet-stream", &name, data))
}

/// The signature value form of the two-step flow.
#[derive(MultipartForm)]
pub struct ValueForm {
    csrf: Text<String>,
    value: Option<Bytes>,
}

/// Step two: inserts the uploaded signature value (DER, or r‖s for ECDSA; raw bytes, or
/// their base64).
pub async fn finish(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<String>,
    form: MultipartForm<ValueForm>,
) -> Result<HttpResponse, UiError> {
    let form = form.into_inner();
    signed_in
        .check_csrf(&form.csrf)
        .map_err(|e| signed_in.fail(e))?;
    let file = uploaded(form.value).ok_or_else(|| {
        signed_in.fail(Error::invalid(
            "signature value",
            "choose the file your token wrote the signature value to",
        ))
    })?;
    let value = signature_value(&file.data);
    let exchange = state.exchange.clone();
    let actor = signed_in.actor.clone();
    let id = id.into_inner();
    let draft = id.clone();
    blocking(move || exchange.finish_draft_signature(&actor, &draft, &value))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    Ok(see_other(&format!("/ui/drafts/{id}?done=signed")))
}

/// The value as uploaded: raw bytes, or base64 text of them (the core refuses a value that
/// does not verify, so a wrong guess never goes in).
fn signature_value(data: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let text = std::str::from_utf8(data).ok().map(|t| {
        t.chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect::<String>()
    });
    text.and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok())
        .filter(|decoded| !decoded.is_empty())
        .unwrap_or_else(|| data.to_vec())
}
