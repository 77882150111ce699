//! The requests between the officers (CSP 13.3): `GET /ui/ca/requests` lists them for both;
//! the certificate officer opens one (`GET /ui/ca/requests/{id}`) and carries it out —
//! issuance with a key the centre generates, delivered at once as an encrypted PKCS#12 key
//! carrier of which the centre keeps no copy (CSP 3.4, 2.3), or from the holder's PKCS#10
//! request (CSP 3.3); or the suspension, restoration or revocation asked for (CSP 4.1) — or
//! rejects it with a reason (CSP 3.7), and publishes CRLs now (CSP 9.4).

use actix_multipart::form::MultipartForm;
use actix_multipart::form::bytes::Bytes;
use actix_multipart::form::text::Text;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use mubadile_core::Error;
use mubadile_core::ca::lifecycle::KeySource;
use mubadile_core::ca::profiles::Enrollment;
use mubadile_core::ca::requests::{CaRequest, Requested};
use mubadile_core::crypto::KeyAlgorithm;
use mubadile_core::time::from_db;
use serde::Deserialize;

use super::certificate::Done;
use super::{CaPage, admit_form, filled};
use crate::problem::blocking;
use crate::state::AppState;
use crate::ui::account::CsrfForm;
use crate::ui::documents::download::attachment;
use crate::ui::i18n::Tr;
use crate::ui::session::{SignedIn, see_other};
use crate::ui::{Layout, UiError, render};

/// The key carrier's media type (RFC 7292).
const PKCS12: &str = "application/x-pkcs12";

