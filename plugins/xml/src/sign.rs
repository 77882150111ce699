//! Making XAdES baseline B-B signatures (ETSI EN 319 132-1 6.3): new or parallel, in three
//! forms, and counter-signatures.
//!
//! - **Enveloped** (the content is XML): the signature becomes the last child of the document
//!   element. Its data Reference is `URI=""` with the enveloped-signature transform, then the
//!   XPath Filter 2.0 subtraction of every `ds:Signature`, then exclusive C14N: a parallel
//!   signature added later is subtracted too, so each signature leaves the others intact.
//! - **Enveloping** (attached content that is not XML): the content travels base64-encoded in a
//!   `ds:Object` of the signature, referenced by Id through the base64 transform.
//! - **Detached**: the data Reference has no URI (XMLDSig 4.4.3.1: the application knows the
//!   object), and its digest is over the data as given.
//!
//! A parallel signature over an enveloping or detached signature goes into a new `ds:Object` at
//! the end of the first (root) signature, which no Reference of that signature covers.
//!
//! A **counter-signature** (EN 319 132-1 5.2.7) is a `ds:Signature` inside a
//! `xades:CounterSignature` unsigned property of the countersigned signature. Its data Reference
//! has the Type `http://uri.etsi.org/01903#CountersignedSignature` and points by Id at the
//! countersigned `ds:SignatureValue`, canonicalized with exclusive C14N; its signed properties
//! carry no DataObjectFormat (the signed data object is a signature value). The countersigned
//! signature's own References, signature timestamp and archive timestamps do not cover unsigned
//! properties added after them, so they stay intact.
//!
//! Every signature has `ds:SignedInfo` canonicalized with exclusive C14N, SHA-2 references, the
//! signer's certificate and chain in `ds:KeyInfo`, and `xades:SignedProperties` with
//! SigningTime, SigningCertificateV2 (the certificate's SHA-256, no IssuerSerialV2, as EN 319
//! 132-1 6.3 recommends) and a DataObjectFormat naming the data Reference's media type.
//!
//! The signed document is built deterministically from the request, once in [`prepare`] for the
//! canonical SignedInfo (the data to be signed) and again in [`finish`], which checks that it
//! built the same SignedInfo before it puts the value in. The digests are computed by the same
//! reference processing that reads signatures, over the document as it will be.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use der::Decode as _;
use mubadile_plugin_api::{PluginError, Prepared, SignRequest, SignTarget};
use x509_cert::Certificate;

use crate::c14n::{Algorithm, EXC_C14N, Method, Subset, canonicalize};
use crate::dsig::algorithms::{DigestAlgorithm, SignatureAlgorithm, ecdsa_from_der};
use crate::dsig::reference::{self, BASE64, ENVELOPED_SIGNATURE, XPATH_FILTER2};
use crate::dsig::{DSIG, XADES, child, children, is, signatures};
use crate::parse;
use mubadile_xml_tree::{ContentEnd, Document, NodeId};

/// The state [`prepare`] hands to [`finish`] through the host: a mark that this plugin made it;
/// the host keeps the request, from which the document is built again.
const STATE: &[u8] = b"xades-b-b/1";

/// The `Type` of the Reference to the signed properties (EN 319 132-1 4.3.1).
pub const SIGNED_PROPERTIES_TYPE: &str = "http://uri.etsi.org/01903#SignedProperties";
/// The `Type` of a counter-signature's Reference to the countersigned `ds:SignatureValue`
/// (EN 319 132-1 5.2.7).
pub const COUNTERSIGNED_SIGNATURE_TYPE: &str = "http://uri.etsi.org/01903#CountersignedSignature";

/// Builds the signature for `request`; its canonical SignedInfo is the data to be signed.
pub fn prepare(request: &SignRequest) -> Result<Prepared, PluginError> {
    let built = build(request)?;
    Ok(Prepared {
        data_to_be_signed: built.signed_info,
        digest_algorithm: request.digest_algorithm.clone(),
        state: STATE.to_vec(),
    })
}

