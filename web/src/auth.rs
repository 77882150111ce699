//! The caller's identity as a typed extractor (STYLE.md): officers authenticate with HTTP Basic
//! (username and password, checked against Argon2id hashes).

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use base64::Engine;
use mubadile_core::Error;
use mubadile_core::accounts::{Actor, authenticate};

use crate::problem::{Problem, blocking};
use crate::state::AppState;

/// An authenticated caller.
pub struct Caller(pub Actor);

impl FromRequest for Caller {
    type Error = Problem;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, Problem>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let header = req
            .headers()
            .get("Authorization")
            .and_then(|h| h.to_str().ok())
            .map(str::to_string);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let state =
                state.ok_or_else(|| Problem(Error::Config("application state missing".into())))?;
            let unauthenticated = || {
                Problem(Error::refused(
                    "bad_credentials",
                    "sign in with HTTP Basic authentication: user name and password",
                ))
            };
            let header = header.ok_or_else(unauthenticated)?;
            let encoded = header.strip_prefix("Basic ").ok_or_else(unauthenticated)?;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|_| unauthenticated())?;
            let text = String::from_utf8(decoded).map_err(|_| unauthenticated())?;
            let (user, password) = text.split_once(':').ok_or_else(unauthenticated)?;
            let (user, password) = (user.to_string(), password.to_string());
            let actor = blocking(move || {
                let mut conn = state
                    .pool
                    .get()
                    .map_err(|e| Error::Connection(e.to_string()))?;
                authenticate(&mut conn, &user, &password)?.actor()
            })
            .await?;
            Ok(Caller(actor))
        })
    }
}
