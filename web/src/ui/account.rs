//! Signing in and out, and replacing the password (the one-time password first): the same
//! Argon2id check as the API (`mubadile_core::accounts`), with throttling and a session.

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use mubadile_core::Error;
use mubadile_core::accounts::second_factor::{
    begin_second_step, has_second_factor, take_reset_notice,
};
use mubadile_core::accounts::{
    Session, change_password, close_every_session, close_session, language, open_session,
    set_language, sign_in,
};
use serde::Deserialize;

use super::i18n::{Locale, Tr};
use super::session::{
    PASSWORD_PAGE, Preferences, SECOND_STEP_PAGE, SIGN_IN_PAGE, SignedIn, Visitor, client_address,
    pending_sign_in_cookie, removed_session_cookie, see_other, session_cookie,
};
use super::{Layout, UiError, render};
use crate::problem::{status_of, with_connection};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "ui/sign_in.html")]
struct SignInPage {
    t: Tr,
    layout: Layout,
    username: String,
    message: Option<String>,
    error: Option<String>,
}

/// `?done=…` after signing out.
#[derive(Deserialize)]
pub(super) struct Done {
    #[serde(default)]
    done: Option<String>,
}

/// The sign-in form; a signed-in visitor goes to their start page.
pub(super) async fn sign_in_page(visitor: Visitor, query: web::Query<Done>) -> HttpResponse {
    if let Some((_, session)) = &visitor.session {
        return see_other(start_of(session));
    }
    let t = visitor.preferences.tr();
    let message = match query.done.as_deref() {
        Some("signed-out") => Some(t.get("sign_in.signed_out").to_string()),
        Some("signed-out-everywhere") => Some(t.get("sign_in.signed_out_everywhere").to_string()),
        Some("expired") => Some(t.get("sign_in.second_step_expired").to_string()),
        _ => None,
    };
    let page = SignInPage {
        t,
        layout: visitor.layout(),
        username: String::new(),
        message,
        error: None,
    };
    visitor.finish(render(StatusCode::OK, &page))
}

/// The sign-in form's fields.
#[derive(Deserialize)]
pub(super) struct SignInForm {
    csrf: String,
    username: String,
    password: String,
}

/// Signs in: throttled per account and per address, a fresh session (never the one the browser
/// brought, against session fixation), then the password page while the password is one-time.
pub(super) async fn sign_in_submit(
    state: web::Data<AppState>,
    request: HttpRequest,
    visitor: Visitor,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, UiError> {
    let form = form.into_inner();
    visitor
        .check_csrf(&form.csrf)
        .map_err(|e| visitor.fail(e))?;
    let address = client_address(&request);
    let previous = visitor.session.as_ref().map(|(token, _)| token.clone());
    let username = form.username.trim().to_string();
    let user_name = username.clone();
    let result = with_connection(&state.pool, move |conn| {
        let user = sign_in(conn, &user_name, &form.password, &address)?;
        if let Some(previous) = previous {
            close_session(conn, &previous)?;
        }
        if has_second_factor(conn, &user.id)? {
            return Ok(PasswordStep::SecondStepDue(begin_second_step(conn, &user)?));
        }
        let (token, session) = open_session(conn, &user)?;
        let chosen = language(conn, &user)?;
        // Told once, after the one-time password is replaced if it must be.
        let reset = !user.must_change_password && take_reset_notice(conn, &user.id)?.is_some();
        Ok(PasswordStep::SignedIn(
            token,
            Box::new(session),
            chosen,
            reset,
        ))
    })
    .await;
    match result {
        Ok(PasswordStep::SecondStepDue(pending)) => {
            let mut response = see_other(SECOND_STEP_PAGE);
            // A cookie built here always encodes into a valid header value.
            let _ = response.add_cookie(&pending_sign_in_cookie(pending));
            let _ = response.add_cookie(&removed_session_cookie());
            Ok(response)
        }
        Ok(PasswordStep::SignedIn(token, session, chosen, reset)) => {
            let mut response = signed_in_response(&visitor, token, &session, chosen);
            if reset {
                response.headers_mut().insert(
                    LOCATION,
                    HeaderValue::from_static("/ui/second-factor?done=reset"),
                );
            }
            Ok(response)
        }
        Err(problem) => {
            let t = visitor.preferences.tr();
            let page = SignInPage {
                t,
                layout: visitor.layout(),
                username,
                message: None,
                error: Some(t.error(problem.0.code())),
            };
            Ok(visitor.finish(render(status_of(&problem.0), &page)))
        }
    }
}

/// What a correct password leads to.
enum PasswordStep {
    /// A session: its token, the session, the language the user chose, and whether an
    /// administrator reset the user's second factor since the last sign-in.
    SignedIn(String, Box<Session>, Option<String>, bool),
    /// The second step, with the pending sign-in's token.
    SecondStepDue(String),
}

/// The answer to a complete sign-in: the session cookie, the user's language, then the password
/// page while the password is one-time, else the user's start page.
pub fn signed_in_response(
    visitor: &Visitor,
    token: String,
    session: &Session,
    chosen: Option<String>,
) -> HttpResponse {
    let next = if session.user.must_change_password {
        PASSWORD_PAGE
    } else {
        start_of(session)
    };
    let mut response = see_other(next);
    // A cookie built here always encodes into a valid header value.
    let _ = response.add_cookie(&session_cookie(token));
    // The language the user chose follows them to any browser.
    if let Some(locale) = chosen.as_deref().and_then(Locale::parse) {
        let preferences = Preferences {
            locale,
            ..visitor.preferences
        };
        let _ = response.add_cookie(&preferences.cookie());
    }
    response
}

/// A form that carries nothing but its CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    /// The session's token.
    pub csrf: String,
}

