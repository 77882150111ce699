//! The envelope that travels between organisations: an ASiC-E container (ETSI EN 319 162-1)
//! that any outside tool can open, holding
//!
//! - `mimetype` (`application/vnd.etsi.asic-e+zip`, first and stored),
//! - `requisites.xml`, the document's requisites (EDE 3.1–3.2) in the platform's schema
//!   (`docs/schemas/requisites.xsd`, [`super::requisites::xml`]); envelopes sealed before that
//!   schema carry `requisites.json` instead, and still open,
//! - `document/NAME`, the main document, signed in its own format (CAdES, PAdES, XAdES),
//! - `attachments/NAME`, any attachments,
//! - `META-INF/ASiCManifest.xml`, naming every data object with its SHA-256 digest,
//! - `META-INF/signature001.p7s`, the sending organisation's seal: a detached CAdES signature
//!   over the manifest, which binds the requisites, the document and its attachments together
//!   (EDE 8.3: requisites and signatures are protected together with the document).
//!
//! Nothing in it depends on the platform's database (DESIGN.md "The envelope").

use std::collections::BTreeMap;

use base64::Engine;
use quick_xml::events::Event;

use super::requisites::Requisites;
use crate::{Error, Result};

/// The envelope's media type (ETSI EN 319 162-1 A.1).
pub const MEDIA_TYPE: &str = "application/vnd.etsi.asic-e+zip";
/// Where the manifest lives.
pub const MANIFEST: &str = "META-INF/ASiCManifest.xml";
/// Where the seal lives.
pub const SEAL: &str = "META-INF/signature001.p7s";
/// Where the requisites live.
pub const REQUISITES: &str = "requisites.xml";
/// Where envelopes sealed before `requisites.xml` keep their requisites, as JSON (version 1).
/// Still read so that stored envelopes, archival packages and deliveries pending across an
/// upgrade open and verify as before (EDE 7.1.1, 7.3); never written.
pub const LEGACY_REQUISITES: &str = "requisites.json";
/// The folder of the main document.
const DOCUMENT_DIR: &str = "document/";
/// The folder of attachments.
const ATTACHMENT_DIR: &str = "attachments/";

const SHA256_URI: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

/// One file in the envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataObject {
    /// The file's name, without folder.
    pub name: String,
    /// Its media type, e.g. `application/pdf`.
    pub media_type: String,
    /// Its bytes.
    pub content: Vec<u8>,
}

/// What an envelope carries, before or after it is sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contents {
    /// The requisites.
    pub requisites: Requisites,
    /// The main document.
    pub document: DataObject,
    /// The attachments.
    pub attachments: Vec<DataObject>,
}

/// An envelope read back: its contents, the manifest exactly as stored and the seal.
#[derive(Debug, Clone)]
pub struct Opened {
    /// What it carries, every digest already checked against the manifest.
    pub contents: Contents,
    /// The manifest's bytes: the data the seal signs.
    pub manifest: Vec<u8>,
    /// The seal (a DER CMS SignedData, detached).
    pub seal: Vec<u8>,
}

