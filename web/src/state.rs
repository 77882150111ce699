//! What every request handler shares.

use std::sync::Arc;

use mubadile_core::accounts::second_factor::SecondFactorKey;
use mubadile_core::ca::authority::CertificateAuthority;
use mubadile_core::config::Config;
use mubadile_core::exchange::Exchange;
use mubadile_core::store::DbPool;
use mubadile_core::validation::PlatformValidation;

/// The application state.
pub struct AppState {
    /// The configuration in force.
    pub config: Config,
    /// The database.
    pub pool: DbPool,
    /// The embedded CA.
    pub ca: Arc<CertificateAuthority>,
    /// Signature validation, with its caches shared by every request.
    pub validation: Arc<PlatformValidation>,
    /// The exchange engine.
    pub exchange: Arc<Exchange>,
    /// Wakes the delivery worker when a document was sent.
    pub deliveries: Arc<tokio::sync::Notify>,
    /// The key that encrypts second-factor secrets at rest.
    pub second_factor_key: Arc<SecondFactorKey>,
    /// The certificate the TLS listener presents, when there is one.
    pub node_certificate: Option<Arc<crate::tls::NodeCertificate>>,
}
