//! Bytes as standard base64 strings in serialised messages (`#[serde(with = "base64_serde")]`):
//! compact and fast in JSON, where a byte array would be a list of numbers.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Writes bytes as base64.
pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&STANDARD.encode(bytes))
}

/// Reads base64 (surrounding whitespace allowed) into bytes.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
    STANDARD
        .decode(text.trim())
        .map_err(|e| serde::de::Error::custom(format!("not base64: {e}")))
}

#[derive(Serialize, Deserialize)]
#[serde(transparent)]
struct Encoded(#[serde(with = "self")] Vec<u8>);

/// `Vec<Vec<u8>>` as a list of base64 strings.
pub mod list {
    use super::*;

    /// Writes each item as base64.
    pub fn serialize<S: Serializer>(items: &[Vec<u8>], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(items.iter().map(|b| STANDARD.encode(b)))
    }

    /// Reads a list of base64 strings.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        Ok(Vec::<Encoded>::deserialize(d)?
            .into_iter()
            .map(|e| e.0)
            .collect())
    }
}

/// `Option<Vec<u8>>` as an optional base64 string.
pub mod optional {
    use super::*;

    /// Writes present bytes as base64, absent ones as null.
    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => super::serialize(b, s),
            None => s.serialize_none(),
        }
    }

    /// Reads an optional base64 string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Ok(Option::<Encoded>::deserialize(d)?.map(|e| e.0))
    }
}

/// `Option<(Vec<u8>, Vec<u8>)>` as an optional pair of base64 strings.
pub mod optional_pair {
    use super::*;

    /// Two byte strings, e.g. an issuer and a serial number.
    pub type Pair = (Vec<u8>, Vec<u8>);

    /// Writes a present pair as two base64 strings.
    pub fn serialize<S: Serializer>(pair: &Option<Pair>, s: S) -> Result<S::Ok, S::Error> {
        pair.as_ref()
            .map(|(a, b)| (STANDARD.encode(a), STANDARD.encode(b)))
            .serialize(s)
    }

    /// Reads an optional pair of base64 strings.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Pair>, D::Error> {
        Ok(Option::<(Encoded, Encoded)>::deserialize(d)?.map(|(a, b)| (a.0, b.0)))
    }
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Message {
        #[serde(with = "super")]
        one: Vec<u8>,
        #[serde(with = "super::list")]
        many: Vec<Vec<u8>>,
        #[serde(default, with = "super::optional")]
        maybe: Option<Vec<u8>>,
        #[serde(default, with = "super::optional_pair")]
        pair: Option<(Vec<u8>, Vec<u8>)>,
    }

    #[test]
    fn bytes_travel_as_base64_and_come_back() {
        let m = Message {
            one: vec![0, 255],
            many: vec![vec![1], vec![]],
            maybe: Some(vec![2]),
            pair: Some((vec![3], vec![4])),
        };
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(
            json,
            r#"{"one":"AP8=","many":["AQ==",""],"maybe":"Ag==","pair":["Aw==","BA=="]}"#
        );
        assert_eq!(serde_json::from_str::<Message>(&json).unwrap(), m);
        let absent: Message = serde_json::from_str(r#"{"one":"","many":[]}"#).unwrap();
        assert_eq!(absent.maybe, None);
    }
}
