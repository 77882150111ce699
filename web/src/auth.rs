//! The caller's identity as typed extractors (STYLE.md): officers authenticate with HTTP Basic
//! (username and password, checked against Argon2id hashes and throttled as the UI's sign-in
//! is; an account with a second factor cannot, since Basic carries no code); the systems of agencies and
//! automated information systems with a bearer API token or, over the TLS listener, a TLS client
//! certificate bound to them ([`Agent`]).

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use base64::Engine;
use mubadile_core::Error;
use mubadile_core::accounts::{
    Actor, ApiClient, ClientKind, Role, authenticate_client, authenticate_client_certificate,
    second_factor::has_second_factor, sign_in,
};
use mubadile_core::exchange::{OrganisationId, SenderKind};

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
        let address = crate::ui::session::client_address(req);
        Box::pin(async move {
            let state =
                state.ok_or_else(|| Problem(Error::Config("application state missing".into())))?;
            let (user, password) = credentials?;
            let actor = blocking(move || {
                let mut conn = state.pool.get()?;
                let user = sign_in(&mut conn, &user, &password, &address)?;
                if has_second_factor(&mut conn, &user.id)? {
                    // The password alone must not open what the UI opens only with a code.
                    return Err(Error::refused(
                        "second_factor_required",
                        "this account has a second factor, which HTTP Basic cannot carry: use the web UI (/ui), or an organisation's API client",
                    ));
                }
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
            // Refused before anything else runs, so a request without credentials is answered
            // 401 whatever else is wrong with it.
            let credential = match (token, certificate) {
                (Some(token), _) => Credential::Token(token),
                (None, Some(ClientCertificate(der))) => Credential::Certificate(der),
                (None, None) => {
                    return Err(Error::refused(
                        "bad_token",
                        "send your organisation's API token as `Authorization: Bearer mbd_…`, \
                         or connect over TLS with a client certificate bound to your system",
                    )
                    .into());
                }
            };
            let client = blocking(move || {
                let mut conn = state.pool.get()?;
                match credential {
                    Credential::Token(token) => authenticate_client(&mut conn, &token),
                    Credential::Certificate(der) => {
                        authenticate_client_certificate(&mut conn, &der)
                    }
                }
            })
            .await?;
            Ok(Agent(client))
        })
    }
}

/// What a system presented: a bearer token, or a client certificate (DER) over the TLS listener.
enum Credential {
    Token(String),
    Certificate(Vec<u8>),
}

/// Who acts for an organisation on the exchange API (EDE 4.2): its system, authenticated as an
/// [`Agent`], or one of its people, signing in with HTTP Basic as a [`Caller`] whose exchange
/// roles within the organisation decide what they may do.
pub enum Party {
    /// An API client: the organisation's own system, which may do whatever its organisation may.
    System(ApiClient),
    /// A person of the organisation.
    Person(Actor),
}

/// Exchange roles that may read what the organisation sent and received.
pub const READERS: &[Role] = &[Role::Clerk, Role::Signer, Role::Registrar, Role::Archivist];
/// Exchange roles that may send (EDE 4.2: the sender's signer, or a clerk it authorised).
pub const SENDERS: &[Role] = &[Role::Signer, Role::Clerk];
/// Exchange roles that register or refuse what arrived and sign receipts (EDE 5.3–5.4, 6.1).
pub const REGISTRARS: &[Role] = &[Role::Registrar];
/// Exchange roles that read and verify the journals and search the archive (EDE 6–7).
pub const KEEPERS: &[Role] = &[Role::Registrar, Role::Archivist];

impl Party {
    /// The organisation it acts for, once `roles` allow the action: a person needs one of them
    /// within the organisation (CSP 13.3 style refusal otherwise).
    pub fn acting_for(&self, roles: &[Role]) -> Result<OrganisationId, Error> {
        match self {
            Party::System(client) => Ok(client.organisation_id.clone()),
            Party::Person(actor) => {
                let organisation = actor.organisation.clone().ok_or_else(|| {
                    Error::Forbidden(format!(
                        "{} belongs to no organisation; an administrator adds the user with \
                         `mubadile users add --organisation`",
                        actor.id
                    ))
                })?;
                actor.require_in(&organisation, roles)?;
                Ok(organisation)
            }
        }
    }

    /// In which capacity it sends (EDE 4.2): an automated system as programmed, an agency's
    /// system for the person it authenticated, a signer as the sender itself, a clerk as a
    /// person the sender authorised.
    pub fn sender_kind(&self) -> Result<SenderKind, Error> {
        Ok(match self {
            Party::System(client) => match client.client_kind()? {
                ClientKind::AutomatedSystem => SenderKind::AutomatedSystem,
                ClientKind::AgencySystem => SenderKind::AuthorisedPerson,
            },
            Party::Person(actor) if actor.roles.has(Role::Signer) => SenderKind::Sender,
            Party::Person(_) => SenderKind::AuthorisedPerson,
        })
    }

    /// Who acts, as written to the record: `client:…` or `user:…`.
    pub fn actor_id(&self) -> String {
        match self {
            Party::System(client) => format!("client:{}", client.id),
            Party::Person(actor) => actor.id.clone(),
        }
    }
}

impl FromRequest for Party {
    type Error = Problem;
    type Future = Pin<Box<dyn Future<Output = Result<Party, Problem>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let basic = req
            .headers()
            .get("Authorization")
            .and_then(|h| h.to_str().ok())
            .is_some_and(|h| h.starts_with("Basic "));
        if basic {
            let person = Caller::from_request(req, payload);
            Box::pin(async move { Ok(Party::Person(person.await?.0)) })
        } else {
            let system = Agent::from_request(req, payload);
            Box::pin(async move { Ok(Party::System(system.await?.0)) })
        }
    }
}
