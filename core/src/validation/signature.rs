//! Validating one signature from its evidence: the three stages of SVR 2.3 in the order of
//! ETSI EN 319 102-1 (format, identification of the signing certificate, cryptographic checks,
//! then the certificate's validity at the signing time, SVR 2.5).

use chrono::{DateTime, Utc};
use const_oid::ObjectIdentifier;
use der::Decode;
use mubadile_plugin_api::{SignatureEvidence, SignerReference, ValidationData};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::pkix::KeyUsages;

use super::Validator;
use super::indication::{Indication, SubIndication};
use super::policy::{AlgorithmPolicy, OnWeak};
use super::report::{ChainEntry, SignatureReport, TimestampReport};
use crate::crypto::{digest, oids, verify_cms_signature};
use crate::pki::{
    CertificateFacts, Embedded, PathProblem, Status, TrustAnchors, build_path, check_timestamp,
};

/// What was found, in order; the first finding of the worst indication decides.
struct Findings {
    found: Vec<(Indication, SubIndication, String)>,
    messages: Vec<String>,
    warnings: Vec<String>,
}

impl Findings {
    fn fail(&mut self, sub: SubIndication, why: impl Into<String>) {
        self.found.push((Indication::TotalFailed, sub, why.into()));
    }
    fn indeterminate(&mut self, sub: SubIndication, why: impl Into<String>) {
        self.found
            .push((Indication::Indeterminate, sub, why.into()));
    }
    fn decided(&self) -> bool {
        self.found
            .iter()
            .any(|(i, ..)| *i == Indication::TotalFailed)
    }
}