/// Puts `signature_value` (made over the prepared SignedInfo) into the signature and returns the
/// signed document.
pub fn finish(
    request: &SignRequest,
    prepared: &Prepared,
    signature_value: &[u8],
) -> Result<Vec<u8>, PluginError> {
    prepared.check_state(STATE)?;
    let built = build(request)?;
    if built.signed_info != prepared.data_to_be_signed {
        return Err(PluginError::bad_request(
            "the request does not build the SignedInfo that was prepared; prepare again with the same request",
        ));
    }
    let value = if built.algorithm.ecdsa {
        let size = ecdsa_field_size(&request.signer_certificate)?;
        ecdsa_from_der(signature_value, size).ok_or_else(|| {
            PluginError::bad_request("the ECDSA signature value is not a DER ECDSA-Sig-Value")
        })?
    } else {
        signature_value.to_vec()
    };
    let mut document = built.document;
    document.splice(
        built.value_at..built.value_at,
        STANDARD.encode(value).into_bytes(),
    );
    Ok(document)
}

/// A signed document but for its signature value.
struct Built {
    /// The document with the new signature, its `ds:SignatureValue` empty.
    document: Vec<u8>,
    /// Where in `document` the base64 signature value goes.
    value_at: usize,
    /// The canonical SignedInfo of the new signature.
    signed_info: Vec<u8>,
    /// The signature method.
    algorithm: SignatureAlgorithm,
}

/// How the new signature relates to its data.
enum Form<'a> {
    /// Inside the XML `host` document.
    Enveloped { host: Host<'a> },
    /// Carrying `content` in a `ds:Object`.
    Enveloping { content: &'a [u8] },
    /// Beside data it does not carry.
    Detached,
    /// Beside the root signature of `host`, its data Reference a copy of that signature's: `uri`
    /// `None` for detached data, else the Id of the base64 `ds:Object`.
    BesideRoot { host: Host<'a>, uri: Option<String> },
    /// A counter-signature of signature `parent` of `host`, whose `ds:SignatureValue` has the Id
    /// `value_id`.
    Counter {
        host: Host<'a>,
        parent: NodeId,
        value_id: String,
    },
}

/// A document the new signature goes into, read once.
struct Host<'a> {
    bytes: &'a [u8],
    doc: Document<'a>,
}

impl<'a> Form<'a> {
    fn host(&self) -> Option<&Host<'a>> {
        match self {
            Form::Enveloped { host }
            | Form::BesideRoot { host, .. }
            | Form::Counter { host, .. } => Some(host),
            Form::Enveloping { .. } | Form::Detached => None,
        }
    }
}

fn build(request: &SignRequest) -> Result<Built, PluginError> {
    let algorithm = SignatureAlgorithm::from_identifier(&request.signature_algorithm)
        .ok_or_else(|| {
            PluginError::unsupported(
                "the signer's key algorithm has no XMLDSig signature method here; use RSA, ECDSA or Ed25519",
            )
        })?;
    let digest = DigestAlgorithm::from_oid(&request.digest_algorithm)
        .filter(|d| *d != DigestAlgorithm::Sha1)
        .ok_or_else(|| {
            PluginError::bad_request(format!(
                "digest algorithm {} is not one to sign with; use SHA-256 or stronger",
                request.digest_algorithm
            ))
        })?;
    Certificate::from_der(&request.signer_certificate)
        .map_err(|e| PluginError::bad_request(format!("not a DER X.509 certificate: {e}")))?;
    let (form, detached) = form(request)?;
    // Counter-signatures count too: the new Id must be free among every ds:Signature.
    let existing = form.host().map_or(0, |h| {
        h.doc
            .elements()
            .filter(|&e| is(&h.doc, e, DSIG, "Signature"))
            .count()
    });
    let parts = Parts {
        request,
        algorithm: &algorithm,
        digest,
        id: signature_id(&form, existing)?,
    };

    // First with empty DigestValues: the data and the signed properties do not depend on them.
    let draft = parts.assemble(&form, &["", ""])?;
    let doc = parse(&draft.document).map_err(PluginError::malformed)?;
    let signature = new_signature(&doc, &parts.id)?;
    let digests = reference_digests(&doc, signature, detached)?;
    let digests: Vec<String> = digests.iter().map(|d| STANDARD.encode(d)).collect();
    let [data_digest, properties_digest] = &digests[..] else {
        return Err(PluginError::malformed(
            "the new signature does not have its two References",
        ));
    };
    let built = parts.assemble(&form, &[data_digest, properties_digest])?;
    let doc = parse(&built.document).map_err(PluginError::malformed)?;
    if let Some(host) = form.host() {
        keeps_earlier_signatures_intact(&host.doc, &doc, detached)?;
    }
    let signature = new_signature(&doc, &parts.id)?;
    let signed_info = child(&doc, signature, DSIG, "SignedInfo")
        .ok_or_else(|| PluginError::malformed("the new signature has no SignedInfo"))?;
    let signed_info = canonicalize(
        &doc,
        Algorithm::new(Method::Exclusive10, false),
        Subset::element(signed_info),
        &[],
    )
    .map_err(PluginError::malformed)?;
    Ok(Built {
        document: built.document,
        value_at: built.value_at,
        signed_info,
        algorithm,
    })
}

