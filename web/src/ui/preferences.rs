//! The display switches (language, text size, contrast): a form POST that keeps the choice in
//! a cookie, so that it works without JavaScript and before sign-in; a signed-in user's
//! language is also stored with the user and follows them to other browsers.

use actix_web::{HttpResponse, web};
use mubadile_core::Error;
use mubadile_core::accounts::set_language;
use serde::Deserialize;

use super::UiError;
use super::i18n::Locale;
use super::session::{SIGN_IN_PAGE, Visitor, see_other};
use crate::problem::with_connection;
use crate::state::AppState;

/// The switch's fields: each button sends one of them.
#[derive(Deserialize)]
pub struct PreferencesForm {
    csrf: String,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    contrast: Option<String>,
    #[serde(default)]
    back: Option<String>,
}

/// Applies a switch and returns to the page it was pressed on.
pub async fn set(
    state: web::Data<AppState>,
    visitor: Visitor,
    form: web::Form<PreferencesForm>,
) -> Result<HttpResponse, UiError> {
    let form = form.into_inner();
    visitor
        .check_csrf(&form.csrf)
        .map_err(|e| visitor.fail(e))?;
    let mut preferences = visitor.preferences;
    if let Some(language) = &form.language {
        preferences.locale = Locale::parse(language)
            .ok_or_else(|| visitor.fail(Error::invalid("language", "not one of az, en, ru")))?;
        if let Some((_, session)) = &visitor.session {
            let user = session.user.clone();
            let code = preferences.locale.code();
            with_connection(&state.pool, move |conn| set_language(conn, &user, code))
                .await
                .map_err(|p| visitor.fail(p.0))?;
        }
    }
    if let Some(text) = &form.text {
        preferences.large_text = text == "large";
    }
    if let Some(contrast) = &form.contrast {
        preferences.high_contrast = contrast == "high";
    }
    let mut response = see_other(&return_path(form.back.as_deref()));
    // A cookie built here always encodes into a valid header value.
    let _ = response.add_cookie(&preferences.cookie());
    Ok(visitor.finish(response))
}

/// Only a path of the UI itself is followed back (no open redirect).
fn return_path(back: Option<&str>) -> String {
    match back {
        Some(path)
            if path.starts_with("/ui/")
                && !path.contains("//")
                && !path.contains('\\')
                && path.chars().all(|c| c.is_ascii_graphic()) =>
        {
            path.to_string()
        }
        _ => SIGN_IN_PAGE.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switch_returns_only_to_pages_of_the_ui() {
        assert_eq!(return_path(Some("/ui/inbox")), "/ui/inbox");
        assert_eq!(return_path(Some("https://evil.example/")), SIGN_IN_PAGE);
        assert_eq!(return_path(Some("/ui//evil.example")), SIGN_IN_PAGE);
        assert_eq!(return_path(Some("/ui/\\evil")), SIGN_IN_PAGE);
        assert_eq!(return_path(None), SIGN_IN_PAGE);
    }
}
