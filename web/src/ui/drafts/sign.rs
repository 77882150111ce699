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
//!
//! On a PDF either form may ask for a visible stamp (issue 5): the page and the place in
//! millimetres from the lower left corner of the page as it is shown, turned into the points
//! of the core's `SignatureAppearance`. The core refuses a page out of range or a box too
//! small for the text. Whatever the key carrier or the certificate form is refused for is
//! shown on the draft's page, above its forms, in the core's words.

use actix_multipart::form::MultipartForm;
use actix_multipart::form::bytes::Bytes;
use actix_multipart::form::text::Text;
use actix_web::{HttpResponse, web};
use mubadile_core::Error;
use mubadile_core::pki::read_certificates;
use mubadile_plugin_api::SignatureAppearance;

use super::{show, uploaded};
use crate::problem::blocking;
use crate::state::AppState;
use crate::ui::UiError;
use crate::ui::documents::download::attachment;
use crate::ui::session::{SignedIn, see_other};

/// The [`StampFields`] of a signing form: both forms have the same `stamp*` fields, which
/// `MultipartForm` cannot gather into one nested struct.
macro_rules! stamp_fields {
    ($form:expr) => {
        StampFields {
            on: &$form.stamp,
            page: &$form.stamp_page,
            x: &$form.stamp_x,
            y: &$form.stamp_y,
            width: &$form.stamp_width,
            height: &$form.stamp_height,
        }
    };
}

/// The key carrier form.
#[derive(MultipartForm)]
pub struct KeyCarrierForm {
    csrf: Text<String>,
    carrier: Option<Bytes>,
    pin: Text<String>,
    stamp: Option<Text<String>>,
    stamp_page: Option<Text<String>>,
    stamp_x: Option<Text<String>>,
    stamp_y: Option<Text<String>>,
    stamp_width: Option<Text<String>>,
    stamp_height: Option<Text<String>>,
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
    let id = id.into_inner();
    let signed = sign_with_key_carrier(&state, &signed_in, &id, form).await;
    match signed {
        Ok(()) => Ok(see_other(&format!("/ui/drafts/{id}?done=signed"))),
        Err(e) => show::with_error(state, signed_in, id, e).await,
    }
}

/// Reads the key carrier form and has the core sign with it.
async fn sign_with_key_carrier(
    state: &AppState,
    signed_in: &SignedIn,
    id: &str,
    form: KeyCarrierForm,
) -> Result<(), Error> {
    let appearance = stamp(stamp_fields!(form))?;
    let carrier = uploaded(form.carrier).ok_or_else(|| {
        Error::invalid(
            "key carrier",
            "choose the file of your key carrier (.p12 or .pfx)",
        )
    })?;
    let pin = form.pin.into_inner();
    if pin.is_empty() {
        return Err(Error::invalid(
            "key carrier password",
            "type the PIN or password of your key carrier",
        ));
    }
    let exchange = state.exchange.clone();
    let actor = signed_in.actor.clone();
    let draft = id.to_string();
    blocking(move || {
        exchange.sign_draft_with_key_carrier(&actor, &draft, &carrier.data, &pin, appearance)
    })
    .await
    .map_err(|p| p.0)?;
    Ok(())
}

/// The certificate form of the two-step flow.
#[derive(MultipartForm)]
pub struct CertificateForm {
    csrf: Text<String>,
    certificate: Option<Bytes>,
    stamp: Option<Text<String>>,
    stamp_page: Option<Text<String>>,
    stamp_x: Option<Text<String>>,
    stamp_y: Option<Text<String>>,
    stamp_width: Option<Text<String>>,
    stamp_height: Option<Text<String>>,
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
    let id = id.into_inner();
    let prepared = prepare_for_certificate(&state, &signed_in, &id, form).await;
    match prepared {
        Ok(()) => Ok(see_other(&format!(
            "/ui/drafts/{id}?done=prepared#two-step"
        ))),
        Err(e) => show::with_error(state, signed_in, id, e).await,
    }
}

/// Reads the certificate form and has the core prepare the signature for it.
async fn prepare_for_certificate(
    state: &AppState,
    signed_in: &SignedIn,
    id: &str,
    form: CertificateForm,
) -> Result<(), Error> {
    let appearance = stamp(stamp_fields!(form))?;
    let file = uploaded(form.certificate).ok_or_else(|| {
        Error::invalid(
            "certificate",
            "choose the file of your signing certificate (.pem, .cer or .der)",
        )
    })?;
    let certificate = read_certificates(&file.data, "certificate")
        .ok()
        .and_then(|mut all| (!all.is_empty()).then(|| all.remove(0)))
        .ok_or_else(|| {
            Error::invalid(
                "certificate",
                "the file holds no X.509 certificate in PEM or DER",
            )
        })?;
    let exchange = state.exchange.clone();
    let actor = signed_in.actor.clone();
    let draft = id.to_string();
    blocking(move || exchange.prepare_draft_signature(&actor, &draft, &certificate, appearance))
        .await
        .map_err(|p| p.0)?;
    Ok(())
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

/// The stamp fields of a signing form, as sent.
struct StampFields<'a> {
    on: &'a Option<Text<String>>,
    page: &'a Option<Text<String>>,
    x: &'a Option<Text<String>>,
    y: &'a Option<Text<String>>,
    width: &'a Option<Text<String>>,
    height: &'a Option<Text<String>>,
}