/// Validates one signature at `at` (the validation time) against `anchors`.
pub fn validate_signature(
    validator: &Validator,
    evidence: &SignatureEvidence,
    anchors: &TrustAnchors,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> SignatureReport {
    let mut f = Findings {
        found: Vec::new(),
        messages: Vec::new(),
        // What the format shows beside the result (a PDF's certification and the changes
        // permitted after the signature, SVR 4.2.7), first.
        warnings: evidence.notes.clone(),
    };
    let mut report = SignatureReport {
        id: evidence.id.clone(),
        counter_signature_of: evidence.counter_signature_of.clone(),
        level: evidence.level.clone(),
        indication: Indication::TotalPassed,
        sub_indication: None,
        result: Indication::TotalPassed.result(),
        messages: Vec::new(),
        warnings: Vec::new(),
        signer: None,
        claimed_signing_time: evidence
            .claimed_signing_time
            .and_then(|t| DateTime::from_timestamp(t, 0)),
        proven_signing_time: None,
        timestamps: Vec::new(),
        chain: Vec::new(),
        validation_data: Default::default(),
        signature_value: evidence.signature_value.clone(),
    };
    check(validator, evidence, anchors, at, now, &mut f, &mut report);
    let worst = f
        .found
        .iter()
        .map(|(i, ..)| *i)
        .max()
        .unwrap_or(Indication::TotalPassed);
    if let Some((_, sub, why)) = f.found.iter().find(|(i, ..)| *i == worst) {
        report.sub_indication = Some(*sub);
        report.messages.push(why.clone());
    }
    report.messages.extend(f.messages);
    report.warnings = f.warnings;
    report.indication = worst;
    report.result = worst.result();
    report
}

fn check(
    validator: &Validator,
    ev: &SignatureEvidence,
    anchors: &TrustAnchors,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    f: &mut Findings,
    report: &mut SignatureReport,
) {
    // Format.
    let data_missing = ev
        .data_digest
        .as_ref()
        .is_some_and(|d| d.computed.is_none())
        || ev.signed_bytes.is_empty();
    if data_missing {
        f.indeterminate(
            SubIndication::SignedDataNotFound,
            "the signed data is not at hand; give the detached data with the signature",
        );
    }
    for problem in &ev.format_problems {
        if !data_missing || !problem.contains("detached") {
            f.fail(SubIndication::FormatFailure, problem.clone());
        }
    }

    // SVR 2.3.1: the signing certificate.
    let mut pool: Vec<CertificateFacts> = Vec::new();
    for der in &ev.certificates {
        match CertificateFacts::parse(der) {
            Ok(c) => pool.push(c),
            Err(e) => f
                .messages
                .push(format!("a certificate in the signature is ignored: {e}")),
        }
    }
    pool.extend(validator.known_certificates.iter().cloned());
    let Some(signer) = find_signer(&ev.signer, &pool) else {
        f.indeterminate(
            SubIndication::NoSigningCertificateFound,
            "the signing certificate is neither in the signature nor known to the platform",
        );
        return;
    };
    report.signer = Some(signer.holder());
    match ev.signing_certificate_references.first() {
        Some(reference) => {
            let matches = ObjectIdentifier::new(&reference.hash_algorithm)
                .ok()
                .and_then(|alg| digest(&alg, &signer.der).ok())
                .is_some_and(|h| h == reference.hash);
            if !matches {
                f.indeterminate(
                    SubIndication::NoSigningCertificateFound,
                    "the signing-certificate attribute names another certificate than the one found",
                );
                return;
            }
        }
        None => f.warnings.push(
            "the signature does not bind its certificate (no signing-certificate attribute): it is plain CMS, not CAdES"
                .into(),
        ),
    }

    // SVR 2.3.3, SVR 3.2: the document's hash and the signature value.
    if let Some(d) = &ev.data_digest
        && let Some(computed) = &d.computed
        && *computed != d.claimed
    {
        f.fail(
            SubIndication::HashFailure,
            "the document was changed after it was signed (its hash differs from the signed one) (SVR 4.2.7)",
        );
    }
    let signature_algorithm = AlgorithmIdentifierOwned::from_der(&ev.signature_algorithm);
    let digest_algorithm = ObjectIdentifier::new(&ev.digest_algorithm);
    let crypto_ok = match (&signature_algorithm, &digest_algorithm) {
        (Ok(alg), Ok(dig)) if !data_missing => verify_cms_signature(
            &signer.certificate.tbs_certificate.subject_public_key_info,
            alg,
            dig,
            &ev.signed_bytes,
            &ev.signature_value,
        )
        .is_ok(),
        _ => false,
    };
    if !crypto_ok && !data_missing {
        f.fail(
            SubIndication::SigCryptoFailure,
            "the signature value does not verify with the signing certificate's key",
        );
    }
    if f.decided() {
        return;
    }

    // Timestamps: proof of existence (SVR 2.5).
    let mut proven: Option<DateTime<Utc>> = None;
    for ts in &ev.timestamps {
        match check_timestamp(&ts.token, &ts.covered_data, &pool) {
            Ok(checked) => {
                let mut tsa_pool = pool.clone();
                tsa_pool.extend(checked.certificates.iter().cloned());
                let problem = match build_path(&checked.tsa, &tsa_pool, anchors, &validator.edges) {
                    Err(p) => Some(path_words(&p)),
                    Ok(path) => revocation_problem(
                        validator,
                        &path,
                        ev,
                        (checked.gen_time, at, now),
                        &mut report.validation_data,
                    ),
                };
                if problem.is_none() {
                    proven = Some(proven.map_or(checked.gen_time, |p| p.min(checked.gen_time)));
                }
                report.timestamps.push(TimestampReport {
                    time: Some(checked.gen_time),
                    tsa: Some(checked.tsa.subject()),
                    accepted: problem.is_none(),
                    problem,
                    token: ts.token.clone(),
                });
            }
            Err(why) => report.timestamps.push(TimestampReport {
                time: None,
                tsa: None,
                accepted: false,
                problem: Some(why),
                token: ts.token.clone(),
            }),
        }
    }
    report.proven_signing_time = proven;
    let claimed = report.claimed_signing_time;
    let signing_time = proven.or(claimed).unwrap_or(at);

    // SVR 2.5: in force at the signing time.
    match proven.or(claimed) {
        Some(t) if t > signer.not_after => f.fail(
            SubIndication::Expired,
            format!(
                "the signing certificate expired on {} before the signature was made ({})",
                signer.not_after, t
            ),
        ),
        Some(t) if t < signer.not_before => f.fail(
            SubIndication::NotYetValid,
            format!("the signing certificate was not yet valid when the signature was made ({t})"),
        ),
        _ => {}
    }
    if proven.is_none() && at > signer.not_after {
        f.indeterminate(
            SubIndication::OutOfBoundsNoPoe,
            "the signing certificate has expired and no timestamp proves the signature is older",
        );
    }
    // CSP 3.13: the private key signs only within its usage period.
    if let Some(period) = signer.private_key_usage
        && (period.start.is_some_and(|s| signing_time < s)
            || period.end.is_some_and(|e| signing_time > e))
    {
        if proven.or(claimed).is_some() {
            f.fail(
                SubIndication::Expired,
                "the signature was made outside the key's private key usage period (CSP 3.13)",
            );
        } else {
            f.indeterminate(
                SubIndication::OutOfBoundsNoPoe,
                "the key's private key usage period is over and nothing proves the signature is older (CSP 3.13)",
            );
        }
    }
    // SVR 2.5: used in the relations stated in it.
    if !signer.allows(KeyUsages::DigitalSignature) && !signer.allows(KeyUsages::NonRepudiation) {
        f.indeterminate(
            SubIndication::ChainConstraintsFailure,
            "the signing certificate's key usage does not allow signatures",
        );
    }
    if !validator.accepted_policies.is_empty()
        && !signer
            .policies
            .iter()
            .any(|p| validator.accepted_policies.contains(p))
    {
        f.indeterminate(
            SubIndication::ChainConstraintsFailure,
            "the signing certificate carries no certificate policy this platform accepts",
        );
    }

    // The path to a trusted anchor (GOV 1.3).
    let path = match build_path(&signer, &pool, anchors, &validator.edges) {
        Ok(path) => path,
        Err(PathProblem::NoChain(why)) => {
            f.indeterminate(SubIndication::NoCertificateChainFound, why);
            return;
        }
        Err(PathProblem::NotAnIssuer(why)) => {
            f.indeterminate(SubIndication::ChainConstraintsFailure, why);
            return;
        }
    };
    for issuer in path.iter().skip(1) {
        if !issuer.valid_at(signing_time) && path.last() != Some(issuer) {
            f.indeterminate(
                SubIndication::CertificateChainGeneralFailure,
                format!("{} was not in force at the signing time", issuer.subject()),
            );
        }
    }

    // SVR 2.5: not suspended or revoked.
    let embedded = Embedded {
        crls: &ev.crls,
        ocsp_responses: &ev.ocsp_responses,
        certificates: &ev.certificates,
    };
    for (i, cert) in path.iter().enumerate() {
        let anchor = i + 1 == path.len();
        let mut entry = ChainEntry {
            subject: cert.subject(),
            serial: hex::encode(cert.serial()),
            sha256: hex::encode(&cert.sha256),
            not_before: cert.not_before,
            not_after: cert.not_after,
            trust_anchor: anchor,
            revocation: None,
            certificate: cert.der.clone(),
        };
        record_certificate(&mut report.validation_data, cert);
        if !anchor {
            let issuer = &path[i + 1];
            match validator
                .revocation
                .check(cert, issuer, &embedded, signing_time, at, now)
            {
                Ok(answer) => {
                    record_answer(&mut report.validation_data, &answer);
                    judge_status(&answer.status, cert, proven, claimed, f);
                    entry.revocation = Some(answer);
                }
                Err(tried) => f.indeterminate(
                    SubIndication::TryLater,
                    format!(
                        "the revocation status of {} cannot be known now; verify again later ({})",
                        cert.subject(),
                        tried.join("; ")
                    ),
                ),
            }
        }
        report.chain.push(entry);
    }

    // The algorithm policy, at the time that counts (EN 319 102-1 5.2.8).
    let policy_time = proven.unwrap_or(at);
    let mut weak = Vec::new();
    if let Ok(dig) = &digest_algorithm {
        weak.extend(
            validator
                .policy
                .digest_weakness(digest_name(dig), policy_time),
        );
    }
    weak.extend(key_weakness(&validator.policy, &signer, policy_time));
    for cert in path.iter().take(path.len().saturating_sub(1)) {
        if let Some(name) = signature_digest_name(&cert.certificate.signature_algorithm.oid) {
            weak.extend(
                validator
                    .policy
                    .digest_weakness(name, policy_time)
                    .map(|w| format!("{}: {w}", cert.subject())),
            );
        }
    }
    for w in weak {
        match validator.policy.on_weak {
            OnWeak::Indeterminate => {
                f.indeterminate(SubIndication::CryptoConstraintsFailureNoPoe, w)
            }
            OnWeak::Failed => f.fail(SubIndication::CryptoConstraintsFailureNoPoe, w),
            OnWeak::Warn => f.warnings.push(w),
        }
    }
}

fn judge_status(
    status: &Status,
    cert: &CertificateFacts,
    proven: Option<DateTime<Utc>>,
    claimed: Option<DateTime<Utc>>,
    f: &mut Findings,
) {
    match status {
        Status::Good => {}
        Status::Revoked { at: revoked, .. } => match proven {
            Some(p) if *revoked > p => f.messages.push(format!(
                "{} was revoked on {revoked}, after the timestamp proved the signature existed ({p})",
                cert.subject()
            )),
            Some(p) => f.fail(
                SubIndication::Revoked,
                format!("{} was revoked on {revoked}, before the signature was made ({p})", cert.subject()),
            ),
            None if claimed.is_some_and(|c| c >= *revoked) => f.fail(
                SubIndication::Revoked,
                format!("{} was revoked on {revoked}, before the signing time the signature claims", cert.subject()),
            ),
            None => f.indeterminate(
                SubIndication::RevokedNoPoe,
                format!("{} was revoked on {revoked} and no timestamp proves the signature is older", cert.subject()),
            ),
        },
        Status::Suspended { since } => match proven {
            Some(p) if *since > p => f.messages.push(format!(
                "{} is suspended since {since}, after the timestamp proved the signature existed ({p})",
                cert.subject()
            )),
            _ => f.indeterminate(
                SubIndication::TryLater,
                format!(
                    "{} is suspended since {since}; verify again once it is restored or revoked",
                    cert.subject()
                ),
            ),
        },
    }
}

fn find_signer(reference: &SignerReference, pool: &[CertificateFacts]) -> Option<CertificateFacts> {
    match reference {
        SignerReference::IssuerSerial { issuer, serial } => pool
            .iter()
            .find(|c| c.issuer_der == *issuer && c.serial() == serial.as_slice()),
        SignerReference::KeyIdentifier(id) => {
            pool.iter().find(|c| c.subject_key_id.as_ref() == Some(id))
        }
        SignerReference::Certificate(der) => pool.iter().find(|c| c.der == *der),
    }
    .cloned()
    .or_else(|| match reference {
        SignerReference::Certificate(der) => CertificateFacts::parse(der).ok(),
        _ => None,
    })
}

fn revocation_problem(
    validator: &Validator,
    path: &[CertificateFacts],
    ev: &SignatureEvidence,
    (time, at, now): (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>),
    used: &mut ValidationData,
) -> Option<String> {
    let embedded = Embedded {
        crls: &ev.crls,
        ocsp_responses: &ev.ocsp_responses,
        certificates: &ev.certificates,
    };
    for cert in path {
        record_certificate(used, cert);
    }
    for pair in path.windows(2) {
        let answer = validator
            .revocation
            .check(&pair[0], &pair[1], &embedded, time, at, now);
        if let Ok(answer) = &answer {
            record_answer(used, answer);
        }
        match answer {
            Ok(answer) => match answer.status {
                Status::Good => {}
                Status::Revoked { at: r, .. } | Status::Suspended { since: r } if r > time => {}
                _ => {
                    return Some(format!(
                        "{} was revoked or suspended when it made the timestamp",
                        pair[0].subject()
                    ));
                }
            },
            Err(tried) => {
                return Some(format!(
                    "the revocation status of {} cannot be known now ({})",
                    pair[0].subject(),
                    tried.join("; ")
                ));
            }
        }
    }
    None
}

fn record_certificate(used: &mut ValidationData, cert: &CertificateFacts) {
    if !used.certificates.contains(&cert.der) {
        used.certificates.push(cert.der.clone());
    }
}

fn record_answer(used: &mut ValidationData, answer: &crate::pki::RevocationAnswer) {
    let list = if answer.kind == "crl" {
        &mut used.crls
    } else {
        &mut used.ocsp_responses
    };
    if !list.iter().any(|d| d.as_slice() == answer.der.as_slice()) {
        list.push(answer.der.as_ref().clone());
    }
}

fn path_words(problem: &PathProblem) -> String {
    match problem {
        PathProblem::NoChain(w) | PathProblem::NotAnIssuer(w) => w.clone(),
    }
}

/// The algorithm policy's name of the digest `oid` (`unknown` for one it cannot name).
pub(crate) fn digest_name(oid: &ObjectIdentifier) -> &'static str {
    if *oid == oids::ID_SHA_1 {
        "sha1"
    } else if *oid == oids::ID_SHA_256 {
        "sha256"
    } else if *oid == oids::ID_SHA_384 {
        "sha384"
    } else if *oid == oids::ID_SHA_512 {
        "sha512"
    } else {
        "unknown"
    }
}

