//! Who is looking at a page: the display preferences every visitor has (a cookie, so that they
//! work before sign-in), and the server-side session of a signed-in user (docs/ui.md).
//!
//! Cookies are `Secure`, `HttpOnly` and `SameSite=Strict`. Every POST carries a CSRF token: the
//! session's synchronizer token once signed in, before that a random token in a cookie of its
//! own that the form repeats (double submit), so that even the sign-in form cannot be posted
//! from another site.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, dev::Payload, web};
use mubadile_core::Error;
use mubadile_core::accounts::{Actor, Role, Session, session};
use mubadile_core::config::Config;

use super::i18n::{Locale, Tr};
use crate::problem::with_connection;
use crate::state::AppState;

/// The cookie holding the session token.
pub const SESSION_COOKIE: &str = "mbd_session";
/// The cookie holding the display preferences: `LANG.TEXT.CONTRAST`, e.g. `az.large.high`.
pub const PREFERENCES_COOKIE: &str = "mbd_prefs";
/// The cookie holding the CSRF token of forms posted before sign-in.
pub const ANONYMOUS_CSRF_COOKIE: &str = "mbd_csrf";
/// The cookie holding a pending sign-in: a correct password, the second step still to come.
pub const PENDING_SIGN_IN_COOKIE: &str = "mbd_pending";

/// Where the password is changed: the only page open with a one-time password.
pub const PASSWORD_PAGE: &str = "/ui/password";
/// The sign-in page.
pub const SIGN_IN_PAGE: &str = "/ui/sign-in";
/// The second step of signing in, for users with a second factor.
pub const SECOND_STEP_PAGE: &str = "/ui/sign-in/second-step";
/// Where a user turns the second factor on or off; the only page open to a CA officer who must
/// have one and does not yet.
pub const SECOND_FACTOR_PAGE: &str = "/ui/second-factor";

/// How a visitor wants pages shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Preferences {
    /// The language.
    pub locale: Locale,
    /// Larger text.
    pub large_text: bool,
    /// High contrast colours.
    pub high_contrast: bool,
}

impl Preferences {
    /// The preferences the request's cookie holds, the defaults otherwise.
    pub fn of(request: &HttpRequest) -> Preferences {
        let Some(cookie) = request.cookie(PREFERENCES_COOKIE) else {
            return Preferences::default();
        };
        let mut parts = cookie.value().split('.');
        Preferences {
            locale: parts.next().and_then(Locale::parse).unwrap_or_default(),
            large_text: parts.next() == Some("large"),
            high_contrast: parts.next() == Some("high"),
        }
    }

    /// The translator for these preferences.
    pub fn tr(&self) -> Tr {
        Tr::new(self.locale)
    }

    /// The cookie that keeps these preferences for a year.
    pub fn cookie(&self) -> Cookie<'static> {
        let value = format!(
            "{}.{}.{}",
            self.locale.code(),
            if self.large_text { "large" } else { "normal" },
            if self.high_contrast { "high" } else { "normal" }
        );
        secure_cookie(PREFERENCES_COOKIE, value)
            .max_age(actix_web::cookie::time::Duration::days(365))
            .finish()
    }
}

/// A visitor who may or may not be signed in: the sign-in page and the preference switch.
pub struct Visitor {
    /// Display preferences.
    pub preferences: Preferences,
    /// The path asked for, where the preference switch returns to.
    pub path: String,
    /// The session, when signed in.
    pub session: Option<(String, Session)>,
    /// The token forms must carry: the session's, or the anonymous one.
    pub csrf_token: String,
    /// The anonymous CSRF cookie to set, when the visitor had none.
    pub new_csrf_cookie: Option<Cookie<'static>>,
}

impl Visitor {
    /// Refuses a form whose token is not this visitor's (CSRF).
    pub fn check_csrf(&self, submitted: &str) -> Result<(), Error> {
        check_csrf(&self.csrf_token, submitted)
    }

    /// Adds the anonymous CSRF cookie to `response` when the visitor had none.
    pub fn finish(&self, mut response: HttpResponse) -> HttpResponse {
        if let Some(cookie) = &self.new_csrf_cookie {
            // A cookie built here always encodes into a valid header value.
            let _ = response.add_cookie(cookie);
        }
        response
    }
}

