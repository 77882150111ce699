//! Two-step external signing (DESIGN.md "Signing flows"): the platform prepares the data to be
//! signed, the holder signs them on their own token, and the platform inserts the value. The
//! holder's private key never reaches the platform.
//!
//! Nothing is kept between the two steps: the session travels with the client, so a restart or
//! another node in between loses nothing. `finish` inserts only a value that verifies with the
//! certificate's public key over the prepared data, so a wrong key, a wrong certificate or a
//! damaged session never produces a signed file.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use der::Encode;
use mubadile_plugin_api::{FormatPlugin, Prepared, SignRequest, SignTarget};
use serde::{Deserialize, Serialize};
use x509_cert::ext::pkix::KeyUsages;

use super::{SignatureOptions, plugin_error};
use crate::crypto::{KeyAlgorithm, digest, ecdsa_signature_der, verify_signature};
use crate::pki::CertificateFacts;
use crate::{Error, Result};

/// How long a prepared signing session may be finished.
pub const SESSION_LIFETIME: Duration = Duration::hours(1);

/// What the holder's token must sign, and the session to finish with.
#[derive(Debug, Clone, Serialize)]
pub struct Preparation {
    /// The bytes to sign with the certificate's key (tokens that hash themselves sign these).
    #[serde(with = "crate::serde_base64")]
    pub data_to_be_signed: Vec<u8>,
    /// The digest algorithm the signature uses.
    pub digest_algorithm: &'static str,
    /// The digest of `data_to_be_signed`, for tokens that sign a digest.
    #[serde(with = "crate::serde_base64")]
    pub digest: Vec<u8>,
    /// The signature algorithm the value must be made with.
    pub signature_algorithm: &'static str,
    /// The key algorithm of the certificate.
    pub key_algorithm: &'static str,
    /// Opaque; give it back to finish.
    pub session: String,
    /// After this the session cannot be finished; prepare again.
    pub expires_at: DateTime<Utc>,
}

/// A prepared signing session, as the client gives it back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SigningSession {
    version: u8,
    plugin: String,
    request: SignRequest,
    prepared: Prepared,
    expires_at: i64,
}

impl SigningSession {
    /// Reads a session string made by [`prepare`].
    pub fn decode(text: &str) -> Result<SigningSession> {
        let damaged = || {
            Error::invalid(
                "session",
                "not a signing session this platform prepared, or damaged in transit; prepare again",
            )
        };
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| damaged())?;
        let session: SigningSession = serde_json::from_slice(&bytes).map_err(|_| damaged())?;
        if session.version != 1 {
            return Err(damaged());
        }
        Ok(session)
    }

    fn encode(&self) -> Result<String> {
        let json = serde_json::to_vec(self)
            .map_err(|e| Error::Crypto(format!("cannot encode the signing session: {e}")))?;
        Ok(URL_SAFE_NO_PAD.encode(json))
    }

    /// The bytes the holder's token signs.
    pub fn data_to_be_signed(&self) -> &[u8] {
        &self.prepared.data_to_be_signed
    }

    /// The name of the format plugin that prepared it.
    pub fn plugin(&self) -> &str {
        &self.plugin
    }
}

