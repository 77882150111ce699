//! The embedded certificate authority (CSP, GOV, SVC in RULES.md).

/// The lock every CA write transaction takes first ([`crate::store::serialize_writers`]): CA
/// changes read before they write (name uniqueness, CRL numbers, the audit chain), and a CA
/// changes rarely enough that one writer at a time costs nothing that matters.
pub(crate) const WRITE_LOCK: i64 = 7_312_100;

pub mod audit;
pub mod authority;
pub mod certificate;
pub mod crl;
pub mod csr;
pub mod key_change;
pub mod keystore;
pub mod lifecycle;
pub mod names;
pub mod node_identity;
pub mod ocsp;
pub mod ocsp_cache;
pub mod oids;
pub mod profiles;
pub mod publication;
pub mod reason;
pub mod register;
pub mod renewal;
pub mod requests;
mod scenarios;
pub mod statistics;
pub mod tsa;
pub mod urls;
