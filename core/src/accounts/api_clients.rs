//! API clients: the systems of agencies and the automated information systems that act for an
//! organisation over REST (EDE 4.2). Each holds a bearer token shown once at creation; only its
//! SHA-256 is stored, which suffices because the token is 256 random bits.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::exchange::OrganisationId;
use crate::store::DbConnection;
use crate::store::schema::api_clients;
use crate::{Error, Result};

/// What kind of system a client is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    /// An agency's system acting for the persons it authenticates (an authorised person,
    /// EDE 4.2).
    AgencySystem,
    /// An automated information system acting as the sender programmed it (EDE 4.2).
    AutomatedSystem,
}

impl ClientKind {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            ClientKind::AgencySystem => "agency_system",
            ClientKind::AutomatedSystem => "automated_system",
        }
    }

    /// Parses the stored or given name.
    pub fn parse(name: &str) -> Result<ClientKind> {
        match name {
            "agency_system" => Ok(ClientKind::AgencySystem),
            "automated_system" => Ok(ClientKind::AutomatedSystem),
            other => Err(Error::invalid(
                "client kind",
                format!("{other:?} is not one of agency_system, automated_system"),
            )),
        }
    }
}

/// A stored client.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = api_clients)]
pub struct ApiClient {
    /// Identifier.
    pub id: String,
    /// The organisation it acts for.
    pub organisation_id: OrganisationId,
    /// A name people recognise, e.g. "e-Kargüzarlıq".
    pub name: String,
    /// `agency_system` or `automated_system`.
    pub kind: String,
    /// SHA-256 (hex) of the token.
    #[serde(skip)]
    pub token_hash: String,
    /// When it was created (UTC).
    pub created_at: NaiveDateTime,
    /// When its token was revoked, if it was.
    pub revoked_at: Option<NaiveDateTime>,
    /// The subject (RFC 4514) of the TLS client certificate it may also authenticate with.
    pub certificate_subject: Option<String>,
}

impl ApiClient {
    /// Its kind.
    pub fn client_kind(&self) -> Result<ClientKind> {
        ClientKind::parse(&self.kind)
    }
}

/// The prefix of every token, so that a leaked token is easy to recognise in logs and scanners.
pub const TOKEN_PREFIX: &str = "mbd_";

/// Creates a client of `organisation` and returns it with its token, shown this once.
pub fn create_client(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
    name: &str,
    kind: ClientKind,
) -> Result<(ApiClient, String)> {
    if name.trim().is_empty() {
        return Err(Error::invalid(
            "client name",
            "give the system a name people recognise",
        ));
    }
    crate::exchange::organisation(conn, organisation)?;
    let token = format!(
        "{TOKEN_PREFIX}{}",
        hex::encode(crate::crypto::random_bytes::<32>()?)
    );
    let client = ApiClient {
        id: hex::encode(crate::crypto::random_bytes::<8>()?),
        organisation_id: organisation.clone(),
        name: name.trim().to_string(),
        kind: kind.name().to_string(),
        token_hash: hex::encode(crate::crypto::sha256(token.as_bytes())),
        created_at: crate::time::to_db(crate::time::now()),
        revoked_at: None,
        certificate_subject: None,
    };
    diesel::insert_into(api_clients::table)
        .values(&client)
        .execute(conn)?;
    Ok((client, token))
}