/// Points (1/72 inch) in a millimetre.
const POINTS_PER_MM: f64 = 72.0 / 25.4;

/// The visible stamp the form asks for, `None` when its box is not ticked. The place is in
/// millimetres from the lower left corner of the page as it is shown; the core takes points.
/// Whether the page exists and the box holds the text is the core's to say.
fn stamp(fields: StampFields<'_>) -> Result<Option<SignatureAppearance>, Error> {
    if fields.on.as_ref().is_none_or(|on| on.is_empty()) {
        return Ok(None);
    }
    let page = text(fields.page);
    let page = page.parse::<u32>().ok().filter(|p| *p > 0).ok_or_else(|| {
        Error::invalid(
            "stamp page",
            format!("{page:?} is not a page number; pages are counted from 1"),
        )
    })?;
    let x = millimetres("stamp: from the left edge", text(fields.x), false)?;
    let y = millimetres("stamp: from the bottom edge", text(fields.y), false)?;
    let width = millimetres("stamp width", text(fields.width), true)?;
    let height = millimetres("stamp height", text(fields.height), true)?;
    let points = |mm: f64| (mm * POINTS_PER_MM).round() as i32;
    Ok(Some(SignatureAppearance {
        page: Some(page),
        rect: Some([points(x), points(y), points(x + width), points(y + height)]),
        signer_name: None,
        position: None,
        organisation: None,
        registration_number: None,
        registration_date: None,
    }))
}

/// A field's text, trimmed; empty when the form left it out.
fn text(field: &Option<Text<String>>) -> &str {
    field.as_ref().map_or("", |t| t.trim())
}

/// The largest length the form takes, in millimetres (A0's long side is 1189 mm).
const MAX_MM: f64 = 5000.0;

/// A length in millimetres as typed (a decimal comma or point), from 0 (or above 0 when
/// `positive`) to [`MAX_MM`].
fn millimetres(what: &'static str, text: &str, positive: bool) -> Result<f64, Error> {
    let value =
        text.replace(',', ".").parse::<f64>().ok().filter(|v| {
            v.is_finite() && *v <= MAX_MM && if positive { *v > 0.0 } else { *v >= 0.0 }
        });
    value.ok_or_else(|| {
        Error::invalid(
            what,
            format!(
                "{text:?} is not a length in millimetres; type a number {} (e.g. 20 or 12,5)",
                if positive { "above 0" } else { "from 0" }
            ),
        )
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn field(value: &str) -> Option<Text<String>> {
        Some(Text(value.to_string()))
    }

    #[test]
    fn a_stamp_in_millimetres_becomes_a_rectangle_in_points_of_the_page_as_shown() {
        let (on, page) = (field("on"), field("2"));
        let (x, y, width, height) = (field("20"), field("12,7"), field("70"), field("25.4"));
        let fields = StampFields {
            on: &on,
            page: &page,
            x: &x,
            y: &y,
            width: &width,
            height: &height,
        };
        let appearance = stamp(fields).unwrap().unwrap();
        assert_eq!(appearance.page, Some(2));
        // 20 mm = 56.7 pt, 12.7 mm = 36 pt, 90 mm = 255.1 pt, 38.1 mm = 108 pt.
        assert_eq!(appearance.rect, Some([57, 36, 255, 108]));
        assert_eq!(
            appearance.signer_name, None,
            "the core takes it from the certificate"
        );
    }

    #[test]
    fn no_stamp_unless_asked_and_bad_numbers_are_refused_naming_the_field() {
        let none = None;
        let fields = |on, page, width| StampFields {
            on,
            page,
            x: &none,
            y: &none,
            width,
            height: &none,
        };
        assert_eq!(stamp(fields(&none, &none, &none)).unwrap(), None);
        let (on, zero, one) = (field("on"), field("0"), field("1"));
        let error = stamp(fields(&on, &zero, &none)).unwrap_err().to_string();
        assert!(
            error.contains("stamp page") && error.contains("from 1"),
            "{error}"
        );
        let error = stamp(fields(&on, &one, &none)).unwrap_err().to_string();
        assert!(error.contains("from the left edge"), "{error}");
        assert!(millimetres("stamp width", "0", true).is_err());
        assert!(millimetres("stamp width", "-3", false).is_err());
        assert!(millimetres("stamp width", "NaN", false).is_err());
        assert_eq!(millimetres("stamp width", "12,5", true).unwrap(), 12.5);
    }
}
