//! `GET`/`POST /ui/ca/enrolment[/seal|/tls]`: the registration officer enrols a holder after
//! checking their documents (CSP 3.5) and requests the issuance that the certificate officer
//! then carries out (CSP 13.3): a person's enhanced signature certificate (GOV 3.2: organisation
//! and position; CSP 2.3: consent to publication), an organisation's seal (GOV 3.3–3.5: the
//! organisation and its VÖEN from the directory, the seal's purpose, area of use and text), or
//! a TLS certificate of an organisation's node (its DNS names).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use mubadile_core::Error;
use mubadile_core::ca::profiles::{Enrollment, NodeHolder, PersonHolder, SealHolder};
use mubadile_core::ca::requests::Requested;
use mubadile_core::exchange::directory::{
    Organisation, OrganisationId, list_organisations, organisation,
};
use serde::Deserialize;

use super::{CaPage, admit_form, filled};
use crate::problem::{blocking, with_connection};
use crate::state::AppState;
use crate::ui::i18n::Tr;
use crate::ui::session::{SignedIn, see_other};
use crate::ui::{Layout, UiError, render};

/// The person's enrolment form.
pub async fn form(signed_in: SignedIn) -> Result<HttpResponse, UiError> {
    CaPage::Enrolment
        .admit(&signed_in.actor)
        .map_err(|e| signed_in.fail(e))?;
    let page = EnrolmentPage {
        t: signed_in.preferences.tr(),
        layout: signed_in.layout(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "ui/ca/enrolment.html")]
struct EnrolmentPage {
    t: Tr,
    layout: Layout,
}

/// The enrolment form's fields.
#[derive(Deserialize)]
pub struct EnrolmentForm {
    csrf: String,
    given_name: String,
    surname: String,
    fin: String,
    organisation: String,
    #[serde(default)]
    organisation_id: Option<String>,
    #[serde(default)]
    department: Option<String>,
    position: String,
    email: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    public_consent: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

/// Files the issuance request; the core checks the holder's data as issuance will (a wrong FIN
/// or e-mail is refused now, naming the field).
pub async fn enrol(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    form: web::Form<EnrolmentForm>,
) -> Result<HttpResponse, UiError> {
    let form = form.into_inner();
    admit_form(&signed_in, CaPage::Enrolment, &form.csrf).map_err(|e| signed_in.fail(e))?;
    let requested = Requested::Issue {
        public_consent: form.public_consent.is_some(),
        enrollment: Enrollment::PersonSignature(PersonHolder {
            given_name: form.given_name.trim().to_string(),
            surname: form.surname.trim().to_string(),
            pseudonym: None,
            fin: form.fin.trim().to_uppercase(),
            organisation: form.organisation.trim().to_string(),
            organisation_id: filled(form.organisation_id),
            department: filled(form.department),
            position: form.position.trim().to_string(),
            email: form.email.trim().to_string(),
        }),
    };
    file(&state, &signed_in, requested, filled(form.note)).await
}

/// The seal's and the TLS certificate's forms: their organisation comes from the directory.
#[derive(Template)]
#[template(path = "ui/ca/enrolment_organisation.html")]
struct OrganisationEnrolmentPage {
    t: Tr,
    layout: Layout,
    /// `seal` or `tls`.
    kind: &'static str,
    /// The directory: (identifier, name, VÖEN).
    organisations: Vec<(String, String, String)>,
}

/// `GET /ui/ca/enrolment/seal`: an organisation's seal (GOV 3.3–3.5).
pub async fn seal_form(
    state: web::Data<AppState>,
    signed_in: SignedIn,
) -> Result<HttpResponse, UiError> {
    organisation_form(&state, &signed_in, "seal").await
}

/// `GET /ui/ca/enrolment/tls`: a TLS certificate of an organisation's node.
pub async fn tls_form(
    state: web::Data<AppState>,
    signed_in: SignedIn,
) -> Result<HttpResponse, UiError> {
    organisation_form(&state, &signed_in, "tls").await
}

async fn organisation_form(
    state: &web::Data<AppState>,
    signed_in: &SignedIn,
    kind: &'static str,
) -> Result<HttpResponse, UiError> {
    CaPage::Enrolment
        .admit(&signed_in.actor)
        .map_err(|e| signed_in.fail(e))?;
    let organisations = with_connection(&state.pool, list_organisations)
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    let page = OrganisationEnrolmentPage {
        t: signed_in.preferences.tr(),
        layout: signed_in.layout(),
        kind,
        organisations: organisations
            .into_iter()
            .map(|o| (o.id.0, o.name, o.tax_id))
            .collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

/// What the seal's and the TLS certificate's forms share.
#[derive(Deserialize)]
pub struct OrganisationFields {
    csrf: String,
    /// The organisation's identifier in the directory.
    #[serde(default)]
    organisation: String,
    /// Where notices go; the organisation's e-mail when empty.
    #[serde(default)]
    email: Option<String>,
    /// A checkbox: the organisation consents to public lookup (CSP 2.3).
    #[serde(default)]
    public_consent: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

/// The seal form's fields.
#[derive(Deserialize)]
pub struct SealForm {
    #[serde(flatten)]
    common: OrganisationFields,
    seal_name: String,
    purpose: String,
    area_of_use: String,
    seal_text: String,
}

/// `POST /ui/ca/enrolment/seal`: files the issuance of the organisation's seal, with the name
/// and VÖEN the directory holds (GOV 3.3: the seal stands for the organisation).
pub async fn enrol_seal(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    form: web::Form<SealForm>,
) -> Result<HttpResponse, UiError> {
    let form = form.into_inner();
    enrol_for_organisation(&state, &signed_in, form.common, |chosen, email| {
        Ok(Enrollment::OrganisationSeal(SealHolder {
            email,
            organisation: chosen.name,
            organisation_id: chosen.tax_id,
            seal_name: form.seal_name.trim().to_string(),
            purpose: form.purpose.trim().to_string(),
            area_of_use: form.area_of_use.trim().to_string(),
            seal_text: form.seal_text.trim().to_string(),
        }))
    })
    .await
}

/// The TLS form's fields.
#[derive(Deserialize)]
pub struct TlsForm {
    #[serde(flatten)]
    common: OrganisationFields,
    /// `server` or `client`.
    usage: String,
    common_name: String,
    /// One DNS name a line (or separated by commas or spaces).
    #[serde(default)]
    dns_names: String,
}

/// `POST /ui/ca/enrolment/tls`: files the issuance of a TLS server or client certificate for a
/// node of the organisation; the core checks every DNS name (RFC 1035 labels) and that a server
/// has at least one.
pub async fn enrol_tls(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    form: web::Form<TlsForm>,
) -> Result<HttpResponse, UiError> {
    let form = form.into_inner();
    enrol_for_organisation(&state, &signed_in, form.common, |chosen, email| {
        let node = NodeHolder {
            email,
            organisation: chosen.name,
            common_name: form.common_name.trim().to_string(),
            dns_names: form
                .dns_names
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|n| !n.is_empty())
                .map(str::to_ascii_lowercase)
                .collect(),
        };
        match form.usage.as_str() {
            "server" => Ok(Enrollment::TlsServer(node)),
            "client" => Ok(Enrollment::TlsClient(node)),
            other => Err(Error::invalid(
                "usage",
                format!("{other:?} is neither server nor client"),
            )),
        }
    })
    .await
}

/// Files the issuance of what `enrollment` makes of the organisation chosen from the directory
/// and the e-mail for notices (the organisation's unless another is given).
async fn enrol_for_organisation(
    state: &web::Data<AppState>,
    signed_in: &SignedIn,
    fields: OrganisationFields,
    enrollment: impl FnOnce(Organisation, String) -> Result<Enrollment, Error>,
) -> Result<HttpResponse, UiError> {
    admit_form(signed_in, CaPage::Enrolment, &fields.csrf).map_err(|e| signed_in.fail(e))?;
    let chosen = directory_entry(state, &fields.organisation)
        .await
        .map_err(|e| signed_in.fail(e))?;
    let email = filled(fields.email).unwrap_or_else(|| chosen.email.clone());
    let requested = Requested::Issue {
        public_consent: fields.public_consent.is_some(),
        enrollment: enrollment(chosen, email).map_err(|e| signed_in.fail(e))?,
    };
    file(state, signed_in, requested, filled(fields.note)).await
}

/// The directory's entry `id`, or an error saying to choose one.
async fn directory_entry(state: &web::Data<AppState>, id: &str) -> Result<Organisation, Error> {
    if id.trim().is_empty() {
        return Err(Error::invalid(
            "organisation",
            "choose the organisation from the directory",
        ));
    }
    let id = OrganisationId::parse(id)?;
    with_connection(&state.pool, move |conn| organisation(conn, &id))
        .await
        .map_err(|p| p.0)
}

/// Files `requested`; the core checks the holder's data as issuance will, naming the field.
async fn file(
    state: &web::Data<AppState>,
    signed_in: &SignedIn,
    requested: Requested,
    note: Option<String>,
) -> Result<HttpResponse, UiError> {
    let ca = state.ca.clone();
    let actor = signed_in.actor.clone();
    blocking(move || ca.file_request(&actor, &requested, note.as_deref()))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    Ok(see_other("/ui/ca/requests?done=filed"))
}
