//! The TLS listener: HTTPS with the node's own certificate from the platform's CA, and optional
//! client certificates, verified up to the platform's root, with which agencies' systems
//! authenticate instead of a bearer token ([`crate::auth::Agent`]). Browsers and token clients
//! connect without a client certificate.
//!
//! The node's key stays in the platform's key store (a file or a PKCS#11 token): TLS handshakes
//! are signed through the same [`Signer`] as everything else.

use std::any::Any;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use actix_tls::accept::rustls_0_23::TlsStream;
use actix_web::dev::Extensions;
use actix_web::rt::net::TcpStream;
use anyhow::Context;
use mubadile_core::ca::authority::CertificateAuthority;
use mubadile_core::crypto::{KeyAlgorithm, Signer};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureAlgorithm,
    SignatureScheme,
};

/// The TLS client certificate (DER) a connection presented, verified up to the platform's root.
#[derive(Debug, Clone)]
pub struct ClientCertificate(pub Vec<u8>);

/// The node's TLS server certificate as the listener presents it: replaced while the node runs
/// when [`NodeCertificate::refresh`] finds the CA renewed it (nearing its end, a name added, or
/// the issuing CA's key changed, CSP 4.4).
pub struct NodeCertificate {
    ca: Arc<CertificateAuthority>,
    names: Vec<String>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl NodeCertificate {
    /// The node's certificate for `names`, issued or renewed by its CA if need be.
    pub fn new(ca: Arc<CertificateAuthority>, names: Vec<String>) -> anyhow::Result<Self> {
        let current = RwLock::new(Arc::new(certified_key(&ca, &names)?));
        Ok(NodeCertificate { ca, names, current })
    }

    /// Asks the CA for the node's certificate again and presents it from the next handshake on
    /// if it changed; returns whether it did.
    pub fn refresh(&self) -> anyhow::Result<bool> {
        let fresh = certified_key(&self.ca, &self.names)?;
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if current.cert == fresh.cert {
            return Ok(false);
        }
        *current = Arc::new(fresh);
        Ok(true)
    }
}

impl std::fmt::Debug for NodeCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeCertificate")
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

impl ResolvesServerCert for NodeCertificate {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
    }
}

fn certified_key(ca: &CertificateAuthority, names: &[String]) -> anyhow::Result<CertifiedKey> {
    let identity = ca.node_identity(names)?;
    Ok(CertifiedKey::new(
        identity
            .chain
            .into_iter()
            .map(CertificateDer::from)
            .collect(),
        Arc::new(StoreKey(identity.signer)),
    ))
}