/// Step one: prepares a signature over `target` by the holder of `certificate` (DER), carrying
/// `chain`, claiming `now` as the signing time, placed as `options` say (a visible stamp, a
/// certification, a field to sign into).
pub fn prepare(
    plugin: &dyn FormatPlugin,
    target: SignTarget,
    certificate: &[u8],
    chain: &[Vec<u8>],
    now: DateTime<Utc>,
    options: SignatureOptions,
) -> Result<Preparation> {
    let facts = CertificateFacts::parse(certificate)?;
    if !facts.valid_at(now) {
        return Err(Error::refused(
            "certificate_not_in_force",
            format!(
                "the certificate is valid from {} to {}, not now; sign with a certificate in force",
                facts.not_before, facts.not_after
            ),
        ));
    }
    if let Some(period) = facts.private_key_usage
        && (period.start.is_some_and(|s| now < s) || period.end.is_some_and(|e| now > e))
    {
        // CSP 3.13: outside privateKeyUsagePeriod the key may no longer sign.
        return Err(Error::refused(
            "private_key_usage_period",
            "the certificate's private key usage period (CSP 3.13) does not include now; the key may not sign any more",
        ));
    }
    if !facts.allows(KeyUsages::DigitalSignature) && !facts.allows(KeyUsages::NonRepudiation) {
        return Err(Error::refused(
            "certificate_not_for_signing",
            "the certificate's key usage allows neither digital signatures nor non-repudiation",
        ));
    }
    let appearance = options
        .appearance
        .map(|requested| super::stamp::from_certificate(requested, &facts))
        .transpose()?;
    let algorithm =
        KeyAlgorithm::of_public_key(&facts.certificate.tbs_certificate.subject_public_key_info)?;
    let request = SignRequest {
        target,
        signer_certificate: certificate.to_vec(),
        chain: chain.to_vec(),
        signature_algorithm: algorithm.signature_algorithm().to_der()?,
        digest_algorithm: algorithm.digest_oid().to_string(),
        signing_time: now.timestamp(),
        appearance,
        certify: options.certify,
        field: options.field,
    };
    let prepared = plugin.prepare(&request).map_err(plugin_error)?;
    let expires_at = now + SESSION_LIFETIME;
    let session = SigningSession {
        version: 1,
        plugin: plugin.name().to_string(),
        request,
        prepared,
        expires_at: expires_at.timestamp(),
    };
    Ok(Preparation {
        digest: digest(&algorithm.digest_oid(), &session.prepared.data_to_be_signed)?,
        data_to_be_signed: session.prepared.data_to_be_signed.clone(),
        digest_algorithm: digest_name(algorithm),
        signature_algorithm: signature_name(algorithm),
        key_algorithm: algorithm.name(),
        session: session.encode()?,
        expires_at,
    })
}

/// Step two: inserts `signature_value` (DER, or r‖s for ECDSA) into the prepared document.
pub fn finish(
    plugin: &dyn FormatPlugin,
    session: &SigningSession,
    signature_value: &[u8],
    now: DateTime<Utc>,
) -> Result<Vec<u8>> {
    if plugin.name() != session.plugin {
        return Err(Error::invalid(
            "session",
            format!(
                "prepared by the {} plugin, not {}",
                session.plugin,
                plugin.name()
            ),
        ));
    }
    if now.timestamp() > session.expires_at {
        return Err(Error::refused(
            "signing_session_expired",
            format!(
                "the signing session expired at {}; prepare again",
                DateTime::from_timestamp(session.expires_at, 0).unwrap_or_default()
            ),
        ));
    }
    let facts = CertificateFacts::parse(&session.request.signer_certificate)?;
    let spki = &facts.certificate.tbs_certificate.subject_public_key_info;
    let algorithm = KeyAlgorithm::of_public_key(spki)?;
    let signed = &session.prepared.data_to_be_signed;
    let verifies = |value: &[u8]| {
        verify_signature(spki, &algorithm.signature_algorithm(), signed, value).is_ok()
    };
    let value = if verifies(signature_value) {
        signature_value.to_vec()
    } else {
        let reencoded = matches!(algorithm, KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384)
            .then(|| ecdsa_signature_der(signature_value).ok())
            .flatten()
            .filter(|der| verifies(der));
        reencoded.ok_or_else(|| {
            Error::invalid(
                "signature value",
                format!(
                    "it does not verify with the certificate's public key: sign data_to_be_signed \
                     with {} using the key of this certificate ({})",
                    signature_name(algorithm),
                    facts.subject()
                ),
            )
        })?
    };
    plugin
        .finish(&session.request, &session.prepared, &value)
        .map_err(plugin_error)
}

