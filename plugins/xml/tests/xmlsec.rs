//! Document subsets as XMLDSig uses them, against xmlsec1 (libxml2's XMLDSig): xmlsec1 signs
//! templates whose references select an element by Id (`#id`, comments dropped; and
//! `#xpointer(id('id'))`, comments kept) or the whole document (`""`), with and without the
//! enveloped-signature transform, through each canonicalization method (the exclusive one also
//! with a PrefixList). Each DigestValue xmlsec1 writes must be the SHA-256 of what this crate
//! canonicalizes for that reference.

// A test binary: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use base64::Engine as _;
use mubadile_plugin_xml::{Algorithm, Document, NodeId, Subset, canonicalize, parse};
use sha2::{Digest, Sha256};

const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const EXC: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// Transforms after the optional enveloped-signature one: the method's URI and a PrefixList.
const METHODS: &[(&str, Option<&str>)] = &[
    ("http://www.w3.org/TR/2001/REC-xml-c14n-20010315", None),
    (
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
        None,
    ),
    ("http://www.w3.org/2006/12/xml-c14n11", None),
    ("http://www.w3.org/2006/12/xml-c14n11#WithComments", None),
    (EXC, None),
    ("http://www.w3.org/2001/10/xml-exc-c14n#WithComments", None),
    (EXC, Some("#default p")),
    (EXC, Some("q xs")),
];

/// Documents with rich context above the referenced element: default and prefixed namespaces,
/// redeclarations, xml:lang and xml:space (xml:base and xml:id are left out: C14N 1.1 treats
/// them specially, see the c14n module). `SIG` marks where the signature goes: outside the
/// referenced element in the first and third, inside it in the second.
const DOCUMENTS: &[&str] = &[
    "<doc xmlns=\"urn:d\" xmlns:p=\"urn:p\" xmlns:q=\"urn:q\" xml:lang=\"az\" xml:space=\"preserve\">\n  <!-- top -->\n  <p:data Id=\"target\" xml:lang=\"en\" q:x=\"1\">x &amp; y <p:in a=\"1\" b=\"&#9;\"/><!-- c --><plain xmlns=\"\">z</plain></p:data>\n  SIG\n</doc>",
    "<r:root xmlns:r=\"urn:r\" xmlns:unused=\"urn:u\">\n <r:wrap xmlns=\"urn:w\" xml:space=\"default\">\n  <item Id=\"target\" xmlns:xs=\"urn:xs\"><xs:v>1</xs:v><!--c--><r:w/>SIG</item>\n </r:wrap>\n</r:root>",
    "<a xmlns:q=\"urn:q\"><b xml:lang=\"fr\"><c xmlns=\"urn:c\" Id=\"target\"><d xmlns=\"\"><e xmlns=\"urn:e\" q:a=\"v\"/></d></c></b>SIG</a>",
];

fn template(document: &str, references: &str) -> String {
    let signature = format!(
        "<ds:Signature xmlns:ds=\"{DSIG}\"><ds:SignedInfo>\
         <ds:CanonicalizationMethod Algorithm=\"{EXC}\"/>\
         <ds:SignatureMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#hmac-sha1\"/>\
         {references}</ds:SignedInfo><ds:SignatureValue/></ds:Signature>"
    );
    document.replace("SIG", &signature)
}

fn reference(uri: &str, enveloped: bool, method: &str, prefixes: Option<&str>) -> String {
    let enveloped = if enveloped {
        format!("<ds:Transform Algorithm=\"{ENVELOPED}\"/>")
    } else {
        String::new()
    };
    let prefixes = prefixes.map_or(String::new(), |list| {
        format!("<ec:InclusiveNamespaces xmlns:ec=\"{EXC}\" PrefixList=\"{list}\"/>")
    });
    format!(
        "<ds:Reference URI=\"{uri}\"><ds:Transforms>{enveloped}\
         <ds:Transform Algorithm=\"{method}\">{prefixes}</ds:Transform></ds:Transforms>\
         <ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>\
         <ds:DigestValue></ds:DigestValue></ds:Reference>"
    )
}

