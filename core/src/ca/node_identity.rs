//! The node's own TLS server certificate, issued by the platform's CA for the names the node
//! answers to: what its TLS listener presents to agencies' systems and other nodes. Kept as a
//! service certificate and replaced when it nears its end, misses a name, or its issuer's key
//! was changed (CSP 4.4).

use std::sync::Arc;

use chrono::Duration;
use der::Encode;
use diesel::prelude::*;
use x509_cert::Certificate;

use super::authority::{CertificateAuthority, LoadedCa, ca_name};
use super::certificate::{CertificateDraft, Issuer, new_serial, sign_certificate};
use super::names;
use super::profiles::Profile;
use crate::crypto::{KeyAlgorithm, Signer};
use crate::store::schema::service_certificates;
use crate::store::{serialize_writers, transaction};
use crate::time::{from_x509_time, now};
use crate::{Error, Result};

/// The identifiers of the service certificates: the TLS server certificate, and the TLS client
/// certificate the node presents to other nodes (federation).
const SERVER_ID: &str = "tls-server";
const CLIENT_ID: &str = "tls-client";

/// The node's TLS server identity: its certificate chain (DER, leaf first, root last) and key.
#[derive(Debug, Clone)]
pub struct NodeIdentity {
    /// Leaf, issuing CA, root.
    pub chain: Vec<Vec<u8>>,
    /// The key, in the platform's key store (a file or a PKCS#11 token).
    pub signer: Arc<dyn Signer>,
}

impl CertificateAuthority {
    /// The node's TLS server identity for `dns_names`: the one kept, or a new key and certificate
    /// from the issuing CA in force when the kept one ends within 30 days, lacks a name, or was
    /// issued under a retired key.
    pub fn node_identity(&self, dns_names: &[String]) -> Result<NodeIdentity> {
        self.service_identity(SERVER_ID, Profile::TlsServer, dns_names)
    }

    /// The node's TLS client identity, which it presents when it calls another node
    /// (federation): kept and renewed as [`CertificateAuthority::node_identity`], with the
    /// `clientAuth` extended key usage.
    pub fn node_client_identity(&self, dns_names: &[String]) -> Result<NodeIdentity> {
        self.service_identity(CLIENT_ID, Profile::TlsClient, dns_names)
    }

    fn service_identity(
        &self,
        id: &str,
        profile: Profile,
        dns_names: &[String],
    ) -> Result<NodeIdentity> {
        if dns_names.is_empty() {
            return Err(Error::Config(
                "the TLS listener needs at least one DNS name ([server] tls_names)".into(),
            ));
        }
        let ca = self.current_issuing(None)?;
        let mut conn = self.conn()?;
        let kept: Option<(Vec<u8>, String)> = service_certificates::table
            .find(id)
            .select((
                service_certificates::certificate,
                service_certificates::key_ref,
            ))
            .first(&mut conn)
            .optional()?;
        drop(conn);
        if let Some((der, key_ref)) = kept {
            let certificate = super::certificate::parse_certificate(&der)?;
            if still_fits(&certificate, &ca, dns_names) {
                return Ok(NodeIdentity {
                    chain: vec![der, ca.der.clone(), self.root.der.clone()],
                    signer: self.keys.load(&key_ref)?,
                });
            }
        }
        self.new_node_identity(id, profile, &ca, dns_names)
    }

    fn new_node_identity(
        &self,
        id: &str,
        profile: Profile,
        ca: &LoadedCa,
        dns_names: &[String],
    ) -> Result<NodeIdentity> {
        let at = now();
        let (signer, key_ref) = self.keys.generate(
            &format!("{id}-{}", at.format("%Y%m%d%H%M%S")),
            KeyAlgorithm::EcdsaP256,
        )?;
        let (not_after, _) = profile.validity(at);
        let draft = CertificateDraft {
            profile,
            serial: new_serial()?,
            subject: ca_name(&self.config, &dns_names[0])?,
            public_key: signer.public_key().clone(),
            not_before: at,
            not_after,
            key_usage_end: None,
            email: None,
            dns_names: dns_names.to_vec(),
            seal: None,
        };
        let certificate = sign_certificate(
            &draft,
            &Issuer {
                certificate: Some(&ca.certificate),
                label: &ca.label,
                signer: ca.signer.as_ref(),
                urls: &self.settings.urls,
                oids: &self.settings.oids,
            },
        )?;
        let der = certificate.to_der()?;
        transaction(&self.pool, |conn| {
            serialize_writers(conn, super::WRITE_LOCK)?;
            diesel::delete(service_certificates::table.find(id)).execute(conn)?;
            super::authority::register_service(
                conn,
                id,
                &ca.label,
                profile,
                &certificate,
                &der,
                &key_ref,
                at,
            )
        })?;
        tracing::info!(names = ?dns_names, profile = profile.name(), "new TLS certificate for this node");
        Ok(NodeIdentity {
            chain: vec![der, ca.der.clone(), self.root.der.clone()],
            signer,
        })
    }
}

/// Whether the kept certificate serves on: issued by the CA in force, every name in it, and
/// more than 30 days left.
fn still_fits(certificate: &Certificate, ca: &LoadedCa, dns_names: &[String]) -> bool {
    let tbs = &certificate.tbs_certificate;
    let ends = from_x509_time(&tbs.validity.not_after);
    tbs.issuer == ca.certificate.tbs_certificate.subject
        && ends > now() + Duration::days(30)
        && names::dns_names(certificate)
            .is_ok_and(|have| dns_names.iter().all(|n| have.contains(n)))
}