/// Ends this session.
pub(super) async fn sign_out(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, UiError> {
    end_sessions(state, signed_in, form, false).await
}

/// Ends every session of the user, on every browser.
pub(super) async fn sign_out_everywhere(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, UiError> {
    end_sessions(state, signed_in, form, true).await
}

async fn end_sessions(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    form: web::Form<CsrfForm>,
    everywhere: bool,
) -> Result<HttpResponse, UiError> {
    signed_in
        .check_csrf(&form.csrf)
        .map_err(|e| signed_in.fail(e))?;
    let token = signed_in.token.clone();
    let user = signed_in.session.user.clone();
    with_connection(&state.pool, move |conn| {
        if everywhere {
            close_every_session(conn, &user).map(drop)
        } else {
            close_session(conn, &token)
        }
    })
    .await
    .map_err(|p| signed_in.fail(p.0))?;
    let done = if everywhere {
        "signed-out-everywhere"
    } else {
        "signed-out"
    };
    let mut response = see_other(&format!("{SIGN_IN_PAGE}?done={done}"));
    // A cookie built here always encodes into a valid header value.
    let _ = response.add_cookie(&removed_session_cookie());
    Ok(response)
}

#[derive(Template)]
#[template(path = "ui/password.html")]
struct PasswordPage {
    t: Tr,
    layout: Layout,
    one_time: bool,
    error: Option<String>,
}

/// The password form.
pub(super) async fn password_page(signed_in: SignedIn) -> HttpResponse {
    let page = PasswordPage {
        t: signed_in.preferences.tr(),
        layout: signed_in.layout(),
        one_time: signed_in.session.user.must_change_password,
        error: None,
    };
    render(StatusCode::OK, &page)
}

/// The password form's fields.
#[derive(Deserialize)]
pub(super) struct PasswordForm {
    csrf: String,
    current: String,
    new: String,
    repeat: String,
}

/// Replaces the password, then ends every session of the user and opens a new one here, so
/// that whoever held the old password is signed out.
pub(super) async fn password_submit(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, UiError> {
    let form = form.into_inner();
    signed_in
        .check_csrf(&form.csrf)
        .map_err(|e| signed_in.fail(e))?;
    let t = signed_in.preferences.tr();
    let again = |error: String, status: StatusCode| {
        let page = PasswordPage {
            t,
            layout: signed_in.layout(),
            one_time: signed_in.session.user.must_change_password,
            error: Some(error),
        };
        render(status, &page)
    };
    if form.new != form.repeat {
        return Ok(again(
            t.get("password.mismatch").to_string(),
            StatusCode::BAD_REQUEST,
        ));
    }
    let username = signed_in.session.user.username.clone();
    let locale = signed_in.preferences.locale;
    let result = with_connection(&state.pool, move |conn| {
        let user = change_password(conn, &username, &form.current, &form.new)?;
        close_every_session(conn, &user)?;
        set_language(conn, &user, locale.code())?;
        open_session(conn, &user)
    })
    .await;
    match result {
        Ok((token, session)) => {
            let mut response = see_other(start_of(&session));
            let _ = response.add_cookie(&session_cookie(token));
            Ok(response)
        }
        Err(problem) => {
            let detail = match &problem.0 {
                // The core refuses a short or reused new password (accounts::change_password).
                Error::InvalidInput { .. } => t.get("password.invalid").to_string(),
                other => t.error(other.code()),
            };
            Ok(again(detail, status_of(&problem.0)))
        }
    }
}

/// Where `session`'s user starts: the CA's pages for an officer of no organisation, the inbox
/// otherwise (an account whose roles do not parse signs in to the inbox, which explains).
fn start_of(session: &Session) -> &'static str {
    session
        .user
        .actor()
        .map_or("/ui/inbox", |actor| super::start_page(&actor))
}
