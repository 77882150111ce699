//! Bytes as standard base64 strings in JSON (`#[serde(with = "crate::serde_base64")]`); the one
//! implementation lives with the plugin contract, whose messages carry bytes the same way.

pub use mubadile_plugin_api::base64_serde::*;
