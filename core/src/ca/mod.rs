//! The embedded certificate authority (CSP, GOV, SVC in RULES.md).

pub mod audit;
pub mod authority;
pub mod certificate;
pub mod crl;
pub mod csr;
pub mod keystore;
pub mod lifecycle;
pub mod names;
pub mod ocsp;
pub mod oids;
pub mod profiles;
pub mod publication;
pub mod reason;
pub mod register;
mod scenarios;
pub mod statistics;
pub mod tsa;
pub mod urls;