/// The form of the new signature, and the detached data its Reference digests.
fn form(request: &SignRequest) -> Result<(Form<'_>, Option<&[u8]>), PluginError> {
    Ok(match &request.target {
        SignTarget::New {
            content,
            attached: true,
        } => match parse(content) {
            Ok(doc) => (
                Form::Enveloped {
                    host: Host {
                        bytes: content,
                        doc,
                    },
                },
                None,
            ),
            Err(_) => (Form::Enveloping { content }, None),
        },
        SignTarget::New {
            content,
            attached: false,
        } => (Form::Detached, Some(content.as_slice())),
        SignTarget::Parallel {
            document,
            detached_content,
        } => {
            let doc = parse(document).map_err(PluginError::malformed)?;
            let root = doc.root();
            if !is(&doc, root, DSIG, "Signature") {
                let host = Host {
                    bytes: document,
                    doc,
                };
                return Ok((Form::Enveloped { host }, None));
            }
            let uri = data_reference_uri(&doc, root)?;
            if uri.is_none() && detached_content.is_none() {
                return Err(PluginError::bad_request(
                    "the signature is detached: give its signed data too",
                ));
            }
            (
                Form::BesideRoot {
                    host: Host {
                        bytes: document,
                        doc,
                    },
                    uri,
                },
                detached_content.as_deref(),
            )
        }
        SignTarget::Counter {
            document,
            signature,
        } => {
            let doc = parse(document).map_err(PluginError::malformed)?;
            let parent = crate::dsig::signature_by_id(&doc, signature)
                .ok_or_else(|| PluginError::no_such_signature(signature))?;
            let value_id = child(&doc, parent, DSIG, "SignatureValue")
                .and_then(|v| doc.attribute(v, "", "Id"))
                .map(|id| id.into_owned())
                .ok_or_else(|| {
                    PluginError::unsupported(format!(
                        "the ds:SignatureValue of signature {signature} has no Id for a counter-signature to point at (EN 319 132-1 5.2.7); giving it one would break its timestamps, so it cannot be counter-signed here"
                    ))
                })?;
            if crate::dsig::evidence::qualifying_properties(&doc, parent).is_none() {
                return Err(PluginError::unsupported(format!(
                    "signature {signature} is XMLDSig without xades:QualifyingProperties, which has no place for a counter-signature"
                )));
            }
            (
                Form::Counter {
                    host: Host {
                        bytes: document,
                        doc,
                    },
                    parent,
                    value_id,
                },
                None,
            )
        }
    })
}

/// The URI of the root signature's data Reference (the first one not to the signed
/// properties), when it is a form a parallel signature can copy: none (detached data) or a
/// same-document `#id` through the base64 transform (enveloping).
fn data_reference_uri(doc: &Document<'_>, root: NodeId) -> Result<Option<String>, PluginError> {
    let reference = child(doc, root, DSIG, "SignedInfo")
        .into_iter()
        .flat_map(|si| children(doc, si, DSIG, "Reference"))
        .find(|&r| doc.attribute(r, "", "Type").as_deref() != Some(SIGNED_PROPERTIES_TYPE))
        .ok_or_else(|| PluginError::malformed("the root signature has no data Reference"))?;
    let Some(uri) = doc.attribute(reference, "", "URI") else {
        return Ok(None);
    };
    let base64 = child(doc, reference, DSIG, "Transforms").is_some_and(|t| {
        let mut transforms = children(doc, t, DSIG, "Transform");
        matches!(
            (transforms.next(), transforms.next()),
            (Some(only), None) if doc.attribute(only, "", "Algorithm").as_deref() == Some(BASE64)
        )
    });
    match uri.strip_prefix('#') {
        Some(id) if base64 && !id.is_empty() => Ok(Some(id.to_owned())),
        _ => Err(PluginError::unsupported(format!(
            "a parallel signature beside a root signature whose data Reference is {uri:?} is not supported; only enveloping (base64 ds:Object) and detached ones are"
        ))),
    }
}

