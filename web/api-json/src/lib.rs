//! The JSON request bodies of the REST API (`/api/v1`), as the handlers deserialize them.
//!
//! They hold no logic (STYLE.md: API types apart from domain types, as crates.io keeps its JSON
//! views in their own crate). They live in a crate of their own so that the fuzz target
//! `fuzz/fuzz_targets/api_json.rs` reads hostile bodies through exactly the types the server
//! uses. Each also serializes, so that the fuzz target checks the round trip.

pub mod documents;
pub mod signatures;
pub mod validations;
