//! The optional second factor (docs/ui.md): turning it on from the account's page (a TOTP secret
//! shown as base32, as an `otpauth://` URI and as a QR code in inline SVG, enabled only by a
//! valid code, then ten recovery codes shown once), replacing the recovery codes (a current
//! code), turning it off (password and a code), and the second step of signing in. The rules live in `mubadile_core::accounts::second_factor`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use mubadile_core::Error;
use mubadile_core::accounts::second_factor::{
    Enrolment, SecondFactorKey, complete_second_step, disable, enable, enrolment,
    regenerate_recovery_codes,
};
use mubadile_core::accounts::{Role, User, language, open_session};
use mubadile_core::store::DbConnection;
use serde::Deserialize;

use super::account::signed_in_response;
use super::i18n::Tr;
use super::session::{
    PENDING_SIGN_IN_COOKIE, SECOND_FACTOR_PAGE, SIGN_IN_PAGE, SignedIn, Visitor, client_address,
    removed_pending_sign_in_cookie, second_factor_required, see_other,
};
use super::{Layout, UiError, render};
use crate::problem::{Problem, status_of, with_connection};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "ui/second_factor.html")]
struct SecondFactorPage {
    t: Tr,
    layout: Layout,
    /// Whether the second factor is on.
    on: bool,
    /// Whether the user must turn it on before anything else.
    required: bool,
    /// The secret waiting for its first code, while off.
    enrolment: Option<Enrolment>,
    /// The QR code of the enrolment's URI, inline SVG.
    qr_svg: String,
    /// The recovery codes, right after turning it on or replacing them (shown once).
    recovery_codes: Vec<String>,
    /// Whether those codes replace earlier ones.
    replaced: bool,
    /// Whether the user may reset others' second factor (a system administrator).
    administers: bool,
    message: Option<String>,
    error: Option<String>,
}