/// An Id prefix no element of the host document uses: `xades-{n}` from the number of its
/// signatures up.
fn signature_id(form: &Form<'_>, existing: usize) -> Result<String, PluginError> {
    let Some(Host { doc, .. }) = form.host() else {
        return Ok("xades-0".into());
    };
    let taken = |id: &str| {
        doc.elements().any(|e| {
            mubadile_xml_tree::ID_ATTRIBUTES.iter().any(|&(ns, name)| {
                doc.attribute(e, ns, name)
                    .is_some_and(|v| v == id || v.starts_with(&format!("{id}-")))
            })
        })
    };
    (existing..existing + 1000)
        .map(|n| format!("xades-{n}"))
        .find(|id| !taken(id))
        .ok_or_else(|| PluginError::unsupported("no free Id for a new signature"))
}

/// The new signature, found by its Id, which no other element has.
fn new_signature(doc: &Document<'_>, id: &str) -> Result<NodeId, PluginError> {
    doc.element_by_id(id)
        .filter(|&s| is(doc, s, DSIG, "Signature"))
        .ok_or_else(|| PluginError::malformed("the new signature is not where it was put"))
}

/// The digest of each Reference of `signature`, as the reader computes it.
fn reference_digests(
    doc: &Document<'_>,
    signature: NodeId,
    detached: Option<&[u8]>,
) -> Result<Vec<Vec<u8>>, PluginError> {
    let signed_info = child(doc, signature, DSIG, "SignedInfo")
        .ok_or_else(|| PluginError::malformed("the new signature has no SignedInfo"))?;
    children(doc, signed_info, DSIG, "Reference")
        .map(|r| {
            reference::process(doc, signature, r, detached)
                .map_err(PluginError::malformed)?
                .computed
                .ok_or_else(|| {
                    PluginError::bad_request("the signature is detached: give its signed data too")
                })
        })
        .collect()
}

/// Refuses a parallel signature that would change what an earlier signature covers (one whose
/// enveloped Reference removes only itself, as most tools make them, covers every later
/// signature put inside the document).
fn keeps_earlier_signatures_intact(
    before: &Document<'_>,
    after: &Document<'_>,
    detached: Option<&[u8]>,
) -> Result<(), PluginError> {
    let earlier = signatures(before);
    let now = signatures(after);
    for (i, (&old, &new)) in earlier.iter().zip(&now).enumerate() {
        let digests =
            |doc: &Document<'_>, s: NodeId| reference_digests(doc, s, detached).unwrap_or_default();
        if digests(before, old) != digests(after, new) {
            return Err(PluginError::unsupported(format!(
                "signature s{i} covers the whole document but itself, so a parallel signature inside the document would break it; sign a copy instead"
            )));
        }
    }
    Ok(())
}

/// What every form of the new signature shares.
struct Parts<'r> {
    request: &'r SignRequest,
    algorithm: &'r SignatureAlgorithm,
    digest: DigestAlgorithm,
    /// The Id of the new `ds:Signature`, and the prefix of its other Ids.
    id: String,
}

/// A document with the new signature, its value still empty.
struct Assembled {
    document: Vec<u8>,
    value_at: usize,
}