fn digest_name(algorithm: KeyAlgorithm) -> &'static str {
    match algorithm {
        KeyAlgorithm::EcdsaP384 => "SHA-384",
        KeyAlgorithm::Ed25519 => "SHA-512",
        _ => "SHA-256",
    }
}

fn signature_name(algorithm: KeyAlgorithm) -> &'static str {
    match algorithm {
        KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => {
            "RSASSA-PKCS1-v1_5 with SHA-256"
        }
        KeyAlgorithm::EcdsaP256 => "ECDSA with SHA-256",
        KeyAlgorithm::EcdsaP384 => "ECDSA with SHA-384",
        KeyAlgorithm::Ed25519 => "Ed25519",
    }
}

#[cfg(test)]
mod tests {
    use der::Decode;
    use mubadile_plugin_cms::CmsPlugin;

    use super::*;
    use crate::crypto::{KeyAlgorithm, Signer, SoftwareKey};
    use crate::testkit::{openssl_cms_verifies, openssl_ok};

    /// A P-256 key and a self-signed signing certificate for it, made by openssl.
    fn holder(dir: &std::path::Path) -> (SoftwareKey, Vec<u8>) {
        let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        std::fs::write(dir.join("k.der"), key.to_pkcs8_der().unwrap()).unwrap();
        openssl_ok(
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                "k.der",
                "-keyform",
                "DER",
                "-subj",
                "/CN=holder",
                "-addext",
                "keyUsage=critical,digitalSignature,nonRepudiation",
                "-days",
                "1",
                "-outform",
                "DER",
                "-out",
                "c.der",
            ],
            dir,
        );
        (key, std::fs::read(dir.join("c.der")).unwrap())
    }

    fn raw_r_s(der_signature: &[u8]) -> Vec<u8> {
        #[derive(der::Sequence)]
        struct Sig<'a> {
            r: der::asn1::UintRef<'a>,
            s: der::asn1::UintRef<'a>,
        }
        let sig = Sig::from_der(der_signature).unwrap();
        let mut raw = vec![0u8; 64];
        let (r, s) = (sig.r.as_bytes(), sig.s.as_bytes());
        raw[32 - r.len()..32].copy_from_slice(r);
        raw[64 - s.len()..].copy_from_slice(s);
        raw
    }

    #[test]
    fn a_token_value_as_r_s_is_accepted_and_a_late_or_foreign_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let (key, certificate) = holder(dir.path());
        let now = crate::time::now();
        let target = SignTarget::New {
            content: b"letter".to_vec(),
            attached: true,
        };
        let prepared = prepare(
            &CmsPlugin,
            target,
            &certificate,
            &[],
            now,
            SignatureOptions::default(),
        )
        .unwrap();
        assert_eq!(prepared.signature_algorithm, "ECDSA with SHA-256");
        let session = SigningSession::decode(&prepared.session).unwrap();
        let value = key.sign(&prepared.data_to_be_signed).unwrap();

        let signed = finish(&CmsPlugin, &session, &raw_r_s(&value), now).unwrap();
        std::fs::write(dir.path().join("s.p7m"), &signed).unwrap();
        std::fs::write(
            dir.path().join("c.pem"),
            der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &certificate).unwrap(),
        )
        .unwrap();
        std::fs::rename(dir.path().join("c.pem"), dir.path().join("root.pem")).unwrap();
        openssl_cms_verifies(dir.path(), "s.p7m", None);

        let late = now + SESSION_LIFETIME + Duration::seconds(1);
        let e = finish(&CmsPlugin, &session, &value, late).unwrap_err();
        assert_eq!(e.code(), "signing_session_expired");

        let other = SoftwareKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let foreign = other.sign(&prepared.data_to_be_signed).unwrap();
        let e = finish(&CmsPlugin, &session, &foreign, now).unwrap_err();
        assert!(e.to_string().contains("does not verify"), "{e}");

        assert!(SigningSession::decode("eyJub3QiOiJpdCJ9").is_err());
    }
}
