//! The caller's identity as typed extractors (STYLE.md): officers authenticate with HTTP Basic
//! (username and password, checked against Argon2id hashes); the systems of agencies and
//! automated information systems with a bearer API token or, over the TLS listener, a TLS client
//! certificate bound to them ([`Agent`]).

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use base64::Engine;
use mubadile_core::Error;
use mubadile_core::accounts::{
    Actor, ApiClient, authenticate, authenticate_client, authenticate_client_certificate,
};

use crate::problem::{Problem, blocking};
use crate::state::AppState;
use crate::tls::ClientCertificate;

/// The user name and password of an HTTP Basic `Authorization` header.
pub fn basic_credentials(request: &HttpRequest) -> Result<(String, String), Error> {
    parse_basic(
        request
            .headers()
            .get("Authorization")
            .and_then(|h| h.to_str().ok()),
    )
}

fn parse_basic(header: Option<&str>) -> Result<(String, String), Error> {
    let missing = || {
        Error::refused(
            "bad_credentials",
            "sign in with HTTP Basic authentication: user name and password",
        )
    };
    let encoded = header
        .and_then(|h| h.strip_prefix("Basic "))
        .ok_or_else(missing)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| missing())?;
    let text = String::from_utf8(decoded).map_err(|_| missing())?;
    let (user, password) = text.split_once(':').ok_or_else(missing)?;
    Ok((user.to_string(), password.to_string()))
}

/// Where a user replaces a password; the only action allowed with a one-time password.
pub const PASSWORD_PATH: &str = "/api/v1/account/password";

/// An authenticated caller.
pub struct Caller(pub Actor);

impl FromRequest for Caller {
    type Error = Problem;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, Problem>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let credentials = basic_credentials(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let changing_password = req.path() == PASSWORD_PATH;
        Box::pin(async move {
            let state =
                state.ok_or_else(|| Problem(Error::Config("application state missing".into())))?;
            let (user, password) = credentials?;
            let actor = blocking(move || {
                let mut conn = state
                    .pool
                    .get()
                    .map_err(|e| Error::Connection(e.to_string()))?;
                let user = authenticate(&mut conn, &user, &password)?;
                if user.must_change_password && !changing_password {
                    return Err(Error::refused(
                        "password_change_required",
                        format!("replace the one-time password first: POST {PASSWORD_PATH}"),
                    ));
                }
                user.actor()
            })
            .await?;
            Ok(Caller(actor))
        })
    }
}

/// An organisation's system (EDE 4.2), authenticated by its bearer API token or by the TLS client
/// certificate bound to it.
pub struct Agent(pub ApiClient);

impl FromRequest for Agent {
    type Error = Problem;
    type Future = Pin<Box<dyn Future<Output = Result<Agent, Problem>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = req
            .headers()
            .get("Authorization")
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(|t| t.trim().to_string());
        let certificate = req.conn_data::<ClientCertificate>().cloned();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let state =
                state.ok_or_else(|| Problem(Error::Config("application state missing".into())))?;
            let client = blocking(move || {
                let mut conn = state
                    .pool
                    .get()
                    .map_err(|e| Error::Connection(e.to_string()))?;
                match (token, certificate) {
                    (Some(token), _) => authenticate_client(&mut conn, &token),
                    (None, Some(ClientCertificate(der))) => {
                        authenticate_client_certificate(&mut conn, &der)
                    }
                    (None, None) => Err(Error::refused(
                        "bad_token",
                        "send your organisation's API token as `Authorization: Bearer mbd_…`, \
                         or connect over TLS with a client certificate bound to your system",
                    )),
                }
            })
            .await?;
            Ok(Agent(client))
        })
    }
}
