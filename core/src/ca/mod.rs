//! The embedded certificate authority (CSP, GOV, SVC in RULES.md).

pub mod certificate;
pub mod csr;
pub mod names;
pub mod oids;
pub mod profiles;
pub mod urls;
