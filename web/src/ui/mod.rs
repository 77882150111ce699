//! The web UI under `/ui`: server-rendered askama pages for the people of the organisations,
//! working without JavaScript (docs/ui.md). Handlers are grouped by domain, one per page or
//! form; they call the same core functions as the REST API.
//!
//! Security: server-side sessions in the database, `Secure`/`HttpOnly`/`SameSite=Strict`
//! cookies, a CSRF token on every POST, sign-in throttling per account and per address, and a
//! strict Content-Security-Policy (no script at all; the stylesheet is served from here).

mod account;
mod archive;
mod ca;
mod documents;
mod drafts;
pub mod i18n;
mod preferences;
mod second_factor;
mod second_factor_reset;
pub mod session;

use actix_multipart::form::MultipartFormConfig;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError, middleware::DefaultHeaders, web};
use askama::Template;
use mubadile_core::Error;

use self::ca::start_page;
use self::i18n::{Locale, Tr};
use self::session::{Preferences, SignedIn, Visitor, see_other};
use crate::problem::status_of;

/// Registers the routes: `/` leads to the inbox, everything else lives under `/ui`, as the table
/// in `routes.rs` lists it.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(to_inbox)).service(
        web::scope("/ui")
            .wrap(security_headers())
            .app_data(web::FormConfig::default().error_handler(bad_form))
            .app_data(
                MultipartFormConfig::default()
                    .total_limit(MAX_UPLOAD)
                    .memory_limit(MAX_UPLOAD)
                    .error_handler(bad_form),
            )
            .configure(register),
    );
}

/// Turns the table of `routes.rs` into [`register`]. The authorisation matrix reads the same
/// table with a definition of its own, so no route escapes it.
macro_rules! ui_routes {
    ($($method:ident $path:literal => $handler:path,)*) => {
        /// Registers every route of the table (inside `/ui`).
        fn register(cfg: &mut web::ServiceConfig) {
            $(cfg.route($path, web::$method().to($handler));)*
        }
    };
}

include!("routes.rs");

/// The largest form with files the UI takes: a draft's main document and its attachments.
const MAX_UPLOAD: usize = 32 * 1024 * 1024;

/// `/` and `/ui`: the inbox (which sends a visitor not signed in on to the sign-in page).
async fn to_inbox() -> HttpResponse {
    see_other("/ui/inbox")
}

/// A form that lacks a field or does not parse: a page in the visitor's language, not plain
/// text.
fn bad_form(error: impl std::fmt::Display, request: &actix_web::HttpRequest) -> actix_web::Error {
    let preferences = Preferences::of(request);
    UiError {
        t: preferences.tr(),
        layout: Layout::new(&preferences, "", request.path()),
        error: Error::invalid("form", error),
    }
    .into()
}

/// What every page's frame shows: the skip link, the menu, the user, the display switches.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The page's language.
    pub lang: &'static str,
    /// The CSRF token the frame's forms carry.
    pub csrf_token: String,
    /// Where the display switches return to.
    pub back: String,
    /// Larger text.
    pub large_text: bool,
    /// High contrast.
    pub high_contrast: bool,
    /// The language switch.
    pub languages: Vec<LanguageChoice>,
    /// The signed-in user, when there is one.
    pub user: Option<UserBar>,
}

/// The signed-in user as the frame shows them.
#[derive(Debug, Clone)]
pub struct UserBar {
    /// Their name.
    pub name: String,
    /// The organisation they act for; empty for the platform's staff.
    pub organisation: String,
    /// Whether they form documents (clerks and signers): the menu then offers "Compose".
    pub composes: bool,
    /// Whether they act for an organisation: the menu then offers its documents.
    pub has_organisation: bool,
    /// The CA pages their roles open (CSP 13.3): (href, text key).
    pub ca_menu: Vec<(&'static str, &'static str)>,
}

