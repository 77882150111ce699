//! Pre-signed OCSP responses (RFC 6960 2.2 allows responses produced ahead of the request) for
//! requests without a nonce: the same request bytes get the same signed answer for at most
//! [`MAX_AGE`]. Requests with a nonce are signed each time, but the register's answer for each
//! certificate is kept as long, so they cost a signature and no database read. Every status
//! change on this node clears both at once; another node's change is seen within [`MAX_AGE`],
//! well inside the CRL interval the rules allow (CSP 9.4).

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use der::Decode;
use x509_ocsp::{OcspRequest, OcspResponse, OcspResponseStatus};

use super::ocsp::CertStatusAnswer;

/// Longest time a cached answer is served.
pub const MAX_AGE: Duration = Duration::seconds(60);

/// Entries kept at most; the cache starts afresh when full.
const CAPACITY: usize = 100_000;

/// A signed response and when it was produced, by request bytes.
type Entries = HashMap<Vec<u8>, (Vec<u8>, DateTime<Utc>)>;

/// The register's answer and when it was read, by issuing CA label and serial number.
type Statuses = HashMap<(String, Vec<u8>), (CertStatusAnswer, DateTime<Utc>)>;

/// The cache.
#[derive(Debug, Default)]
pub struct OcspCache {
    entries: Mutex<Entries>,
    statuses: Mutex<Statuses>,
}

impl OcspCache {
    /// The cached answer to `request`, if fresh.
    pub fn get(&self, request: &[u8], now: DateTime<Utc>) -> Option<Vec<u8>> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(request)
            .filter(|(_, produced)| now - *produced < MAX_AGE)
            .map(|(r, _)| r.clone())
    }

    /// Keeps `response` for `request` when the request has no nonce and the answer succeeded.
    pub fn put(&self, request: &[u8], response: &[u8], now: DateTime<Utc>) {
        let nonce_free = OcspRequest::from_der(request)
            .map(|r| r.nonce().is_none())
            .unwrap_or(false);
        let successful = OcspResponse::from_der(response)
            .map(|r| r.response_status == OcspResponseStatus::Successful)
            .unwrap_or(false);
        if !(nonce_free && successful) {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert(request.to_vec(), (response.to_vec(), now));
        }
    }

    /// The register's answer for the certificate `serial` of the CA `label`, if read within
    /// [`MAX_AGE`].
    pub fn status(
        &self,
        label: &str,
        serial: &[u8],
        now: DateTime<Utc>,
    ) -> Option<CertStatusAnswer> {
        let statuses = self.statuses.lock().ok()?;
        statuses
            .get(&(label.to_string(), serial.to_vec()))
            .filter(|(_, read)| now - *read < MAX_AGE)
            .map(|(answer, _)| *answer)
    }

    /// Keeps the register's `answer` for the certificate `serial` of the CA `label`.
    pub fn put_status(
        &self,
        label: &str,
        serial: &[u8],
        answer: CertStatusAnswer,
        now: DateTime<Utc>,
    ) {
        if let Ok(mut statuses) = self.statuses.lock() {
            if statuses.len() >= CAPACITY {
                statuses.clear();
            }
            statuses.insert((label.to_string(), serial.to_vec()), (answer, now));
        }
    }

    /// Forgets everything; called after every status change.
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
        if let Ok(mut statuses) = self.statuses.lock() {
            statuses.clear();
        }
    }
}
