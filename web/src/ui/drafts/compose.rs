//! `GET /ui/drafts/new` and `POST /ui/drafts`: the compose form. The main document is a file
//! uploaded, or a letter typed in the form and kept as UTF-8 text; requisites (EDE 3.1–3.2);
//! addressees chosen from the directory; the route for signatures chosen among the
//! organisation's signers, in order.

use actix_multipart::form::MultipartForm;
use actix_multipart::form::bytes::Bytes;
use actix_multipart::form::text::Text;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use mubadile_core::Error;
use mubadile_core::accounts::{Role, list_users};
use mubadile_core::exchange::envelope::DataObject;
use mubadile_core::exchange::requisites::OptionalRequisites;
use mubadile_core::exchange::{NewDraft, OrganisationId, list_organisations};

use super::{composer_organisation, file_name, media_type, uploaded};
use crate::problem::{blocking, with_connection};
use crate::state::AppState;
use crate::ui::i18n::Tr;
use crate::ui::session::{SignedIn, see_other};
use crate::ui::{Layout, UiError, render};

/// How many places the route offers; a longer route is formed over the API.
const ROUTE_PLACES: usize = 3;

/// An organisation to choose as addressee.
struct Choice {
    value: String,
    label: String,
}

#[derive(Template)]
#[template(path = "ui/drafts/compose.html")]
struct ComposePage {
    t: Tr,
    layout: Layout,
    addressees: Vec<Choice>,
    signers: Vec<Choice>,
    places: Vec<usize>,
    /// The one preparing it, by default the user.
    executor: String,
}

/// The compose form.
pub async fn form(
    state: web::Data<AppState>,
    signed_in: SignedIn,
) -> Result<HttpResponse, UiError> {
    let organisation = composer_organisation(&signed_in).map_err(|e| signed_in.fail(e))?;
    let (addressees, signers) = with_connection(&state.pool, move |conn| {
        let addressees = list_organisations(conn)?
            .into_iter()
            .filter(|o| o.id != organisation)
            .map(|o| Choice {
                label: format!("{} ({})", o.name, o.id),
                value: o.id.0,
            })
            .collect::<Vec<_>>();
        let mut signers = Vec::new();
        for user in list_users(conn)? {
            if user.organisation_id.as_ref() == Some(&organisation)
                && user.actor()?.roles.has(Role::Signer)
            {
                signers.push(Choice {
                    label: format!("{} ({})", user.display_name, user.username),
                    value: user.username,
                });
            }
        }
        Ok((addressees, signers))
    })
    .await
    .map_err(|p| signed_in.fail(p.0))?;
    let page = ComposePage {
        t: signed_in.preferences.tr(),
        layout: signed_in.layout(),
        addressees,
        signers,
        places: (1..=ROUTE_PLACES).collect(),
        executor: signed_in.session.user.display_name.clone(),
    };
    Ok(render(StatusCode::OK, &page))
}

/// The compose form's fields.
#[derive(MultipartForm)]
pub struct ComposeForm {
    csrf: Text<String>,
    kind: Text<String>,
    title: Text<String>,
    #[multipart(rename = "addressee")]
    addressees: Vec<Text<String>>,
    document: Option<Bytes>,
    letter: Option<Text<String>>,
    #[multipart(rename = "attachment")]
    attachments: Vec<Bytes>,
    #[multipart(rename = "signer")]
    signers: Vec<Text<String>>,
    executor: Option<Text<String>>,
    approver: Option<Text<String>>,
    phone: Option<Text<String>>,
    email: Option<Text<String>>,
    in_reply_to: Option<Text<String>>,
}

/// Starts the draft and opens it.
pub async fn create(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    form: MultipartForm<ComposeForm>,
) -> Result<HttpResponse, UiError> {
    let form = form.into_inner();
    signed_in
        .check_csrf(&form.csrf)
        .map_err(|e| signed_in.fail(e))?;
    composer_organisation(&signed_in).map_err(|e| signed_in.fail(e))?;
    let draft = new_draft(form).map_err(|e| signed_in.fail(e))?;
    let exchange = state.exchange.clone();
    let actor = signed_in.actor.clone();
    let created = blocking(move || exchange.create_draft(&actor, draft))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    Ok(see_other(&format!(
        "/ui/drafts/{}?done=created",
        created.id
    )))
}

/// The draft the form describes; the main document is the uploaded file or, without one, the
/// letter typed in the form.
fn new_draft(form: ComposeForm) -> Result<NewDraft, Error> {
    let typed = form
        .letter
        .map(Text::into_inner)
        .filter(|l| !l.trim().is_empty());
    let document = match (uploaded(form.document), typed) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid(
                "document",
                "upload a file or type the letter, not both",
            ));
        }
        (Some(file), None) => DataObject {
            name: file_name(&file, "document"),
            media_type: media_type(&file),
            content: file.data.to_vec(),
        },
        (None, Some(text)) => DataObject {
            name: "letter.txt".into(),
            media_type: "text/plain; charset=utf-8".into(),
            // Browsers send CR LF line ends; the letter is kept with LF.
            content: text.replace("\r\n", "\n").into_bytes(),
        },
        (None, None) => {
            return Err(Error::invalid(
                "document",
                "upload the main document or type the letter's text",
            ));
        }
    };
    let attachments = form
        .attachments
        .into_iter()
        .filter(|f| !f.data.is_empty())
        .enumerate()
        .map(|(i, f)| DataObject {
            name: file_name(&f, &format!("attachment-{}", i + 1)),
            media_type: media_type(&f),
            content: f.data.to_vec(),
        })
        .collect();
    let optional = |field: Option<Text<String>>| {
        field
            .map(Text::into_inner)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    Ok(NewDraft {
        kind: form.kind.into_inner(),
        title: form.title.into_inner(),
        optional: OptionalRequisites {
            phone: optional(form.phone),
            fax: None,
            email: optional(form.email),
            approver: optional(form.approver),
            executor: optional(form.executor),
            in_reply_to: optional(form.in_reply_to),
        },
        addressees: form
            .addressees
            .into_iter()
            .map(|a| OrganisationId::parse(&a))
            .collect::<Result<_, _>>()?,
        document,
        attachments,
        signers: form
            .signers
            .into_iter()
            .map(Text::into_inner)
            .filter(|s| !s.is_empty())
            .collect(),
    })
}
