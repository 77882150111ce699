//! The public URLs of the PKI, named in every certificate the CA issues. They must stay stable
//! for the life of the certificates, so they are derived in this one place from
//! `[server] public_url`.

/// The public URLs under one base.
#[derive(Debug, Clone)]
pub struct PkiUrls {
    base: String,
}

impl PkiUrls {
    /// URLs under `public_url` (trailing slashes are ignored).
    pub fn new(public_url: &str) -> PkiUrls {
        PkiUrls {
            base: public_url.trim_end_matches('/').to_string(),
        }
    }

    /// The full CRL of the CA `label` (DER).
    pub fn full_crl(&self, label: &str) -> String {
        format!("{}/pki/{label}/full.crl", self.base)
    }

    /// The delta CRL of the CA `label` (DER).
    pub fn delta_crl(&self, label: &str) -> String {
        format!("{}/pki/{label}/delta.crl", self.base)
    }

    /// The certificate of the CA `label` (DER), for AIA caIssuers.
    pub fn ca_certificate(&self, label: &str) -> String {
        format!("{}/pki/{label}/ca.crt", self.base)
    }

    /// The OCSP responder (RFC 6960, GET and POST).
    pub fn ocsp(&self) -> String {
        format!("{}/pki/ocsp", self.base)
    }

    /// The time-stamping authority (RFC 3161 over HTTP).
    pub fn tsa(&self) -> String {
        format!("{}/pki/tsa", self.base)
    }

    /// The certification practice statement.
    pub fn cps(&self) -> String {
        format!("{}/pki/cps", self.base)
    }
}