/// `?done=off` after turning the second factor off; `?done=reset` at the first sign-in after an
/// administrator turned it off.
#[derive(Deserialize)]
pub(super) struct Done {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /ui/second-factor`: its state, and the enrolment while it is off.
pub(super) async fn page(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    query: web::Query<Done>,
) -> Result<HttpResponse, UiError> {
    let t = signed_in.preferences.tr();
    let message = match query.done.as_deref() {
        Some("off") => Some(t.get("second_factor.turned_off").to_string()),
        Some("reset") => Some(t.get("second_factor.reset_notice").to_string()),
        _ => None,
    };
    show(
        &state,
        &signed_in,
        Fresh::None,
        message,
        None,
        StatusCode::OK,
    )
    .await
}

/// A code from the authenticator: the first, to prove it works; a current one, to replace the
/// recovery codes.
#[derive(Deserialize)]
pub(super) struct CodeForm {
    csrf: String,
    code: String,
}

/// Checks the form's CSRF token, then runs `operation` (enabling, replacing the recovery codes)
/// with the signed-in user and the code; returns the recovery codes or the core's refusal.
async fn with_code<F>(
    state: &web::Data<AppState>,
    signed_in: &SignedIn,
    form: CodeForm,
    operation: F,
) -> Result<Result<Vec<String>, Problem>, UiError>
where
    F: FnOnce(&mut DbConnection, &SecondFactorKey, &User, &str) -> Result<Vec<String>, Error>
        + Send
        + 'static,
{
    signed_in
        .check_csrf(&form.csrf)
        .map_err(|e| signed_in.fail(e))?;
    let user = signed_in.session.user.clone();
    let key = state.second_factor_key.clone();
    Ok(with_connection(&state.pool, move |conn| {
        operation(conn, &key, &user, &form.code)
    })
    .await)
}

/// `POST /ui/second-factor/enable`: turns it on when the code is valid, then shows the recovery
/// codes, once.
pub(super) async fn enable_submit(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, UiError> {
    match with_code(&state, &signed_in, form.into_inner(), enable).await? {
        Ok(codes) => {
            let mut signed_in = signed_in;
            signed_in.session.second_factor = true;
            show(
                &state,
                &signed_in,
                Fresh::Enabled(codes),
                None,
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(problem) => refused(&state, &signed_in, &problem.0).await,
    }
}

/// The password and a code, to turn it off.
#[derive(Deserialize)]
pub(super) struct DisableForm {
    csrf: String,
    password: String,
    code: String,
}

/// `POST /ui/second-factor/disable`.
pub(super) async fn disable_submit(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    form: web::Form<DisableForm>,
) -> Result<HttpResponse, UiError> {
    let form = form.into_inner();
    signed_in
        .check_csrf(&form.csrf)
        .map_err(|e| signed_in.fail(e))?;
    let user = signed_in.session.user.clone();
    let key = state.second_factor_key.clone();
    let result = with_connection(&state.pool, move |conn| {
        disable(conn, &key, &user, &form.password, &form.code)
    })
    .await;
    match result {
        Ok(()) => Ok(see_other(&format!("{SECOND_FACTOR_PAGE}?done=off"))),
        Err(problem) => refused(&state, &signed_in, &problem.0).await,
    }
}

/// `POST /ui/second-factor/recovery-codes`: ten new recovery codes, shown once; the old ones
/// stop working.
pub(super) async fn recovery_codes_submit(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, UiError> {
    match with_code(
        &state,
        &signed_in,
        form.into_inner(),
        regenerate_recovery_codes,
    )
    .await?
    {
        Ok(codes) => {
            show(
                &state,
                &signed_in,
                Fresh::Replaced(codes),
                None,
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(problem) => refused(&state, &signed_in, &problem.0).await,
    }
}

/// Recovery codes to show once, if any.
enum Fresh {
    None,
    /// Right after turning the second factor on.
    Enabled(Vec<String>),
    /// Replacing the earlier ones.
    Replaced(Vec<String>),
}

/// The page again, saying why the form was refused.
async fn refused(
    state: &web::Data<AppState>,
    signed_in: &SignedIn,
    error: &Error,
) -> Result<HttpResponse, UiError> {
    let message = signed_in.preferences.tr().error(error.code());
    let status = status_of(error);
    show(state, signed_in, Fresh::None, None, Some(message), status).await
}

async fn show(
    state: &web::Data<AppState>,
    signed_in: &SignedIn,
    fresh: Fresh,
    message: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, UiError> {
    let on = signed_in.session.second_factor;
    let enrolment = if on {
        None
    } else {
        let user = signed_in.session.user.clone();
        let key = state.second_factor_key.clone();
        let issuer = state.config.ca.organisation.clone();
        Some(
            with_connection(&state.pool, move |conn| {
                enrolment(conn, &key, &user, &issuer)
            })
            .await
            .map_err(|p| signed_in.fail(p.0))?,
        )
    };
    let qr_svg = match &enrolment {
        Some(enrolment) => qr_svg(&enrolment.uri).map_err(|e| signed_in.fail(e))?,
        None => String::new(),
    };
    let page = SecondFactorPage {
        t: signed_in.preferences.tr(),
        layout: signed_in.layout(),
        on,
        required: second_factor_required(&state.config, &signed_in.actor),
        enrolment,
        qr_svg,
        replaced: matches!(fresh, Fresh::Replaced(_)),
        recovery_codes: match fresh {
            Fresh::None => Vec::new(),
            Fresh::Enabled(codes) | Fresh::Replaced(codes) => codes,
        },
        administers: signed_in.actor.roles.has(Role::SystemAdministrator),
        message,
        error,
    };
    Ok(render(status, &page))
}

/// The QR code of `uri` as an inline `<svg>` element (without the XML declaration).
fn qr_svg(uri: &str) -> Result<String, Error> {
    let code = qrcode::QrCode::new(uri.as_bytes())
        .map_err(|e| Error::invalid("otpauth URI", format!("no QR code holds it: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .build();
    Ok(svg
        .find("<svg")
        .map_or(svg.clone(), |start| svg[start..].to_string()))
}

#[derive(Template)]
#[template(path = "ui/second_step.html")]
struct SecondStepPage {
    t: Tr,
    layout: Layout,
    error: Option<String>,
}

/// `GET /ui/sign-in/second-step`: the code form, for a browser with a pending sign-in.
pub(super) async fn second_step_page(request: HttpRequest, visitor: Visitor) -> HttpResponse {
    if request.cookie(PENDING_SIGN_IN_COOKIE).is_none() {
        return see_other(SIGN_IN_PAGE);
    }
    let page = SecondStepPage {
        t: visitor.preferences.tr(),
        layout: visitor.layout(),
        error: None,
    };
    visitor.finish(render(StatusCode::OK, &page))
}

/// The code of the second step: from the authenticator, or a recovery code.
#[derive(Deserialize)]
pub(super) struct SecondStepForm {
    csrf: String,
    code: String,
}

/// `POST /ui/sign-in/second-step`: a session when the code is valid; a wrong code counts toward
/// sign-in throttling; an expired pending sign-in goes back to the password.
pub(super) async fn second_step_submit(
    state: web::Data<AppState>,
    request: HttpRequest,
    visitor: Visitor,
    form: web::Form<SecondStepForm>,
) -> Result<HttpResponse, UiError> {
    let form = form.into_inner();
    visitor
        .check_csrf(&form.csrf)
        .map_err(|e| visitor.fail(e))?;
    let Some(pending) = request
        .cookie(PENDING_SIGN_IN_COOKIE)
        .map(|c| c.value().to_string())
    else {
        return Ok(see_other(SIGN_IN_PAGE));
    };
    let address = client_address(&request);
    let key = state.second_factor_key.clone();
    let result = with_connection(&state.pool, move |conn| {
        let user = complete_second_step(conn, &key, &pending, &form.code, &address)?;
        let (token, session) = open_session(conn, &user)?;
        let chosen = language(conn, &user)?;
        Ok((token, session, chosen))
    })
    .await;
    match result {
        Ok((token, session, chosen)) => {
            let mut response = signed_in_response(&visitor, token, &session, chosen);
            // A cookie built here always encodes into a valid header value.
            let _ = response.add_cookie(&removed_pending_sign_in_cookie());
            Ok(response)
        }
        Err(problem) if problem.0.code() == "second_step_expired" => {
            let mut response = see_other(&format!("{SIGN_IN_PAGE}?done=expired"));
            let _ = response.add_cookie(&removed_pending_sign_in_cookie());
            Ok(response)
        }
        Err(problem) => {
            let t = visitor.preferences.tr();
            let page = SecondStepPage {
                t,
                layout: visitor.layout(),
                error: Some(t.error(problem.0.code())),
            };
            Ok(visitor.finish(render(status_of(&problem.0), &page)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_code_is_an_inline_svg_element_without_xml_declaration() {
        let svg = qr_svg("otpauth://totp/M%C3%BCbadil%C9%99:cavid?secret=GEZDGNBV").unwrap();
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{svg}"
        );
        assert!(svg.ends_with("</svg>"), "{svg}");
        assert!(
            !svg.contains("<script"),
            "nothing the CSP would have to allow"
        );
    }
}