/// The rustls configuration of the listener presenting `certificate` and verifying client
/// certificates with `clients`.
pub fn server_config(
    certificate: Arc<NodeCertificate>,
    clients: Arc<ClientRoots>,
) -> anyhow::Result<ServerConfig> {
    let mut config = ServerConfig::builder_with_provider(clients.provider.clone())
        .with_safe_default_protocol_versions()
        .context("no TLS protocol version available")?
        .with_client_cert_verifier(clients)
        .with_cert_resolver(certificate);
    // HTTP/1.1 only: the server is built without HTTP/2 (see the workspace Cargo.toml).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// How often the listener reads the peers again: a peer added with `mubadile peer add` (or
/// removed) counts for handshakes within this time, without a restart.
pub const PEERS_READ_EVERY: Duration = Duration::from_secs(5);

/// The trust anchors of client certificates: the platform's root, or the root of a peer node's CA
/// (federation; which peer's, the federation endpoint decides). The peers' roots are replaced
/// while the node runs ([`ClientRoots::refresh`]). A client certificate is optional: browsers and
/// token clients connect without one.
///
/// No trust anchor names are hinted to clients (an empty `certificate_authorities` list, which
/// asks a client to send whatever certificate it has): the hints would have to change with the
/// peers, and rustls borrows them from the verifier for the whole handshake.
#[derive(Debug)]
pub struct ClientRoots {
    provider: Arc<CryptoProvider>,
    platform_root: Vec<u8>,
    current: RwLock<InUse>,
}

/// The peers' roots in use and the verifier made of them.
#[derive(Debug)]
struct InUse {
    peer_roots: Vec<Vec<u8>>,
    verifier: Arc<dyn ClientCertVerifier>,
}

impl ClientRoots {
    /// Client certificates up to the platform's root or one of `peer_roots`.
    pub fn new(ca: &CertificateAuthority, peer_roots: Vec<Vec<u8>>) -> anyhow::Result<Self> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let platform_root = ca.root().der.clone();
        let verifier = verifier(&provider, &platform_root, &peer_roots)?;
        Ok(ClientRoots {
            provider,
            platform_root,
            current: RwLock::new(InUse {
                peer_roots,
                verifier,
            }),
        })
    }

    /// Verifies from the next handshake on up to `peer_roots` (and the platform's root) if they
    /// differ from the roots in use; returns whether they did.
    pub fn refresh(&self, peer_roots: Vec<Vec<u8>>) -> anyhow::Result<bool> {
        if self.read().peer_roots == peer_roots {
            return Ok(false);
        }
        let verifier = verifier(&self.provider, &self.platform_root, &peer_roots)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = InUse {
            peer_roots,
            verifier,
        };
        Ok(true)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, InUse> {
        self.current.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn verifier(&self) -> Arc<dyn ClientCertVerifier> {
        self.read().verifier.clone()
    }
}

fn verifier(
    provider: &Arc<CryptoProvider>,
    platform_root: &[u8],
    peer_roots: &[Vec<u8>],
) -> anyhow::Result<Arc<dyn ClientCertVerifier>> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(platform_root.to_vec()))
        .context("the platform's root certificate is not usable as a TLS trust anchor")?;
    for der in peer_roots {
        roots
            .add(CertificateDer::from(der.clone()))
            .context("a peer's root certificate is not usable as a TLS trust anchor")?;
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .context("cannot build the client certificate verifier")
}

impl ClientCertVerifier for ClientRoots {
    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.verifier()
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verifier().verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verifier().verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.verifier().supported_verify_schemes()
    }
}

/// Keeps the client certificate of a TLS connection for the requests on it
/// (`HttpServer::on_connect`).
pub fn keep_client_certificate(connection: &dyn Any, data: &mut Extensions) {
    let Some(stream) = connection.downcast_ref::<TlsStream<TcpStream>>() else {
        return;
    };
    let (_, session) = stream.get_ref();
    if let Some(chain) = session.peer_certificates() {
        if let Some(leaf) = chain.first() {
            data.insert(ClientCertificate(leaf.to_vec()));
        }
        data.insert(ClientChain(chain.iter().map(|c| c.to_vec()).collect()));
    }
}

/// Every certificate (DER) the TLS client presented, leaf first: a peer node's certificate is
/// verified again under that peer's roots alone.
#[derive(Debug, Clone)]
pub struct ClientChain(pub Vec<Vec<u8>>);

/// A key of the platform's key store as rustls' signing key.
#[derive(Debug)]
pub(crate) struct StoreKey(pub(crate) Arc<dyn Signer>);

impl rustls::sign::SigningKey for StoreKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn rustls::sign::Signer>> {
        // The platform's signers hash as their curve requires and return what TLS expects for
        // these schemes: DER ECDSA-Sig-Value, or the raw Ed25519 signature.
        let scheme = match self.0.algorithm() {
            KeyAlgorithm::EcdsaP256 => SignatureScheme::ECDSA_NISTP256_SHA256,
            KeyAlgorithm::EcdsaP384 => SignatureScheme::ECDSA_NISTP384_SHA384,
            KeyAlgorithm::Ed25519 => SignatureScheme::ED25519,
            // RSA PKCS#1 v1.5 is not allowed for TLS 1.3 handshakes; the node's key is ECDSA.
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => return None,
        };
        offered.contains(&scheme).then(|| {
            Box::new(StoreSigner {
                key: self.0.clone(),
                scheme,
            }) as Box<dyn rustls::sign::Signer>
        })
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        match self.0.algorithm() {
            KeyAlgorithm::Ed25519 => SignatureAlgorithm::ED25519,
            KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384 => SignatureAlgorithm::ECDSA,
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => {
                SignatureAlgorithm::RSA
            }
        }
    }
}

#[derive(Debug)]
struct StoreSigner {
    key: Arc<dyn Signer>,
    scheme: SignatureScheme,
}

impl rustls::sign::Signer for StoreSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        self.key
            .sign(message)
            .map_err(|e| rustls::Error::General(format!("the node's key cannot sign: {e}")))
    }

    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }
}
