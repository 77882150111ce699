//! The validation report as ETSI TS 119 102-2 XML (namespace `http://uri.etsi.org/19102/v1.2.1#`):
//! one `SignatureValidationReport` per signature with its identifier, times, signer, status and
//! certificate chain, and every certificate, revocation answer and timestamp it relied on as a
//! validation object. Tests check the output against the ETSI schema with xmllint.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, Utc};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use super::report::{SignatureReport, ValidationReport};
use super::{Indication, SubIndication};
use crate::crypto::{digest, oids};
use crate::pki::Status;
use crate::{Error, Result};

const VR: &str = "http://uri.etsi.org/19102/v1.2.1#";
const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
const SHA256_URI: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

type Xml = Writer<Vec<u8>>;
type XmlResult = std::io::Result<()>;

/// One object the report refers to by id.
struct ValidationObject {
    id: String,
    kind: &'static str,
    der: Vec<u8>,
    poe: Option<DateTime<Utc>>,
}

impl ValidationReport {
    /// The report as ETSI TS 119 102-2 XML.
    pub fn to_etsi_xml(&self) -> Result<String> {
        let mut objects: Vec<ValidationObject> = Vec::new();
        let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
        let written: XmlResult = (|| {
            w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
            w.create_element("vr:ValidationReport")
                .with_attribute(("xmlns:vr", VR))
                .with_attribute(("xmlns:ds", DS))
                .write_inner_content(|w| {
                    for s in &self.signatures {
                        signature(w, self, s, &mut objects)?;
                    }
                    if !objects.is_empty() {
                        w.create_element("vr:SignatureValidationObjects")
                            .write_inner_content(|w| {
                                for o in &objects {
                                    validation_object(w, o)?;
                                }
                                Ok(())
                            })?;
                    }
                    Ok(())
                })?;
            Ok(())
        })();
        written.map_err(|e| Error::Io(std::io::Error::other(format!("XML report: {e}"))))?;
        String::from_utf8(w.into_inner())
            .map_err(|e| Error::Io(std::io::Error::other(format!("XML report: {e}"))))
    }
}