impl FromRequest for Visitor {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Visitor, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let preferences = Preferences::of(req);
        let path = req.path().to_string();
        let token = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string());
        let anonymous = req
            .cookie(ANONYMOUS_CSRF_COOKIE)
            .map(|c| c.value().to_string());
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let session = match (token, state) {
                (Some(token), Some(state)) => live_session(&state, token).await,
                _ => None,
            };
            let (csrf_token, new_csrf_cookie) = match (&session, anonymous) {
                (Some((_, s)), _) => (s.csrf_token.clone(), None),
                (None, Some(token)) if token.len() == 64 => (token, None),
                (None, _) => {
                    let token = hex::encode(
                        mubadile_core::crypto::random_bytes::<32>()
                            .map_err(actix_web::error::ErrorInternalServerError)?,
                    );
                    let cookie = secure_cookie(ANONYMOUS_CSRF_COOKIE, token.clone()).finish();
                    (token, Some(cookie))
                }
            };
            Ok(Visitor {
                preferences,
                path,
                session,
                csrf_token,
                new_csrf_cookie,
            })
        })
    }
}

/// A signed-in user of an organisation or of the platform, with the session they act in.
pub struct SignedIn {
    /// Display preferences.
    pub preferences: Preferences,
    /// The path asked for, where the preference switch returns to.
    pub path: String,
    /// The session token (the cookie's value).
    pub token: String,
    /// The session.
    pub session: Session,
    /// The user as an actor with roles.
    pub actor: Actor,
}

impl SignedIn {
    /// Refuses a form whose token is not this session's (CSRF).
    pub fn check_csrf(&self, submitted: &str) -> Result<(), Error> {
        check_csrf(&self.session.csrf_token, submitted)
    }
}

/// Why a page needing a signed-in user was not shown: it sends the browser elsewhere.
#[derive(Debug)]
pub enum NotSignedIn {
    /// No live session: to the sign-in page.
    SignIn,
    /// A one-time password still to be replaced: to the password page.
    ChangePassword,
    /// A CA officer who must have a second factor has none: to its enrolment.
    EnrolSecondFactor,
    /// The session could not be read.
    Failed(String),
}

impl std::fmt::Display for NotSignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotSignedIn::SignIn => f.write_str("not signed in"),
            NotSignedIn::ChangePassword => f.write_str("the one-time password must be changed"),
            NotSignedIn::EnrolSecondFactor => {
                f.write_str("a CA officer must turn the second factor on first")
            }
            NotSignedIn::Failed(why) => write!(f, "the session could not be read: {why}"),
        }
    }
}

impl ResponseError for NotSignedIn {
    fn error_response(&self) -> HttpResponse {
        match self {
            NotSignedIn::SignIn => see_other(SIGN_IN_PAGE),
            NotSignedIn::ChangePassword => see_other(PASSWORD_PAGE),
            NotSignedIn::EnrolSecondFactor => see_other(SECOND_FACTOR_PAGE),
            NotSignedIn::Failed(why) => {
                tracing::error!(%why, "session lookup failed");
                HttpResponse::InternalServerError().finish()
            }
        }
    }
}

impl FromRequest for SignedIn {
    type Error = NotSignedIn;
    type Future = Pin<Box<dyn Future<Output = Result<SignedIn, NotSignedIn>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let preferences = Preferences::of(req);
        let path = req.path().to_string();
        let token = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string());
        let state = req.app_data::<web::Data<AppState>>().cloned();
        // With a one-time password, only the password page and signing out are open.
        let open_with_one_time_password =
            req.path() == PASSWORD_PAGE || req.path().starts_with("/ui/sign-out");
        // Without a required second factor, only its enrolment and signing out are open (not
        // the administrator's reset of others' second factor under the same path).
        let open_without_second_factor = [SECOND_FACTOR_PAGE, "/ui/second-factor/enable"]
            .contains(&req.path())
            || req.path().starts_with("/ui/sign-out");
        Box::pin(async move {
            let state = state.ok_or_else(|| NotSignedIn::Failed("no application state".into()))?;
            let token = token.ok_or(NotSignedIn::SignIn)?;
            let (token, session) = live_session(&state, token)
                .await
                .ok_or(NotSignedIn::SignIn)?;
            if session.user.must_change_password && !open_with_one_time_password {
                return Err(NotSignedIn::ChangePassword);
            }
            let actor = session
                .user
                .actor()
                .map_err(|e| NotSignedIn::Failed(e.to_string()))?;
            if second_factor_required(&state.config, &actor)
                && !session.second_factor
                && !open_without_second_factor
            {
                return Err(NotSignedIn::EnrolSecondFactor);
            }
            Ok(SignedIn {
                preferences,
                path,
                token,
                session,
                actor,
            })
        })
    }
}

