//! `GET`/`POST /ui/ca/enrolment`: the registration officer enrols a holder of a person's
//! enhanced signature certificate (GOV 3.2: organisation and position; CSP 2.3: consent to
//! publication) after checking their documents (CSP 3.5), and requests the issuance that the
//! certificate officer then carries out (CSP 13.3).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use mubadile_core::ca::profiles::{Enrollment, PersonHolder};
use mubadile_core::ca::requests::Requested;
use serde::Deserialize;

use super::{CaPage, admit_form, filled};
use crate::problem::blocking;
use crate::state::AppState;
use crate::ui::i18n::Tr;
use crate::ui::session::{SignedIn, see_other};
use crate::ui::{Layout, UiError, render};

/// The enrolment form.
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
    let note = filled(form.note.clone());
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
    let ca = state.ca.clone();
    let actor = signed_in.actor.clone();
    blocking(move || ca.file_request(&actor, &requested, note.as_deref()))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    Ok(see_other("/ui/ca/requests?done=filed"))
}