impl Contents {
    /// Checks the names of the files, which become paths inside the container.
    pub fn check_names(&self) -> Result<()> {
        // The main document lives in its own folder, so only attachments can collide.
        let mut attachment_names = std::collections::BTreeSet::new();
        for object in std::iter::once(&self.document).chain(&self.attachments) {
            check_name(&object.name)?;
            if object.media_type.trim().is_empty() || object.media_type.contains(['"', '<', '&']) {
                return Err(Error::invalid(
                    "file",
                    format!(
                        "{:?} needs a media type such as application/pdf",
                        object.name
                    ),
                ));
            }
        }
        for attachment in &self.attachments {
            if !attachment_names.insert(attachment.name.as_str()) {
                return Err(Error::invalid(
                    "attachment",
                    format!(
                        "two attachments are named {:?}; rename one",
                        attachment.name
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The manifest over these contents: the data the seal signs.
    pub fn manifest(&self) -> Result<Vec<u8>> {
        self.check_names()?;
        let requisites = super::requisites::xml::write(&self.requisites);
        let mut xml = String::from(concat!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
            "\n",
            r#"<asic:ASiCManifest xmlns:asic="http://uri.etsi.org/02918/v1.2.1#" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">"#,
            "\n",
        ));
        xml.push_str(&format!(
            "  <asic:SigReference URI=\"{SEAL}\" MimeType=\"application/pkcs7-signature\"/>\n"
        ));
        for (path, media_type, content) in self.paths(&requisites) {
            xml.push_str(&format!(
                concat!(
                    "  <asic:DataObjectReference URI=\"{}\" MimeType=\"{}\">\n",
                    "    <ds:DigestMethod Algorithm=\"{}\"/>\n",
                    "    <ds:DigestValue>{}</ds:DigestValue>\n",
                    "  </asic:DataObjectReference>\n"
                ),
                percent_encode(&path),
                media_type,
                SHA256_URI,
                base64::engine::general_purpose::STANDARD.encode(crate::crypto::sha256(content)),
            ));
        }
        xml.push_str("</asic:ASiCManifest>\n");
        Ok(xml.into_bytes())
    }

    /// The container with `manifest` (from [`Contents::manifest`]) and its `seal`.
    pub fn seal(&self, manifest: &[u8], seal: &[u8]) -> Result<Vec<u8>> {
        let requisites = super::requisites::xml::write(&self.requisites);
        let paths = self.paths(&requisites);
        let mut entries: Vec<(&str, &[u8])> = paths
            .iter()
            .map(|(path, _, content)| (path.as_str(), *content))
            .collect();
        entries.push((MANIFEST, manifest));
        entries.push((SEAL, seal));
        super::asic::write(MEDIA_TYPE, &entries)
    }

    /// Every data object: path, media type, bytes.
    fn paths<'a>(&'a self, requisites: &'a [u8]) -> Vec<(String, &'a str, &'a [u8])> {
        let mut paths = vec![
            (REQUISITES.to_string(), "application/xml", requisites),
            (
                format!("{DOCUMENT_DIR}{}", self.document.name),
                self.document.media_type.as_str(),
                self.document.content.as_slice(),
            ),
        ];
        for attachment in &self.attachments {
            paths.push((
                format!("{ATTACHMENT_DIR}{}", attachment.name),
                attachment.media_type.as_str(),
                attachment.content.as_slice(),
            ));
        }
        paths
    }
}

/// Whether `bytes` look like an envelope: an ASiC-E container (its `mimetype` first).
pub fn is_envelope(bytes: &[u8]) -> bool {
    super::asic::is_container(bytes, MEDIA_TYPE)
}

/// Opens an envelope and checks its form (EDE 5.1.1): the container's structure, that the
/// manifest names every data object with a matching digest and nothing else, and the
/// requisites against their schema. The seal is returned for the validator; it is not checked
/// here. Defective requisites are an [`Error::InvalidInput`] of `"requisites"` whose reason
/// names the element at fault.
pub fn open(bytes: &[u8]) -> Result<Opened> {
    let bad = |reason: String| Error::invalid("envelope", reason);
    let mut files = super::asic::read(bytes, MEDIA_TYPE, "envelope")?;
    let manifest = files
        .remove(MANIFEST)
        .ok_or_else(|| bad(format!("{MANIFEST} is missing")))?;
    let seal = files
        .remove(SEAL)
        .ok_or_else(|| bad(format!("{SEAL} (the seal) is missing")))?;
    let references = read_manifest(&manifest)?;
    let mut objects: BTreeMap<String, (String, Vec<u8>)> = BTreeMap::new();
    for reference in references {
        let content = files.remove(&reference.path).ok_or_else(|| {
            bad(format!(
                "the manifest names {} but the envelope lacks it",
                reference.path
            ))
        })?;
        if crate::crypto::sha256(&content).as_slice() != reference.sha256.as_slice() {
            return Err(bad(format!(
                "{} does not match its digest in the manifest: it was changed",
                reference.path
            )));
        }
        objects.insert(reference.path, (reference.media_type, content));
    }
    if let Some(extra) = files.keys().next() {
        return Err(bad(format!(
            "{extra} is in the envelope but not in the manifest, so nothing signs it"
        )));
    }
    let requisites = match (
        objects.remove(REQUISITES),
        objects.remove(LEGACY_REQUISITES),
    ) {
        (Some((_, xml)), None) => super::requisites::xml::read(&xml)
            .map_err(|defect| Error::invalid("requisites", format!("{REQUISITES} {defect}")))?,
        (None, Some((_, json))) => serde_json::from_slice::<Requisites>(&json).map_err(|e| {
            Error::invalid(
                "requisites",
                format!("{LEGACY_REQUISITES} is malformed: {e}"),
            )
        })?,
        (Some(_), Some(_)) => {
            return Err(bad(format!(
                "it carries both {REQUISITES} and {LEGACY_REQUISITES}; one set of requisites only"
            )));
        }
        (None, None) => return Err(bad(format!("{REQUISITES} is missing"))),
    };
    let mut document = None;
    let mut attachments = Vec::new();
    for (path, (media_type, content)) in objects {
        let (name, is_document) = if let Some(name) = path.strip_prefix(DOCUMENT_DIR) {
            (name, true)
        } else if let Some(name) = path.strip_prefix(ATTACHMENT_DIR) {
            (name, false)
        } else {
            return Err(bad(format!(
                "{path} is neither under {DOCUMENT_DIR} nor under {ATTACHMENT_DIR}"
            )));
        };
        let object = DataObject {
            name: name.to_string(),
            media_type,
            content,
        };
        if !is_document {
            attachments.push(object);
        } else if document.replace(object).is_some() {
            return Err(bad(format!(
                "more than one main document under {DOCUMENT_DIR}"
            )));
        }
    }
    let document = document.ok_or_else(|| bad(format!("no main document under {DOCUMENT_DIR}")))?;
    Ok(Opened {
        contents: Contents {
            requisites,
            document,
            attachments,
        },
        manifest,
        seal,
    })
}

/// One `DataObjectReference` of a manifest.
struct Reference {
    path: String,
    media_type: String,
    sha256: Vec<u8>,
}

fn read_manifest(xml: &[u8]) -> Result<Vec<Reference>> {
    let bad = |reason: String| Error::invalid("envelope manifest", reason);
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut references = Vec::new();
    let mut current: Option<(String, String, Option<String>)> = None;
    let mut in_digest_value = false;
    let mut seal_referenced = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| bad(format!("not well-formed XML: {e}")))?;
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let attribute = |name: &str| -> Option<String> {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == name)
                        .map(|a| a.value.to_string())
                };
                match e.local_name().as_ref() {
                    "SigReference" => {
                        seal_referenced = attribute("URI").as_deref() == Some(SEAL);
                    }
                    "DataObjectReference" => {
                        let uri = attribute("URI")
                            .ok_or_else(|| bad("a DataObjectReference has no URI".into()))?;
                        current = Some((
                            percent_decode(&uri)?,
                            attribute("MimeType").unwrap_or_default(),
                            None,
                        ));
                    }
                    "DigestMethod" if attribute("Algorithm").as_deref() != Some(SHA256_URI) => {
                        return Err(bad(format!(
                            "only SHA-256 digests ({SHA256_URI}) are accepted"
                        )));
                    }
                    "DigestValue" => in_digest_value = true,
                    _ => {}
                }
            }
            Event::Text(text) if in_digest_value => {
                if let Some((_, _, digest)) = current.as_mut() {
                    digest
                        .get_or_insert_with(String::new)
                        .push_str(text.xml10_content().trim());
                }
            }
            Event::End(e) => match e.local_name().as_ref() {
                "DigestValue" => in_digest_value = false,
                "DataObjectReference" => {
                    let (path, media_type, digest) = current
                        .take()
                        .ok_or_else(|| bad("unbalanced DataObjectReference".into()))?;
                    let digest = digest.ok_or_else(|| bad(format!("{path} has no DigestValue")))?;
                    let sha256 = base64::engine::general_purpose::STANDARD
                        .decode(digest.as_bytes())
                        .map_err(|_| bad(format!("the digest of {path} is not base64")))?;
                    references.push(Reference {
                        path,
                        media_type,
                        sha256,
                    });
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    if !seal_referenced {
        return Err(bad(format!(
            "the manifest must name {SEAL} as its SigReference"
        )));
    }
    Ok(references)
}

/// Checks a file name given from outside, which becomes a path inside the container.
fn check_name(name: &str) -> Result<()> {
    let fine = !name.trim().is_empty()
        && name.len() <= 200
        && name != "."
        && name != ".."
        && !name.chars().any(|c| {
            c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
        });
    if fine {
        Ok(())
    } else {
        Err(Error::invalid(
            "file name",
            format!(
                "{name:?} must be 1 to 200 bytes without / \\ : * ? \" < > | or control characters"
            ),
        ))
    }
}

/// Percent-encodes a path for a manifest URI (RFC 3986: unreserved characters and '/' stay).
fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn percent_decode(uri: &str) -> Result<String> {
    let bad = || Error::invalid("envelope manifest", format!("URI {uri:?} is malformed"));
    let bytes = uri.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
            let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Read, Write};

    use zip::CompressionMethod;
    use zip::write::SimpleFileOptions;

    use super::*;

    fn contents() -> Contents {
        Contents {
            requisites: crate::exchange::requisites::tests::complete(),
            document: DataObject {
                name: "Məktub 1.p7s".into(),
                media_type: "application/pkcs7-mime".into(),
                content: b"signed letter".to_vec(),
            },
            attachments: vec![DataObject {
                name: "cədvəl.csv".into(),
                media_type: "text/csv".into(),
                content: b"a,b\n1,2\n".to_vec(),
            }],
        }
    }

    fn rezip(bytes: &[u8], change: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>) -> Vec<u8> {
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for i in 0..archive.len() {
            let mut file = archive.by_index(i).unwrap();
            let name = file.name().unwrap().to_string();
            let mut content = Vec::new();
            file.read_to_end(&mut content).unwrap();
            if let Some(content) = change(&name, content) {
                zip.start_file(
                    name,
                    SimpleFileOptions::default().compression_method(CompressionMethod::Stored),
                )
                .unwrap();
                zip.write_all(&content).unwrap();
            }
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn an_envelope_round_trips_with_its_manifest_and_seal() {
        let contents = contents();
        let manifest = contents.manifest().unwrap();
        let bytes = contents.seal(&manifest, b"seal").unwrap();
        // ETSI EN 319 162-1 A.1: the first local file header is `mimetype`, stored, and its
        // content follows at offset 38 so that `file` and similar tools recognise the type.
        assert_eq!(&bytes[30..38], b"mimetype");
        assert_eq!(&bytes[38..38 + MEDIA_TYPE.len()], MEDIA_TYPE.as_bytes());
        let opened = open(&bytes).unwrap();
        assert_eq!(opened.contents, contents);
        assert_eq!(opened.manifest, manifest);
        assert_eq!(opened.seal, b"seal");
        let text = String::from_utf8(manifest).unwrap();
        assert!(text.contains("document/M%C9%99ktub%201.p7s"), "{text}");
    }

    #[test]
    fn ede_5_1_1_a_changed_file_is_named() {
        let contents = contents();
        let bytes = contents
            .seal(&contents.manifest().unwrap(), b"seal")
            .unwrap();
        let changed = rezip(&bytes, |name, content| {
            Some(if name.starts_with("attachments/") {
                b"a,b\n9,9\n".to_vec()
            } else {
                content
            })
        });
        let err = open(&changed).unwrap_err().to_string();
        assert!(
            err.contains("attachments/cədvəl.csv does not match"),
            "{err}"
        );
    }

    #[test]
    fn ede_5_1_1_unsigned_extra_files_and_missing_files_are_refused() {
        let contents = contents();
        let bytes = contents
            .seal(&contents.manifest().unwrap(), b"seal")
            .unwrap();
        let mut with_extra = rezip(&bytes, |_, c| Some(c));
        {
            let mut archive = zip::ZipArchive::new(Cursor::new(with_extra.clone())).unwrap();
            let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
            for i in 0..archive.len() {
                zip.raw_copy_file(archive.by_index_raw(i).unwrap()).unwrap();
            }
            zip.start_file("attachments/extra.txt", SimpleFileOptions::default())
                .unwrap();
            zip.write_all(b"smuggled").unwrap();
            with_extra = zip.finish().unwrap().into_inner();
        }
        let err = open(&with_extra).unwrap_err().to_string();
        assert!(
            err.contains("extra.txt is in the envelope but not in the manifest"),
            "{err}"
        );
        let without = rezip(&bytes, |name, c| (name != REQUISITES).then_some(c));
        let err = open(&without).unwrap_err().to_string();
        assert!(
            err.contains("names requisites.xml but the envelope lacks it"),
            "{err}"
        );
    }

    /// An envelope as the platform sealed it before `requisites.xml`: `requisites.json`.
    fn legacy(contents: &Contents) -> Vec<u8> {
        let b64 = |bytes: &[u8]| {
            base64::engine::general_purpose::STANDARD.encode(crate::crypto::sha256(bytes))
        };
        let xml = super::super::requisites::xml::write(&contents.requisites);
        let json = serde_json::to_vec_pretty(&contents.requisites).unwrap();
        let manifest = String::from_utf8(contents.manifest().unwrap())
            .unwrap()
            .replace(
                r#"URI="requisites.xml" MimeType="application/xml""#,
                r#"URI="requisites.json" MimeType="application/json""#,
            )
            .replace(&b64(&xml), &b64(&json));
        let mut entries: Vec<(String, Vec<u8>)> = vec![(LEGACY_REQUISITES.into(), json)];
        entries.push((
            format!("{DOCUMENT_DIR}{}", contents.document.name),
            contents.document.content.clone(),
        ));
        for a in &contents.attachments {
            entries.push((format!("{ATTACHMENT_DIR}{}", a.name), a.content.clone()));
        }
        entries.push((MANIFEST.into(), manifest.into_bytes()));
        entries.push((SEAL.into(), b"seal".to_vec()));
        let entries: Vec<(&str, &[u8])> = entries
            .iter()
            .map(|(p, c)| (p.as_str(), c.as_slice()))
            .collect();
        super::super::asic::write(MEDIA_TYPE, &entries).unwrap()
    }

    #[test]
    fn ede_7_1_1_an_envelope_sealed_with_requisites_json_still_opens() {
        let contents = contents();
        let opened = open(&legacy(&contents)).unwrap();
        assert_eq!(opened.contents, contents);
        // Carrying both would leave a reader to choose; refused.
        let both = rezip(&legacy(&contents), |_, c| Some(c));
        let mut archive = zip::ZipWriter::new_append(Cursor::new(both)).unwrap();
        archive
            .start_file(REQUISITES, SimpleFileOptions::default())
            .unwrap();
        archive
            .write_all(&super::super::requisites::xml::write(&contents.requisites))
            .unwrap();
        let both = archive.finish().unwrap().into_inner();
        let err = open(&both).unwrap_err().to_string();
        assert!(err.contains("not in the manifest"), "{err}");
    }

    #[test]
    fn ede_5_1_1_defective_requisites_are_refused_naming_the_element() {
        let contents = contents();
        let xml = String::from_utf8(super::super::requisites::xml::write(&contents.requisites))
            .unwrap()
            .replace("<TaxId>1234567890</TaxId>", "<TaxId>12345</TaxId>");
        let mut manifest = String::from_utf8(contents.manifest().unwrap()).unwrap();
        let b64 = |bytes: &[u8]| {
            base64::engine::general_purpose::STANDARD.encode(crate::crypto::sha256(bytes))
        };
        manifest = manifest.replace(
            &b64(&super::super::requisites::xml::write(&contents.requisites)),
            &b64(xml.as_bytes()),
        );
        let bytes = contents
            .seal(&contents.manifest().unwrap(), b"seal")
            .unwrap();
        let defective = rezip(&bytes, |name, c| {
            Some(match name {
                REQUISITES => xml.clone().into_bytes(),
                MANIFEST => manifest.clone().into_bytes(),
                _ => c,
            })
        });
        let err = open(&defective).unwrap_err();
        let Error::InvalidInput { what, reason } = err else {
            panic!("{err}")
        };
        assert_eq!(what, "requisites");
        assert!(
            reason
                .starts_with("requisites.xml /Requisites/Sender/TaxId: \"12345\" is not a tax id"),
            "{reason}"
        );
    }

    #[test]
    fn anything_but_an_asic_e_container_is_refused_with_the_reason() {
        let err = open(b"%PDF-1.7").unwrap_err().to_string();
        assert!(err.contains("not a ZIP container"), "{err}");
        let contents = contents();
        let bytes = contents
            .seal(&contents.manifest().unwrap(), b"seal")
            .unwrap();
        let other_type = rezip(&bytes, |name, c| {
            Some(if name == "mimetype" {
                b"application/zip".to_vec()
            } else {
                c
            })
        });
        let err = open(&other_type).unwrap_err().to_string();
        assert!(err.contains(MEDIA_TYPE), "{err}");
    }

    #[test]
    fn file_names_that_would_escape_their_folder_are_refused() {
        for name in ["../x", "a/b", "", "..", "x\u{0}y", "C:evil"] {
            let mut c = contents();
            c.attachments[0].name = name.into();
            assert!(c.manifest().is_err(), "{name:?}");
        }
    }
}