/// The client holding `token`, unless the token is unknown or revoked.
pub fn authenticate_client(conn: &mut DbConnection, token: &str) -> Result<ApiClient> {
    let refused = || {
        Error::refused(
            "bad_token",
            "the API token is unknown or revoked; ask your administrator for a new one",
        )
    };
    if !token.starts_with(TOKEN_PREFIX) {
        return Err(refused());
    }
    let hash = hex::encode(crate::crypto::sha256(token.as_bytes()));
    api_clients::table
        .filter(api_clients::token_hash.eq(hash))
        .filter(api_clients::revoked_at.is_null())
        .select(ApiClient::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(refused)
}

/// Lets the client `id` also authenticate with a TLS client certificate (profile `tls-client`)
/// from the platform's CA whose subject is that of `certificate` (DER, or PEM with the client's
/// certificate first, as in a chain file): any certificate in
/// force with that subject, so a renewal or a re-issue after a CA key change (CSP 4.4) needs no
/// new binding. Returns the subject bound.
pub fn bind_client_certificate(
    conn: &mut DbConnection,
    id: &str,
    certificate: &[u8],
) -> Result<String> {
    // A PEM chain, as TLS clients keep it, names the client's own certificate first.
    const END: &[u8] = b"-----END CERTIFICATE-----";
    let first = certificate
        .windows(END.len())
        .position(|w| w == END)
        .map_or(certificate, |at| &certificate[..at + END.len()]);
    let der = crate::ca::csr::pem_or_der(first, "CERTIFICATE")?;
    let certificate = crate::ca::certificate::parse_certificate(&der)?;
    let subject = crate::ca::names::display(&certificate.tbs_certificate.subject);
    let taken: Option<String> = api_clients::table
        .filter(api_clients::certificate_subject.eq(&subject))
        .filter(api_clients::id.ne(id))
        .select(api_clients::id)
        .first(conn)
        .optional()?;
    if let Some(other) = taken {
        return Err(Error::refused(
            "certificate_bound",
            format!("the certificate subject {subject} is bound to client {other} already"),
        ));
    }
    let changed = diesel::update(api_clients::table.find(id))
        .filter(api_clients::revoked_at.is_null())
        .set(api_clients::certificate_subject.eq(Some(&subject)))
        .execute(conn)?;
    if changed == 0 {
        return Err(Error::not_found("active API client", id));
    }
    Ok(subject)
}

/// Finds the client bound to the TLS client certificate `der` that the listener verified up to
/// the platform's root: refused unless the register holds the certificate and it is in force
/// now (not suspended or revoked: the register answers at once, without waiting for a CRL).
pub fn authenticate_client_certificate(conn: &mut DbConnection, der: &[u8]) -> Result<ApiClient> {
    let certificate = crate::ca::certificate::parse_certificate(der)?;
    let tbs = &certificate.tbs_certificate;
    let serial = crate::ca::register::Serial::from_bytes(tbs.serial_number.as_bytes());
    let subject = crate::ca::names::display(&tbs.subject);
    let record = crate::ca::register::find(conn, &serial).map_err(|_| {
        Error::refused(
            "certificate_unknown",
            format!("client certificate {serial} is not in the platform's register"),
        )
    })?;
    if record.der != der {
        return Err(Error::refused(
            "certificate_unknown",
            format!("client certificate {serial} is not the one the register holds"),
        ));
    }
    if record.status != crate::ca::register::CertificateStatus::Valid.name() {
        return Err(Error::refused(
            "certificate_not_in_force",
            format!(
                "client certificate {serial} is {}; ask the registration office",
                record.status
            ),
        ));
    }
    api_clients::table
        .filter(api_clients::certificate_subject.eq(&subject))
        .filter(api_clients::revoked_at.is_null())
        .select(ApiClient::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            Error::refused(
                "certificate_not_bound",
                format!(
                    "no API client is bound to the certificate subject {subject}; an administrator \
                     binds it with `mubadile org bind-certificate CLIENT CERTIFICATE`"
                ),
            )
        })
}

/// Revokes a client's token; the client cannot act again.
pub fn revoke_client(conn: &mut DbConnection, id: &str) -> Result<()> {
    let changed = diesel::update(api_clients::table.find(id))
        .filter(api_clients::revoked_at.is_null())
        .set(api_clients::revoked_at.eq(crate::time::to_db(crate::time::now())))
        .execute(conn)?;
    if changed == 0 {
        return Err(Error::not_found("active API client", id));
    }
    Ok(())
}
