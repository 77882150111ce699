//! The one error type of `mubadile-core`.
//!
//! Which error to use where:
//! - input from outside the platform (a CSR, an OCSP request, a request body, a file) that cannot
//!   be parsed or is unacceptable: [`Error::InvalidInput`], naming what was wrong and what to do;
//! - a well-formed request that a rule refuses: [`Error::Refused`] with a stable code and the
//!   clause that refuses it;
//! - a caller without the role an action needs: [`Error::Forbidden`];
//! - infrastructure failures (database, keys, mail, files): their own variants, never shown to a
//!   user verbatim beyond the stable code.
//!
//! Every variant has a stable snake_case [`Error::code`] that the API puts in its RFC 9457 problem
//! details and that the UI translates.

use std::fmt;

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong inside `mubadile-core`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Outside input could not be parsed or is not acceptable; `what` names the input and
    /// `reason` says what is wrong and what to do about it.
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// The input that was wrong, e.g. "certificate request".
        what: &'static str,
        /// What is wrong with it and how to correct it.
        reason: String,
    },
    /// The request was understood but a rule refuses it.
    #[error("refused ({code}): {reason}")]
    Refused {
        /// Stable snake_case code, e.g. `duplicate_distinguished_name`.
        code: &'static str,
        /// Why, citing the rule clause where one applies.
        reason: String,
    },
    /// Something named by the caller does not exist.
    #[error("{what} {id} not found")]
    NotFound {
        /// The kind of thing, e.g. "certificate".
        what: &'static str,
        /// The identifier the caller gave.
        id: String,
    },
    /// The caller does not hold the role that the action needs (CSP 13.3).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A key could not be generated, loaded, unlocked or used.
    #[error("key error: {0}")]
    Crypto(String),
    /// The configuration is invalid.
    #[error("configuration error: {0}")]
    Config(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    /// A connection to the database could not be made or taken from the pool.
    #[error("database connection error: {0}")]
    Connection(String),
    /// Applying the embedded migrations failed.
    #[error("migration error: {0}")]
    Migration(String),
    /// A structure the platform builds itself could not be encoded; a bug, not bad input.
    #[error("encoding error: {0}")]
    Encoding(#[from] der::Error),
    /// Sending a notification failed.
    #[error("notification error: {0}")]
    Notify(String),
    /// Reading or writing a file failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// The stable snake_case code of this error, used by the API and translated by the UI.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidInput { .. } => "invalid_input",
            Error::Refused { code, .. } => code,
            Error::NotFound { .. } => "not_found",
            Error::Forbidden(_) => "forbidden",
            Error::Crypto(_) => "key_error",
            Error::Config(_) => "configuration_error",
            Error::Database(_) | Error::Connection(_) | Error::Migration(_) => "storage_error",
            Error::Encoding(_) => "encoding_error",
            Error::Notify(_) => "notification_error",
            Error::Io(_) => "io_error",
        }
    }

    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(what: &'static str, reason: impl fmt::Display) -> Self {
        Error::InvalidInput {
            what,
            reason: reason.to_string(),
        }
    }

    /// Shorthand for [`Error::Refused`].
    pub fn refused(code: &'static str, reason: impl fmt::Display) -> Self {
        Error::Refused {
            code,
            reason: reason.to_string(),
        }
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(what: &'static str, id: impl fmt::Display) -> Self {
        Error::NotFound {
            what,
            id: id.to_string(),
        }
    }
}

impl From<diesel::r2d2::PoolError> for Error {
    /// No connection could be taken from the pool in time (the database is down or every
    /// connection is busy).
    fn from(e: diesel::r2d2::PoolError) -> Self {
        Error::Connection(e.to_string())
    }
}
