//! Bodies of `POST /api/v1/validations` (SVR 2.3).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The JSON form of the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationBody {
    /// The signed document.
    #[serde(with = "mubadile_core::serde_base64")]
    pub document: Vec<u8>,
    /// The signed data of a detached signature.
    #[serde(default, with = "mubadile_core::serde_base64::optional")]
    pub detached_content: Option<Vec<u8>>,
    /// Validate as of this time instead of now.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

/// The query of the raw form (the signed file itself as the body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationQuery {
    /// Validate as of this time instead of now.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}
