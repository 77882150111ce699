//! Bytes as standard base64 strings in JSON (`#[serde(with = "crate::serde_base64")]`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serializer};

/// Writes bytes as base64.
pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&STANDARD.encode(bytes))
}

/// Reads base64 (surrounding whitespace allowed) into bytes.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    let text = String::deserialize(deserializer)?;
    STANDARD
        .decode(text.trim())
        .map_err(|e| serde::de::Error::custom(format!("not base64: {e}")))
}

/// `Option<Vec<u8>>` as an optional base64 string (`#[serde(default, with = "…::optional")]`).
pub mod optional {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes present bytes as base64, absent ones as null.
    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => super::serialize(b, s),
            None => s.serialize_none(),
        }
    }

    /// Reads an optional base64 string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        #[derive(Deserialize)]
        struct Present(#[serde(with = "super")] Vec<u8>);
        Ok(Option::<Present>::deserialize(d)?.map(|p| p.0))
    }
}