impl Parts<'_> {
    /// The document with the new signature, its References carrying `digests` (data, then
    /// signed properties).
    fn assemble(&self, form: &Form<'_>, digests: &[&str; 2]) -> Result<Assembled, PluginError> {
        let id = &self.id;
        let (data_reference, media_type, object) = match form {
            Form::Enveloped { .. } => (
                format!(
                    r#"<ds:Reference Id="{id}-ref-0" URI=""><ds:Transforms><ds:Transform Algorithm="{ENVELOPED_SIGNATURE}"/><ds:Transform Algorithm="{XPATH_FILTER2}"><dsig-xpath:XPath xmlns:dsig-xpath="{XPATH_FILTER2}" Filter="subtract">/descendant::ds:Signature</dsig-xpath:XPath></ds:Transform><ds:Transform Algorithm="{EXC_C14N}"/></ds:Transforms>"#
                ),
                "text/xml",
                String::new(),
            ),
            Form::Enveloping { content } => (
                format!(
                    r##"<ds:Reference Id="{id}-ref-0" URI="#{id}-content"><ds:Transforms><ds:Transform Algorithm="{BASE64}"/></ds:Transforms>"##
                ),
                "application/octet-stream",
                format!(
                    r#"<ds:Object Id="{id}-content" Encoding="{BASE64}">{}</ds:Object>"#,
                    STANDARD.encode(content)
                ),
            ),
            Form::BesideRoot { uri: Some(uri), .. } => (
                format!(
                    r##"<ds:Reference Id="{id}-ref-0" URI="#{uri}"><ds:Transforms><ds:Transform Algorithm="{BASE64}"/></ds:Transforms>"##
                ),
                "application/octet-stream",
                String::new(),
            ),
            Form::Detached | Form::BesideRoot { uri: None, .. } => (
                format!(r#"<ds:Reference Id="{id}-ref-0">"#),
                "application/octet-stream",
                String::new(),
            ),
            Form::Counter { value_id, .. } => (
                format!(
                    r##"<ds:Reference Id="{id}-ref-0" Type="{COUNTERSIGNED_SIGNATURE_TYPE}" URI="#{value_id}"><ds:Transforms><ds:Transform Algorithm="{EXC_C14N}"/></ds:Transforms>"##
                ),
                "",
                String::new(),
            ),
        };
        // The signed data object of a counter-signature is a signature value, not a document
        // with a media type.
        let data_object_format = if matches!(form, Form::Counter { .. }) {
            String::new()
        } else {
            format!(
                r##"<xades:SignedDataObjectProperties><xades:DataObjectFormat ObjectReference="#{id}-ref-0"><xades:MimeType>{media_type}</xades:MimeType></xades:DataObjectFormat></xades:SignedDataObjectProperties>"##
            )
        };
        let digest_method = format!(r#"<ds:DigestMethod Algorithm="{}"/>"#, self.digest.uri());
        let [data_digest, properties_digest] = digests;
        let signed_info = format!(
            r##"<ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{EXC_C14N}"/><ds:SignatureMethod Algorithm="{method}"/>{data_reference}{digest_method}<ds:DigestValue>{data_digest}</ds:DigestValue></ds:Reference><ds:Reference Type="{SIGNED_PROPERTIES_TYPE}" URI="#{id}-signed-properties"><ds:Transforms><ds:Transform Algorithm="{EXC_C14N}"/></ds:Transforms>{digest_method}<ds:DigestValue>{properties_digest}</ds:DigestValue></ds:Reference></ds:SignedInfo>"##,
            method = self.algorithm.uri,
        );
        let certificates: String = std::iter::once(&self.request.signer_certificate)
            .chain(&self.request.chain)
            .map(|der| {
                format!(
                    "<ds:X509Certificate>{}</ds:X509Certificate>",
                    STANDARD.encode(der)
                )
            })
            .collect();
        let signing_time = chrono::DateTime::from_timestamp(self.request.signing_time, 0)
            .ok_or_else(|| PluginError::bad_request("the signing time is out of range"))?
            .format("%Y-%m-%dT%H:%M:%SZ");
        let certificate_digest =
            STANDARD.encode(DigestAlgorithm::Sha256.digest(&self.request.signer_certificate));
        let sha256 = DigestAlgorithm::Sha256.uri();
        let qualifying = format!(
            r##"<ds:Object><xades:QualifyingProperties xmlns:xades="{XADES}" Target="#{id}"><xades:SignedProperties Id="{id}-signed-properties"><xades:SignedSignatureProperties><xades:SigningTime>{signing_time}</xades:SigningTime><xades:SigningCertificateV2><xades:Cert><xades:CertDigest><ds:DigestMethod Algorithm="{sha256}"/><ds:DigestValue>{certificate_digest}</ds:DigestValue></xades:CertDigest></xades:Cert></xades:SigningCertificateV2></xades:SignedSignatureProperties>{data_object_format}</xades:SignedProperties></xades:QualifyingProperties></ds:Object>"##
        );
        let head = format!(
            r#"<ds:Signature xmlns:ds="{DSIG}" Id="{id}">{signed_info}<ds:SignatureValue Id="{id}-value">"#
        );
        let tail = format!(
            "</ds:SignatureValue><ds:KeyInfo><ds:X509Data>{certificates}</ds:X509Data></ds:KeyInfo>{object}{qualifying}</ds:Signature>"
        );
        match form {
            Form::Enveloping { .. } | Form::Detached => {
                let prolog = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
                Ok(Assembled {
                    document: [prolog, &head, &tail].concat().into_bytes(),
                    value_at: prolog.len() + head.len(),
                })
            }
            Form::Enveloped { host } => insert_at_root_end(host, "", &head, &tail, ""),
            Form::BesideRoot { host, .. } => insert_at_root_end(
                host,
                &format!(r#"<ds:Object xmlns:ds="{DSIG}">"#),
                &head,
                &tail,
                "</ds:Object>",
            ),
            Form::Counter { host, parent, .. } => {
                let (node, open, close) =
                    crate::extend::unsigned_signature_property_place(&host.doc, *parent)?;
                let open = format!("{open}<xades:CounterSignature xmlns:xades=\"{XADES}\">");
                let close = format!("</xades:CounterSignature>{close}");
                let (mut document, at) =
                    insert_at_end(host.bytes, &host.doc, node, &[&open, &head])?;
                let value_at = at + open.len() + head.len();
                document.splice(
                    value_at..value_at,
                    [tail.as_str(), &close].concat().into_bytes(),
                );
                Ok(Assembled { document, value_at })
            }
        }
    }
}

/// `host` with `open`, `head`, `tail` and `close` put in as the last content of its document
/// element; the value goes between `head` and `tail`.
fn insert_at_root_end(
    host: &Host<'_>,
    open: &str,
    head: &str,
    tail: &str,
    close: &str,
) -> Result<Assembled, PluginError> {
    let doc = &host.doc;
    let (mut document, at) = insert_at_end(host.bytes, doc, doc.root(), &[open, head])?;
    let value_at = at + open.len() + head.len();
    document.splice(value_at..value_at, [tail, close].concat().into_bytes());
    Ok(Assembled { document, value_at })
}

/// `input` (parsed as `doc`) with `parts` put in as the last content of element `node`; and
/// where they start.
pub(crate) fn insert_at_end(
    input: &[u8],
    doc: &Document<'_>,
    node: NodeId,
    parts: &[&str],
) -> Result<(Vec<u8>, usize), PluginError> {
    let no_end = || PluginError::malformed("an element has no end");
    // The document's text starts after any byte order mark, which stays as it was.
    let base = input.len() - doc.source().len();
    // `<a/>` becomes `<a>…</a>`.
    let (at, replaced, opening, closing) = match doc.content_end(node).ok_or_else(no_end)? {
        ContentEnd::BeforeEndTag(at) => (base + at, 0, "", String::new()),
        ContentEnd::EmptyElement(at) => {
            let name = doc.name(node).unwrap_or_default();
            (base + at, 2, ">", format!("</{name}>"))
        }
    };
    let (before, after) = input.split_at_checked(at).ok_or_else(no_end)?;
    let after = after.get(replaced..).unwrap_or_default();
    let inserted: String = parts.concat();
    let mut document = Vec::with_capacity(input.len() + inserted.len() + closing.len() + 1);
    document.extend_from_slice(before);
    document.extend_from_slice(opening.as_bytes());
    let start = document.len();
    for part in [inserted.as_bytes(), closing.as_bytes(), after] {
        document.extend_from_slice(part);
    }
    Ok((document, start))
}

/// The field size in bytes of the ECDSA key in DER certificate `certificate`: half its
/// uncompressed point, less the leading 0x04.
fn ecdsa_field_size(certificate: &[u8]) -> Result<usize, PluginError> {
    let certificate = Certificate::from_der(certificate)
        .map_err(|e| PluginError::bad_request(format!("not a DER X.509 certificate: {e}")))?;
    let point = certificate
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    match point.split_first() {
        Some((0x04, xy)) if !xy.is_empty() && xy.len() % 2 == 0 => Ok(xy.len() / 2),
        _ => Err(PluginError::bad_request(
            "the certificate's ECDSA key is not an uncompressed point",
        )),
    }
}
