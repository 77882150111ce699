//! `/ui/second-factor/reset`: a system administrator turns another user's second factor off
//! (the authenticator and the recovery codes lost), in two steps — find the user, then confirm
//! — audited with who did it (`account.second_factor.reset`). The user is told at the next
//! sign-in and, where the configuration requires a second factor of their role, enrols again
//! before anything else. The rule lives in `mubadile_core::accounts::second_factor::reset`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use mubadile_core::Error;
use mubadile_core::accounts::second_factor::{has_second_factor, reset};
use mubadile_core::accounts::{Role, find_user};
use serde::Deserialize;

use super::i18n::Tr;
use super::session::SignedIn;
use super::{Layout, UiError, render};
use crate::problem::{status_of, with_connection};
use crate::state::AppState;

/// Who may reset: the system administrator, who runs the system (CSP 13.3).
const RESETTERS: [Role; 1] = [Role::SystemAdministrator];

#[derive(Template)]
#[template(path = "ui/second_factor_reset.html")]
struct ResetPage {
    t: Tr,
    layout: Layout,
    /// The user found, waiting for the confirmation: (username, display name, roles).
    confirm: Option<(String, String, String)>,
    /// The user whose second factor was turned off.
    done: Option<String>,
    error: Option<String>,
}

/// `GET /ui/second-factor/reset`: the form that names the user.
pub(super) async fn page(signed_in: SignedIn) -> Result<HttpResponse, UiError> {
    signed_in
        .actor
        .require(&RESETTERS)
        .map_err(|e| signed_in.fail(e))?;
    Ok(answer(&signed_in, None, None, None, StatusCode::OK))
}

/// The user's name, and `confirm=yes` once the administrator confirmed.
#[derive(Deserialize)]
pub(super) struct ResetForm {
    csrf: String,
    username: String,
    #[serde(default)]
    confirm: Option<String>,
}

/// `POST /ui/second-factor/reset`: without `confirm`, the confirmation step naming the user;
/// with it, the reset.
pub(super) async fn submit(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    form: web::Form<ResetForm>,
) -> Result<HttpResponse, UiError> {
    let form = form.into_inner();
    signed_in
        .check_csrf(&form.csrf)
        .and_then(|()| signed_in.actor.require(&RESETTERS))
        .map_err(|e| signed_in.fail(e))?;
    let username = form.username.trim().to_string();
    let confirmed = form.confirm.as_deref() == Some("yes");
    let actor = signed_in.actor.clone();
    let result = with_connection(&state.pool, move |conn| {
        if confirmed {
            let user = reset(conn, &actor, &username)?;
            return Ok(Step::Done(user.username));
        }
        let user =
            find_user(conn, &username)?.ok_or_else(|| Error::not_found("user", &username))?;
        if !has_second_factor(conn, &user.id)? {
            return Err(Error::refused(
                "second_factor_off",
                format!("{} has no second factor turned on", user.username),
            ));
        }
        Ok(Step::Confirm((
            user.username,
            user.display_name,
            user.roles,
        )))
    })
    .await;
    Ok(match result {
        Ok(Step::Confirm(user)) => answer(&signed_in, Some(user), None, None, StatusCode::OK),
        Ok(Step::Done(user)) => answer(&signed_in, None, Some(user), None, StatusCode::OK),
        Err(problem) => {
            let t = signed_in.preferences.tr();
            let message = match &problem.0 {
                Error::NotFound { .. } => t.get("second_factor.reset_no_user").to_string(),
                other => t.error(other.code()),
            };
            answer(&signed_in, None, None, Some(message), status_of(&problem.0))
        }
    })
}

/// Where the form has got to.
enum Step {
    Confirm((String, String, String)),
    Done(String),
}

fn answer(
    signed_in: &SignedIn,
    confirm: Option<(String, String, String)>,
    done: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let page = ResetPage {
        t: signed_in.preferences.tr(),
        layout: signed_in.layout(),
        confirm,
        done,
        error,
    };
    render(status, &page)
}