/// One button of the language switch.
#[derive(Debug, Clone)]
pub struct LanguageChoice {
    /// The language's code.
    pub code: &'static str,
    /// Its name in itself.
    pub name: &'static str,
    /// Whether it is the page's language.
    pub current: bool,
}

impl Layout {
    fn new(preferences: &Preferences, csrf_token: &str, back: &str) -> Layout {
        Layout {
            lang: preferences.locale.code(),
            csrf_token: csrf_token.to_string(),
            back: back.to_string(),
            large_text: preferences.large_text,
            high_contrast: preferences.high_contrast,
            languages: Locale::ALL
                .into_iter()
                .map(|l| LanguageChoice {
                    code: l.code(),
                    name: l.native_name(),
                    current: l == preferences.locale,
                })
                .collect(),
            user: None,
        }
    }
}

impl SignedIn {
    /// The frame of a page for this user.
    pub fn layout(&self) -> Layout {
        let mut layout = Layout::new(&self.preferences, &self.session.csrf_token, &self.path);
        layout.user = Some(UserBar {
            name: self.session.user.display_name.clone(),
            organisation: self
                .actor
                .organisation
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            composes: self.actor.organisation.is_some()
                && mubadile_core::exchange::drafts::COMPOSERS
                    .iter()
                    .any(|r| self.actor.roles.has(*r)),
            has_organisation: self.actor.organisation.is_some(),
            ca_menu: ca::menu(&self.actor),
        });
        layout
    }

    /// `error` as a page in this user's language.
    pub fn fail(&self, error: Error) -> UiError {
        UiError {
            t: self.preferences.tr(),
            layout: self.layout(),
            error,
        }
    }
}

impl Visitor {
    /// The frame of a page for this visitor.
    pub fn layout(&self) -> Layout {
        Layout::new(&self.preferences, &self.csrf_token, &self.path)
    }

    /// `error` as a page in this visitor's language.
    pub fn fail(&self, error: Error) -> UiError {
        UiError {
            t: self.preferences.tr(),
            layout: self.layout(),
            error,
        }
    }
}

/// A failed request shown as a page, in the visitor's language, with the status the API would
/// answer for the same error (`problem.rs`).
#[derive(Debug)]
pub struct UiError {
    t: Tr,
    layout: Layout,
    error: Error,
}

impl std::fmt::Display for UiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

#[derive(Template)]
#[template(path = "ui/error.html")]
struct ErrorPage<'a> {
    t: Tr,
    layout: &'a Layout,
    message: String,
}

impl ResponseError for UiError {
    fn status_code(&self) -> StatusCode {
        status_of(&self.error)
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            tracing::error!(error = %self.error, "page failed");
        }
        let page = ErrorPage {
            t: self.t,
            layout: &self.layout,
            message: error_message(&self.error, self.t),
        };
        render(status, &page)
    }
}

/// What a page says of `error`, in `t`'s language. Bad input also says which field and how to
/// correct it (the core's words), so the user can fix it; other errors show only their
/// translated code.
pub fn error_message(error: &Error, t: Tr) -> String {
    match error {
        Error::InvalidInput { what, reason } => {
            format!("{} ({what}: {reason})", t.error(error.code()))
        }
        // A refusal (e.g. EDE 4.1: what is missing before sending) and a forbidden action say
        // why, in the core's words, after the translated message.
        Error::Refused { reason, .. } | Error::Forbidden(reason) => {
            format!("{} ({reason})", t.error(error.code()))
        }
        _ => t.error(error.code()),
    }
}

/// A page's HTML answer.
pub fn render(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(e) => {
            tracing::error!(error = %e, "a template did not render");
            HttpResponse::InternalServerError().finish()
        }
    }
}

/// The stylesheet, from the templates folder: the pages carry no inline style, so the
/// Content-Security-Policy can forbid it.
async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../../templates/ui/ui.css"))
}

/// Headers on every UI answer: no script, no framing, no referrer, nothing cached but the
/// stylesheet.
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ))
        .add(("X-Frame-Options", "DENY"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("Cache-Control", "no-store"))
}
