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