fn children<'d>(doc: &'d Document<'_>, node: NodeId, local: &'d str) -> Vec<NodeId> {
    doc.child_elements(node)
        .filter(|&c| doc.local_name(c) == Some(local))
        .collect()
}

/// What this crate canonicalizes for `reference`, the way XMLDSig processes it.
fn reference_input(doc: &Document<'_>, reference: NodeId) -> Vec<u8> {
    let uri = doc.attribute(reference, "", "URI").unwrap();
    let mut signature = reference;
    while doc.local_name(signature) != Some("Signature") {
        signature = doc.parent(signature).unwrap();
    }
    let transforms = children(doc, reference, "Transforms")[0];
    let mut enveloped = false;
    let mut method = None;
    for transform in children(doc, transforms, "Transform") {
        let algorithm = doc.attribute(transform, "", "Algorithm").unwrap();
        if algorithm == ENVELOPED {
            enveloped = true;
        } else {
            let prefixes = children(doc, transform, "InclusiveNamespaces")
                .first()
                .map(|&n| doc.attribute(n, "", "PrefixList").unwrap().into_owned());
            method = Some((algorithm.into_owned(), prefixes));
        }
    }
    let (method, prefixes) = method.unwrap();
    let mut algorithm = Algorithm::from_uri(&method).unwrap();
    let subset = if uri.is_empty() {
        // XMLDSig 4.4.3.2: "" is the document without comments.
        algorithm.with_comments = false;
        Subset::document()
    } else if let Some(id) = uri.strip_prefix("#xpointer(id('") {
        Subset::element(doc.element_by_id(id.trim_end_matches("'))")).unwrap())
    } else {
        // A bare name is the element without comments.
        algorithm.with_comments = false;
        Subset::element(doc.element_by_id(&uri[1..]).unwrap())
    };
    let subset = if enveloped {
        subset.excluding(signature)
    } else {
        subset
    };
    let prefixes = prefixes.unwrap_or_default();
    let prefixes: Vec<&str> = prefixes.split_whitespace().collect();
    canonicalize(doc, algorithm, subset, &prefixes).unwrap()
}

#[test]
fn reference_subsets_digest_as_xmlsec1_digests_them() {
    if Command::new("xmlsec1").arg("--version").output().is_err() {
        eprintln!("SKIPPED: xmlsec1 is not installed (scripts/test-env installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("hmac.key");
    std::fs::write(&key, b"a key for digests only").unwrap();
    let (mut cases, mut expected) = (0, 0);
    for (d, document) in DOCUMENTS.iter().enumerate() {
        // A reference whose data holds the signature itself is only computable with the
        // enveloped-signature transform: the whole document always, the target in document 1.
        let signature_in_target = d == 1;
        let mut references = String::new();
        for &(method, prefixes) in METHODS {
            for uri in ["#target", "#xpointer(id('target'))", ""] {
                for enveloped in [false, true] {
                    if !enveloped && (uri.is_empty() || signature_in_target) {
                        continue;
                    }
                    references.push_str(&reference(uri, enveloped, method, prefixes));
                    expected += 1;
                }
            }
        }
        let path = dir.path().join(format!("template-{d}.xml"));
        std::fs::write(&path, template(document, &references)).unwrap();
        let out = Command::new("xmlsec1")
            .args(["sign", "--hmackey"])
            .arg(&key)
            .args([
                "--id-attr:Id",
                "data",
                "--id-attr:Id",
                "item",
                "--id-attr:Id",
                "c",
            ])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "xmlsec1: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc = parse(&out.stdout).unwrap();
        for reference in doc
            .elements()
            .filter(|&e| doc.local_name(e) == Some("Reference") && doc.namespace(e) == Some(DSIG))
        {
            let digest_value = children(&doc, reference, "DigestValue")[0];
            let theirs = doc.text(digest_value);
            let input = reference_input(&doc, reference);
            let ours = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&input));
            assert_eq!(
                ours,
                theirs,
                "document {d}, reference {cases}: ours canonicalized to\n{}",
                String::from_utf8_lossy(&input)
            );
            cases += 1;
        }
    }
    eprintln!("{cases} reference digests equal to xmlsec1's");
    assert_eq!(cases, expected);
}