/// The policy's name of the digest inside the signature algorithm `oid`.
pub(crate) fn signature_digest_name(oid: &ObjectIdentifier) -> Option<&'static str> {
    if *oid == oids::SHA_1_WITH_RSA_ENCRYPTION {
        Some("sha1")
    } else if *oid == oids::SHA_256_WITH_RSA_ENCRYPTION || *oid == oids::ECDSA_WITH_SHA_256 {
        Some("sha256")
    } else if *oid == oids::SHA_384_WITH_RSA_ENCRYPTION || *oid == oids::ECDSA_WITH_SHA_384 {
        Some("sha384")
    } else if *oid == oids::SHA_512_WITH_RSA_ENCRYPTION || *oid == oids::ECDSA_WITH_SHA_512 {
        Some("sha512")
    } else {
        None
    }
}

/// Why the key certified by `signer` is weak at `at` under `policy`, if it is.
pub(crate) fn key_weakness(
    policy: &AlgorithmPolicy,
    signer: &CertificateFacts,
    at: DateTime<Utc>,
) -> Option<String> {
    let spki = &signer.certificate.tbs_certificate.subject_public_key_info;
    if spki.algorithm.oid == oids::RSA_ENCRYPTION {
        let bits = crate::crypto::rsa_modulus_bits(spki.subject_public_key.raw_bytes())?;
        policy.rsa_weakness(bits, at)
    } else if spki.algorithm.oid == oids::ID_EC_PUBLIC_KEY {
        let curve = crate::crypto::named_curve(&spki.algorithm).ok()?;
        let name = if curve == oids::SECP_256_R_1 {
            "P-256"
        } else if curve == oids::SECP_384_R_1 {
            "P-384"
        } else {
            "unknown"
        };
        policy.curve_weakness(name, at)
    } else if spki.algorithm.oid == oids::ED25519 {
        policy.curve_weakness("Ed25519", at)
    } else {
        Some(format!(
            "the key algorithm {} is not in the algorithm policy",
            spki.algorithm.oid
        ))
    }
}
