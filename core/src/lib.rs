//! Mübadilə core: the domain and the rules of the platform.
//!
//! No HTTP and no HTML live here (DESIGN.md). The modules follow the layout of DESIGN.md:
//! `config` (one TOML file plus environment overrides), `store` (diesel over SQLite or
//! PostgreSQL), `crypto` (keys and the one [`crypto::Signer`] trait), and `ca` (the embedded
//! certificate authority of the CSP, GOV and SVC rules).

pub mod accounts;
pub mod ca;
pub mod config;
pub mod crypto;
pub mod error;
pub mod exchange;
pub mod journal;
pub mod notify;
pub mod operations;
pub mod pki;
pub mod schedule;
pub mod serde_base64;
pub mod signing;
pub mod store;
pub mod time;
pub mod validation;

#[cfg(any(test, feature = "testkit"))]
pub mod testkit;

pub use error::{Error, Result};