/// `GET /ui/ca/requests`: the pending requests and the latest decided ones; for the
/// certificate officer also the CRLs in force and the button that publishes new ones.
pub async fn list(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    done: web::Query<Done>,
) -> Result<HttpResponse, UiError> {
    CaPage::Requests
        .admit(&signed_in.actor)
        .map_err(|e| signed_in.fail(e))?;
    let carries_out = CaPage::CarryOut.admit(&signed_in.actor).is_ok();
    let ca = state.ca.clone();
    let actor = signed_in.actor.clone();
    let (requests, crls) = blocking(move || {
        let requests = ca.requests(&actor, false)?;
        let crls = if carries_out {
            ca.authorities()
                .iter()
                .map(|a| ca.latest_crl(&a.label, false))
                .collect::<Result<Vec<_>, Error>>()?
        } else {
            vec![]
        };
        Ok((requests, crls))
    })
    .await
    .map_err(|p| signed_in.fail(p.0))?;
    let t = signed_in.preferences.tr();
    let rows: Vec<RequestRow> = requests.iter().map(|r| RequestRow::new(r, t)).collect();
    let (pending, decided) = rows.into_iter().partition(|r| r.pending);
    let page = RequestsPage {
        pending,
        decided,
        carries_out,
        crls: crls
            .into_iter()
            .map(|c| CrlRow {
                this_update: t.time(from_db(c.this_update)),
                next_update: t.time(from_db(c.next_update)),
                number: c.number,
                label: c.issuer_id,
            })
            .collect(),
        done: done
            .into_inner()
            .done
            .filter(|d| ["filed", "published", "rejected", "changed"].contains(&d.as_str()))
            .map(|d| t.get(&format!("ca.done_{d}")).to_string()),
        t,
        layout: signed_in.layout(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "ui/ca/requests.html")]
struct RequestsPage {
    t: Tr,
    layout: Layout,
    pending: Vec<RequestRow>,
    decided: Vec<RequestRow>,
    carries_out: bool,
    crls: Vec<CrlRow>,
    done: Option<String>,
}

/// A CRL in force.
struct CrlRow {
    label: String,
    number: i64,
    this_update: String,
    next_update: String,
}

/// One request as a row.
struct RequestRow {
    id: String,
    pending: bool,
    kind: String,
    /// The holder for an issuance, the certificate for a status change.
    subject: String,
    serial: String,
    reason: String,
    note: String,
    requested_by: String,
    requested_at: String,
    status: String,
    decided_by: String,
    outcome: String,
}

impl RequestRow {
    fn new(r: &CaRequest, t: Tr) -> RequestRow {
        let requested = r.requested().ok();
        let subject = match &requested {
            Some(Requested::Issue { enrollment, .. }) => holder_name(enrollment),
            _ => String::new(),
        };
        RequestRow {
            id: r.id.clone(),
            pending: r.is_pending(),
            kind: t.get(&format!("ca.kind_{}", r.kind)).to_string(),
            subject,
            serial: r.serial.clone().unwrap_or_default(),
            reason: r
                .reason
                .as_deref()
                .map(|x| t.get(&format!("ca.reason_{x}")).to_string())
                .unwrap_or_default(),
            note: r.note.clone().unwrap_or_default(),
            requested_by: r.requested_by.clone(),
            requested_at: t.time(from_db(r.requested_at)),
            status: t.get(&format!("ca.request_{}", r.status)).to_string(),
            decided_by: r.decided_by.clone().unwrap_or_default(),
            outcome: r.outcome.clone().unwrap_or_default(),
        }
    }
}

/// The holder an issuance is for, as the officer reads it: name, FIN, position, organisation.
fn holder_name(enrollment: &Enrollment) -> String {
    match enrollment {
        Enrollment::PersonSignature(p) => format!(
            "{} {} ({}), {}, {}",
            p.given_name, p.surname, p.fin, p.position, p.organisation
        ),
        Enrollment::OrganisationSeal(s) => format!("{}, {}", s.seal_name, s.organisation),
        Enrollment::TlsServer(n) | Enrollment::TlsClient(n) => {
            format!("{}, {}", n.common_name, n.organisation)
        }
    }
}

/// `GET /ui/ca/requests/{id}`: the certificate officer's page of one request, with the forms
/// that carry it out or reject it.
pub async fn show(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    CaPage::CarryOut
        .admit(&signed_in.actor)
        .map_err(|e| signed_in.fail(e))?;
    let ca = state.ca.clone();
    let actor = signed_in.actor.clone();
    let request = blocking(move || ca.request(&actor, &id))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    let t = signed_in.preferences.tr();
    let holder = match request.requested() {
        Ok(Requested::Issue { enrollment, .. }) => holder_fields(&enrollment),
        _ => vec![],
    };
    let page = RequestPage {
        issue: request.kind == "issue",
        row: RequestRow::new(&request, t),
        public_consent: request.public_consent,
        holder,
        algorithms: KeyAlgorithm::ALL.iter().map(|a| a.name()).collect(),
        t,
        layout: signed_in.layout(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "ui/ca/request.html")]
struct RequestPage {
    t: Tr,
    layout: Layout,
    row: RequestRow,
    issue: bool,
    public_consent: bool,
    holder: Vec<(&'static str, String)>,
    algorithms: Vec<&'static str>,
}

/// The enrolled data the certificate officer checks before issuing: (label key, value).
fn holder_fields(enrollment: &Enrollment) -> Vec<(&'static str, String)> {
    match enrollment {
        Enrollment::PersonSignature(p) => vec![
            ("ca.given_name", p.given_name.clone()),
            ("ca.surname", p.surname.clone()),
            ("ca.fin", p.fin.clone()),
            ("ca.organisation", p.organisation.clone()),
            (
                "ca.organisation_id",
                p.organisation_id.clone().unwrap_or_default(),
            ),
            ("ca.department", p.department.clone().unwrap_or_default()),
            ("ca.position", p.position.clone()),
            ("ca.email", p.email.clone()),
        ],
        Enrollment::OrganisationSeal(s) => vec![
            ("ca.profile", enrollment.profile().name().to_string()),
            ("ca.organisation", s.organisation.clone()),
            ("ca.voen", s.organisation_id.clone()),
            ("ca.seal_name", s.seal_name.clone()),
            ("ca.seal_purpose", s.purpose.clone()),
            ("ca.seal_area_of_use", s.area_of_use.clone()),
            ("ca.seal_text", s.seal_text.clone()),
            ("ca.email", s.email.clone()),
        ],
        Enrollment::TlsServer(n) | Enrollment::TlsClient(n) => vec![
            ("ca.profile", enrollment.profile().name().to_string()),
            ("ca.organisation", n.organisation.clone()),
            ("ca.common_name", n.common_name.clone()),
            ("ca.dns_names", n.dns_names.join(", ")),
            ("ca.email", n.email.clone()),
        ],
    }
}

/// The issuance form: a key generated at the centre, or the holder's PKCS#10 request.
#[derive(MultipartForm)]
pub struct IssuanceForm {
    csrf: Text<String>,
    /// `generate` or `request`.
    key: Text<String>,
    algorithm: Option<Text<String>>,
    carrier_password: Option<Text<String>>,
    carrier_password_repeat: Option<Text<String>>,
    csr: Option<Bytes>,
}

/// `POST /ui/ca/requests/{id}/issuance`: issues through [`CertificateAuthority::issue`]. A
/// generated key comes back at once as the PKCS#12 key carrier to save (the centre keeps no
/// copy, CSP 2.3); a certificate from a PKCS#10 request opens on its register page.
///
/// [`CertificateAuthority::issue`]: mubadile_core::ca::authority::CertificateAuthority::issue
pub async fn issue(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<String>,
    form: MultipartForm<IssuanceForm>,
) -> Result<HttpResponse, UiError> {
    let form = form.into_inner();
    admit_form(&signed_in, CaPage::CarryOut, &form.csrf).map_err(|e| signed_in.fail(e))?;
    let key = key_source(form).map_err(|e| signed_in.fail(e))?;
    let ca = state.ca.clone();
    let actor = signed_in.actor.clone();
    let issued = blocking(move || ca.carry_out_issuance(&actor, &id, key))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    Ok(match issued.key_carrier {
        Some(carrier) => attachment(PKCS12, &format!("{}.p12", issued.record.serial), carrier),
        None => see_other(&format!(
            "/ui/ca/certificates/{}?done=issued",
            issued.record.serial
        )),
    })
}

fn key_source(form: IssuanceForm) -> Result<KeySource, Error> {
    let text = |field: Option<Text<String>>| filled(field.map(Text::into_inner));
    // A password is taken as typed, spaces included.
    let password = |field: Option<Text<String>>| field.map(Text::into_inner).unwrap_or_default();
    match form.key.as_str() {
        "generate" => {
            let password_once = password(form.carrier_password);
            if password(form.carrier_password_repeat) != password_once {
                return Err(Error::invalid(
                    "carrier_password",
                    "the two passwords of the key carrier differ; type them again",
                ));
            }
            Ok(KeySource::Generate {
                algorithm: text(form.algorithm)
                    .ok_or_else(|| Error::invalid("algorithm", "choose the key's algorithm"))?
                    .parse()?,
                carrier_password: password_once,
            })
        }
        "request" => {
            let csr = form
                .csr
                .map(|f| f.data.to_vec())
                .filter(|b| !b.is_empty())
                .ok_or_else(|| {
                    Error::invalid(
                        "csr",
                        "choose the file with the holder's PKCS#10 request (PEM or DER)",
                    )
                })?;
            Ok(KeySource::Request(csr))
        }
        other => Err(Error::invalid(
            "key",
            format!("{other:?} is neither generate nor request"),
        )),
    }
}

/// `POST /ui/ca/requests/{id}/change`: carries out the suspension, restoration or revocation
/// asked for, through the operation the REST API calls.
pub async fn change(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, UiError> {
    admit_form(&signed_in, CaPage::CarryOut, &form.csrf).map_err(|e| signed_in.fail(e))?;
    let ca = state.ca.clone();
    let actor = signed_in.actor.clone();
    blocking(move || ca.carry_out_change(&actor, &id))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    Ok(see_other("/ui/ca/requests?done=changed"))
}

/// The rejection form.
#[derive(Deserialize)]
pub struct RejectionForm {
    csrf: String,
    reason: String,
}

/// `POST /ui/ca/requests/{id}/rejection`.
pub async fn reject(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<String>,
    form: web::Form<RejectionForm>,
) -> Result<HttpResponse, UiError> {
    let form = form.into_inner();
    admit_form(&signed_in, CaPage::CarryOut, &form.csrf).map_err(|e| signed_in.fail(e))?;
    let ca = state.ca.clone();
    let actor = signed_in.actor.clone();
    blocking(move || ca.reject_request(&actor, &id, &form.reason))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    Ok(see_other("/ui/ca/requests?done=rejected"))
}

/// `POST /ui/ca/crls`: publishes full and delta CRLs of every CA now (CSP 9.4).
pub async fn publish_crls(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, UiError> {
    admit_form(&signed_in, CaPage::PublishCrls, &form.csrf).map_err(|e| signed_in.fail(e))?;
    let ca = state.ca.clone();
    let actor = signed_in.actor.clone();
    blocking(move || ca.publish_crls(&actor, "published by an officer"))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    Ok(see_other("/ui/ca/requests?done=published"))
}