/// Whether `actor` must have a second factor: a CA officer (CSP 13.3 roles) where the
/// configuration requires it (`[ui] require_second_factor_for_ca_officers`).
pub fn second_factor_required(config: &Config, actor: &Actor) -> bool {
    config.ui.require_second_factor_for_ca_officers
        && [
            Role::RegistrationOfficer,
            Role::CertificateOfficer,
            Role::SecurityOfficer,
            Role::SystemAdministrator,
        ]
        .into_iter()
        .any(|role| actor.roles.has(role))
}

/// The pending sign-in cookie for `token`: it ends with the browser, the server ends it sooner.
pub fn pending_sign_in_cookie(token: String) -> Cookie<'static> {
    secure_cookie(PENDING_SIGN_IN_COOKIE, token).finish()
}

/// A cookie that removes the pending sign-in cookie.
pub fn removed_pending_sign_in_cookie() -> Cookie<'static> {
    removed_cookie(PENDING_SIGN_IN_COOKIE)
}

/// The session cookie for `token`: no expiry of its own, the server ends the session.
pub fn session_cookie(token: String) -> Cookie<'static> {
    secure_cookie(SESSION_COOKIE, token).finish()
}

/// A cookie that removes the session cookie.
pub fn removed_session_cookie() -> Cookie<'static> {
    removed_cookie(SESSION_COOKIE)
}

fn removed_cookie(name: &'static str) -> Cookie<'static> {
    let mut cookie = secure_cookie(name, String::new()).finish();
    cookie.make_removal();
    cookie
}

/// A `303 See Other` to `location`: where a form post sends the browser next.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_string()))
        .finish()
}

/// The client's address as this node sees it, for throttling sign-ins. Behind a proxy this is
/// the proxy's address; the per-account limit holds regardless (docs/ui.md).
pub fn client_address(request: &HttpRequest) -> String {
    request
        .peer_addr()
        .map_or_else(|| "unknown".to_string(), |a| a.ip().to_string())
}

fn secure_cookie(name: &'static str, value: String) -> actix_web::cookie::CookieBuilder<'static> {
    Cookie::build(name, value)
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
}

async fn live_session(state: &web::Data<AppState>, token: String) -> Option<(String, Session)> {
    let lookup = token.clone();
    let found = with_connection(&state.pool, move |conn| session(conn, &lookup)).await;
    match found {
        Ok(Some(session)) => Some((token, session)),
        Ok(None) => None,
        Err(e) => {
            tracing::error!(error = %e, "session lookup failed");
            None
        }
    }
}

/// Compares the tokens in constant time.
fn check_csrf(expected: &str, submitted: &str) -> Result<(), Error> {
    let (a, b) = (expected.as_bytes(), submitted.as_bytes());
    let differ = a.len() != b.len()
        || a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) != 0
        || a.is_empty();
    if differ {
        Err(Error::refused(
            "csrf_failed",
            "the form's CSRF token is not this session's",
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_must_match_exactly() {
        assert!(check_csrf("abc", "abc").is_ok());
        assert!(check_csrf("abc", "abd").is_err());
        assert!(check_csrf("abc", "ab").is_err());
        assert!(check_csrf("", "").is_err(), "an empty token never matches");
    }

    #[test]
    fn csp_13_3_only_officers_must_have_a_second_factor_and_only_when_configured() {
        let actor = |roles: &str| Actor {
            id: "user:x".into(),
            roles: mubadile_core::accounts::Roles::parse(roles).unwrap(),
            organisation: None,
        };
        let mut config = Config::default();
        assert!(!second_factor_required(
            &config,
            &actor("certificate_officer")
        ));
        config.ui.require_second_factor_for_ca_officers = true;
        for officer in [
            "registration_officer",
            "certificate_officer",
            "security_officer",
            "system_administrator",
        ] {
            assert!(
                second_factor_required(&config, &actor(officer)),
                "{officer}"
            );
        }
        assert!(!second_factor_required(&config, &actor("clerk,signer")));
    }

    #[test]
    fn preferences_round_trip_through_their_cookie() {
        let prefs = Preferences {
            locale: Locale::Ru,
            large_text: true,
            high_contrast: false,
        };
        let cookie = prefs.cookie();
        assert_eq!(cookie.value(), "ru.large.normal");
        assert_eq!(cookie.secure(), Some(true));
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.same_site(), Some(SameSite::Strict));
        let request = actix_web::test::TestRequest::default()
            .cookie(cookie)
            .to_http_request();
        assert_eq!(Preferences::of(&request), prefs);
    }
}