fn signature(
    w: &mut Xml,
    report: &ValidationReport,
    s: &SignatureReport,
    objects: &mut Vec<ValidationObject>,
) -> XmlResult {
    let mut reference = |kind: &'static str, der: &[u8], poe: Option<DateTime<Utc>>| {
        let id = format!(
            "{}-{}",
            match kind {
                "certificate" => "C",
                "timestamp" => "T",
                _ => "R",
            },
            sha256_hex(der)
        );
        if !objects.iter().any(|o| o.id == id) {
            objects.push(ValidationObject {
                id: id.clone(),
                kind,
                der: der.to_vec(),
                poe,
            });
        }
        id
    };
    let chain: Vec<String> = s
        .chain
        .iter()
        .map(|c| reference("certificate", &c.certificate, None))
        .collect();
    let revocations: Vec<(String, &crate::pki::RevocationAnswer, &String)> = s
        .chain
        .iter()
        .zip(&chain)
        .filter_map(|(c, id)| c.revocation.as_ref().map(|r| (r, id)))
        .map(|(r, id)| {
            let kind = if r.kind == "crl" {
                "CRL"
            } else {
                "OCSPResponse"
            };
            (reference(kind, &r.der, None), r, id)
        })
        .collect();
    let timestamps: Vec<(String, Option<DateTime<Utc>>)> = s
        .timestamps
        .iter()
        .map(|t| (reference("timestamp", &t.token, t.time), t.time))
        .collect();

    w.create_element("vr:SignatureValidationReport")
        .write_inner_content(|w| {
            w.create_element("vr:SignatureIdentifier")
                .with_attribute(("id", xml_id(&s.id).as_str()))
                .write_inner_content(|w| {
                    w.create_element("ds:SignatureValue")
                        .write_text_content(BytesText::new(&STANDARD.encode(&s.signature_value)))?;
                    text(w, "vr:HashOnly", "false")?;
                    text(w, "vr:DocHashOnly", "false")
                })?;
            w.create_element("vr:ValidationTimeInfo")
                .write_inner_content(|w| {
                    text(w, "vr:ValidationTime", &time(report.validation_time))?;
                    w.create_element("vr:BestSignatureTime")
                        .write_inner_content(|w| {
                            // A timestamp proves the signature older; without one, only the
                            // validation itself does.
                            let at = s.proven_signing_time.unwrap_or(report.validation_time);
                            text(w, "vr:POETime", &time(at))?;
                            text(w, "vr:TypeOfProof", "urn:etsi:019102:poetype:validation")
                        })?;
                    Ok(())
                })?;
            w.create_element("vr:SignersDocument")
                .write_inner_content(|w| {
                    w.create_element("vr:DigestAlgAndValue")
                        .write_inner_content(|w| {
                            w.create_element("ds:DigestMethod")
                                .with_attribute(("Algorithm", SHA256_URI))
                                .write_empty()?;
                            let hash = hex::decode(&report.document.sha256).unwrap_or_default();
                            text(w, "ds:DigestValue", &STANDARD.encode(hash))
                        })?;
                    Ok(())
                })?;
            if s.claimed_signing_time.is_some() || !timestamps.is_empty() {
                w.create_element("vr:SignatureAttributes")
                    .write_inner_content(|w| {
                        if let Some(t) = s.claimed_signing_time {
                            w.create_element("vr:SigningTime")
                                .with_attribute(("Signed", "true"))
                                .write_inner_content(|w| text(w, "vr:Time", &time(t)))?;
                        }
                        for (id, at) in &timestamps {
                            let Some(at) = at else { continue };
                            w.create_element("vr:SignatureTimeStamp")
                                .with_attribute(("Signed", "false"))
                                .write_inner_content(|w| {
                                    vo_reference(w, "vr:AttributeObject", id)?;
                                    text(w, "vr:TimeStampValue", &time(*at))
                                })?;
                        }
                        Ok(())
                    })?;
            }
            if let (Some(signer), Some(leaf)) = (&s.signer, chain.first()) {
                w.create_element("vr:SignerInformation")
                    .with_attribute(("Pseudonym", if signer.pseudonym { "true" } else { "false" }))
                    .write_inner_content(|w| {
                        vo_reference(w, "vr:SignerCertificate", leaf)?;
                        text(w, "vr:Signer", &signer.name)
                    })?;
            }
            w.create_element("vr:SignatureValidationProcess")
                .write_inner_content(|w| {
                    let process = if s.timestamps.is_empty() {
                        "urn:etsi:019102:validationprocess:Basic"
                    } else {
                        "urn:etsi:019102:validationprocess:LTVM"
                    };
                    text(w, "vr:SignatureValidationProcessID", process)
                })?;
            w.create_element("vr:SignatureValidationStatus")
                .write_inner_content(|w| {
                    text(w, "vr:MainIndication", main_indication(s.indication))?;
                    if let Some(sub) = s.sub_indication {
                        text(w, "vr:SubIndication", &sub_indication(sub))?;
                    }
                    if chain.is_empty() {
                        return Ok(());
                    }
                    w.create_element("vr:AssociatedValidationReportData")
                        .write_inner_content(|w| {
                            w.create_element("vr:CertificateChain")
                                .write_inner_content(|w| {
                                    let anchor = s.chain.last().is_some_and(|c| c.trust_anchor);
                                    let last = chain.len() - 1;
                                    for (i, id) in chain.iter().enumerate() {
                                        let name = match i {
                                            0 => "vr:SigningCertificate",
                                            i if i == last && anchor => "vr:TrustAnchor",
                                            _ => "vr:IntermediateCertificate",
                                        };
                                        vo_reference(w, name, id)?;
                                    }
                                    Ok(())
                                })?;
                            for (id, _, _) in &revocations {
                                vo_reference(w, "vr:RelatedValidationObject", id)?;
                            }
                            if let Some((id, answer, certificate)) = revocations
                                .iter()
                                .find(|(_, r, _)| matches!(r.status, Status::Revoked { .. }))
                                && let Status::Revoked { at, reason } = &answer.status
                            {
                                w.create_element("vr:RevocationStatusInformation")
                                    .write_inner_content(|w| {
                                        vo_reference(w, "vr:ValidationObjectId", certificate)?;
                                        text(w, "vr:RevocationTime", &time(*at))?;
                                        if let Some(reason) = reason {
                                            text(
                                                w,
                                                "vr:RevocationReason",
                                                &format!(
                                                    "urn:etsi:019102:revocationReason:{}",
                                                    lower_camel(reason.name())
                                                ),
                                            )?;
                                        }
                                        vo_reference(w, "vr:RevocationObject", id)
                                    })?;
                            }
                            Ok(())
                        })?;
                    Ok(())
                })?;
            Ok(())
        })?;
    Ok(())
}

fn validation_object(w: &mut Xml, o: &ValidationObject) -> XmlResult {
    w.create_element("vr:ValidationObject")
        .with_attribute(("id", o.id.as_str()))
        .write_inner_content(|w| {
            text(
                w,
                "vr:ObjectType",
                &format!("urn:etsi:019102:validationObject:{}", o.kind),
            )?;
            w.create_element("vr:ValidationObjectRepresentation")
                .write_inner_content(|w| text(w, "vr:base64", &STANDARD.encode(&o.der)))?;
            if let Some(at) = o.poe {
                w.create_element("vr:POE").write_inner_content(|w| {
                    text(w, "vr:POETime", &time(at))?;
                    text(w, "vr:TypeOfProof", "urn:etsi:019102:poetype:validation")
                })?;
            }
            Ok(())
        })?;
    Ok(())
}

fn text(w: &mut Xml, name: &str, value: &str) -> XmlResult {
    w.create_element(name)
        .write_text_content(BytesText::new(value))?;
    Ok(())
}

fn vo_reference(w: &mut Xml, name: &str, id: &str) -> XmlResult {
    w.create_element(name)
        .with_attribute(("VOReference", id))
        .write_empty()?;
    Ok(())
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn main_indication(i: Indication) -> &'static str {
    match i {
        Indication::TotalPassed => "urn:etsi:019102:mainindication:total-passed",
        Indication::TotalFailed => "urn:etsi:019102:mainindication:total-failed",
        Indication::Indeterminate => "urn:etsi:019102:mainindication:indeterminate",
    }
}

fn sub_indication(s: SubIndication) -> String {
    format!("urn:etsi:019102:subindication:{}", s.name())
}

/// An `xs:ID` made of a signature id (`s-…/c-…` holds a slash, which an NCName may not).
fn xml_id(id: &str) -> String {
    format!("S-{}", id.replace('/', "."))
}

fn lower_camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn sha256_hex(der: &[u8]) -> String {
    hex::encode(digest(&oids::ID_SHA_256, der).unwrap_or_default())
}
