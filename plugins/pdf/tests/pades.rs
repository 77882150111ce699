//! PAdES signing and validation against the real embedded CA, checked both ways with outside
//! validators run as processes: what the plugin signs must satisfy `pdfsig`, `qpdf --check` and
//! `pyhanko sign validate`; what pyHanko signs must pass the platform's validator; a changed byte
//! must fail for everyone. The tools come from `scripts/test-env`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::Ordering;

use lopdf::{Dictionary, Document, Object, Stream};
use mubadile_core::signing::extend::{Level, extend};
use mubadile_core::signing::{SignatureOptions, add_signature_timestamp, sign, sign_with_options};
use mubadile_core::testkit::{SigningWorld, run, venv_tool};
use mubadile_core::validation::{Indication, ValidationReport, Validator};
use mubadile_plugin_api::{FormatPlugin, SignTarget, SignatureAppearance};
use mubadile_plugin_pdf::PdfPlugin;

mod certification;
mod producers;

/// The platform's CA and one signer ([`SigningWorld`]), with a validator that knows PDF.
struct World {
    base: SigningWorld,
    validator: Validator,
}

impl std::ops::Deref for World {
    type Target = SigningWorld;

    fn deref(&self) -> &SigningWorld {
        &self.base
    }
}

fn world() -> World {
    World {
        base: SigningWorld::start(),
        validator: Validator::new(vec![Arc::new(PdfPlugin)]),
    }
}

impl World {
    fn sign(&self, pdf: &[u8]) -> Vec<u8> {
        sign(
            &PdfPlugin,
            SignTarget::New {
                content: pdf.to_vec(),
                attached: true,
            },
            self.identity(),
            mubadile_core::time::now(),
        )
        .unwrap()
    }

    /// `pdf` signed with a visible stamp, claiming `time`.
    fn sign_visibly(
        &self,
        pdf: &[u8],
        appearance: SignatureAppearance,
        time: chrono::DateTime<chrono::Utc>,
    ) -> mubadile_core::Result<Vec<u8>> {
        self.sign_with(
            pdf,
            SignatureOptions {
                appearance: Some(appearance),
                ..SignatureOptions::default()
            },
            time,
        )
    }

    /// `pdf` signed as `options` say, claiming `time`.
    fn sign_with(
        &self,
        pdf: &[u8],
        options: SignatureOptions,
        time: chrono::DateTime<chrono::Utc>,
    ) -> mubadile_core::Result<Vec<u8>> {
        sign_with_options(
            &PdfPlugin,
            SignTarget::New {
                content: pdf.to_vec(),
                attached: true,
            },
            self.identity(),
            time,
            options,
        )
    }

    /// A new PDF saying `text`, signed and extended to `level` with the embedded TSA.
    fn signed_and_extended(&self, text: &str, level: Level) -> Vec<u8> {
        let signed = self.sign(&classic_pdf(text));
        extend(
            &self.validator,
            &self.anchors,
            self.ca.as_ref(),
            &signed,
            None,
            level,
        )
        .unwrap()
    }

    fn validate(&self, pdf: &[u8]) -> ValidationReport {
        self.validator
            .validate(pdf, None, &self.anchors, None)
            .unwrap()
    }

    /// `pyhanko sign validate` trusting only the test root, without revocation checks.
    fn pyhanko_validate(&self, name: &str) -> String {
        mubadile_core::testkit::pyhanko_validate(self.dir.path(), "root.der", name)
    }

    /// pyHanko signs `input` as PAdES with the test signer's key into `output`.
    fn pyhanko_sign(&self, input: &str, output: &str, field: &str) -> Vec<u8> {
        self.pyhanko_sign_with(input, output, field, &[])
    }

    /// [`World::pyhanko_sign`] with more `addsig` options (`options`).
    fn pyhanko_sign_with(
        &self,
        input: &str,
        output: &str,
        field: &str,
        options: &[&str],
    ) -> Vec<u8> {
        let mut args = vec!["sign", "addsig", "--field", field, "--use-pades"];
        args.extend(options);
        args.extend([
            "pemder",
            "--key",
            "key.pem",
            "--cert",
            "cert.der",
            "--no-pass",
        ]);
        let chain: Vec<String> = (0..self.chain.len())
            .map(|i| format!("chain{i}.der"))
            .collect();
        for c in &chain {
            args.extend(["--chain", c.as_str()]);
        }
        args.extend([input, output]);
        let out = run(
            venv_tool("pyhanko").to_str().unwrap(),
            &args,
            self.dir.path(),
        );
        assert!(
            out.status.success(),
            "pyhanko addsig failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read(self.dir.path().join(output)).unwrap()
    }
}

/// A one-page PDF written by lopdf with a classic cross-reference table.
fn classic_pdf(text: &str) -> Vec<u8> {
    classic_pdf_with(text, [])
}

/// As [`classic_pdf`], with further entries in the page dictionary.
fn classic_pdf_with<const N: usize>(text: &str, page_entries: [(&str, Object); N]) -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(Dictionary::from_iter([
        ("Type", Object::Name(b"Font".to_vec())),
        ("Subtype", Object::Name(b"Type1".to_vec())),
        ("BaseFont", Object::Name(b"Helvetica".to_vec())),
    ]));
    let content = format!("BT /F1 24 Tf 72 720 Td ({text}) Tj ET");
    let content_id = doc.add_object(Stream::new(Dictionary::new(), content.into_bytes()));
    let resources = Dictionary::from_iter([(
        "Font",
        Object::Dictionary(Dictionary::from_iter([("F1", Object::Reference(font_id))])),
    )]);
    let page_id = doc.add_object(Dictionary::from_iter([
        ("Type", Object::Name(b"Page".to_vec())),
        ("Parent", Object::Reference(pages_id)),
        ("Contents", Object::Reference(content_id)),
        ("Resources", Object::Dictionary(resources)),
        (
            "MediaBox",
            Object::Array(vec![0.into(), 0.into(), 595.into(), 842.into()]),
        ),
    ]));
    for (key, value) in page_entries {
        doc.get_dictionary_mut(page_id).unwrap().set(key, value);
    }
    doc.objects.insert(
        pages_id,
        Object::Dictionary(Dictionary::from_iter([
            ("Type", Object::Name(b"Pages".to_vec())),
            ("Kids", Object::Array(vec![Object::Reference(page_id)])),
            ("Count", Object::Integer(1)),
        ])),
    );
    let catalog_id = doc.add_object(Dictionary::from_iter([
        ("Type", Object::Name(b"Catalog".to_vec())),
        ("Pages", Object::Reference(pages_id)),
    ]));
    doc.trailer.set("Root", Object::Reference(catalog_id));
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// The same PDF rewritten by qpdf with object streams and a cross-reference stream.
fn xref_stream_pdf(w: &World, text: &str) -> Vec<u8> {
    w.write("plain.pdf", &classic_pdf(text));
    let out = run(
        "qpdf",
        &["--object-streams=generate", "plain.pdf", "objstm.pdf"],
        w.dir.path(),
    );
    assert!(out.status.success(), "{out:?}");
    let bytes = std::fs::read(w.dir.path().join("objstm.pdf")).unwrap();
    assert!(bytes.windows(5).any(|x| x == b"/XRef"));
    bytes
}

fn pdfsig(w: &World, name: &str) -> String {
    let out = run("pdfsig", &[name], w.dir.path());
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn qpdf_check(w: &World, name: &str) {
    let out = run("qpdf", &["--check", name], w.dir.path());
    assert!(
        out.status.success(),
        "qpdf --check {name}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The fully qualified names of the terminal fields of `pdf`'s form, sorted.
fn form_field_names(pdf: &[u8]) -> Vec<String> {
    fn walk(doc: &Document, node: &Object, parent: &str, names: &mut Vec<String>) {
        let dict = match node {
            Object::Reference(id) => doc.get_dictionary(*id).unwrap(),
            other => other.as_dict().unwrap(),
        };
        let name = match dict.get(b"T").and_then(Object::as_str) {
            Ok(t) if parent.is_empty() => String::from_utf8_lossy(t).into_owned(),
            Ok(t) => format!("{parent}.{}", String::from_utf8_lossy(t)),
            Err(_) => parent.to_string(),
        };
        let kids: Vec<Object> = match dict.get(b"Kids") {
            Ok(Object::Reference(id)) => doc.get_object(*id).unwrap().as_array().unwrap().clone(),
            Ok(Object::Array(kids)) => kids.clone(),
            _ => Vec::new(),
        };
        let named_kids: Vec<&Object> = kids
            .iter()
            .filter(|k| {
                let k = match k {
                    Object::Reference(id) => doc.get_dictionary(*id).unwrap(),
                    other => other.as_dict().unwrap(),
                };
                k.has(b"T")
            })
            .collect();
        for kid in &named_kids {
            walk(doc, kid, &name, names);
        }
        if named_kids.is_empty() {
            names.push(name);
        }
    }
    let doc = Document::load_mem(pdf).unwrap();
    let form = match doc.catalog().unwrap().get(b"AcroForm").unwrap() {
        Object::Reference(id) => doc.get_dictionary(*id).unwrap(),
        other => other.as_dict().unwrap(),
    };
    let fields = match form.get(b"Fields").unwrap() {
        Object::Reference(id) => doc.get_object(*id).unwrap().as_array().unwrap(),
        other => other.as_array().unwrap(),
    };
    let mut names = Vec::new();
    for field in fields {
        walk(&doc, field, "", &mut names);
    }
    names.sort();
    names
}

fn indications(report: &ValidationReport) -> Vec<Indication> {
    report.signatures.iter().map(|s| s.indication).collect()
}

/// Our validator's report on `pdf`, after checking that every one of its `count` signatures
/// passed (SVR 5.6: each is verified on its own).
fn passes(w: &World, pdf: &[u8], count: usize) -> ValidationReport {
    let report = w.validate(pdf);
    assert_eq!(
        indications(&report),
        vec![Indication::TotalPassed; count],
        "{report:#?}"
    );
    report
}

/// Every check of the outside tools that our signature must pass.
fn outside_tools_accept(w: &World, name: &str, signatures: usize) {
    qpdf_check(w, name);
    let text = pdfsig(w, name);
    assert_eq!(
        text.matches("Signature is Valid.").count(),
        signatures,
        "pdfsig:\n{text}"
    );
    assert!(
        text.contains("Signature Type: ETSI.CAdES.detached"),
        "pdfsig:\n{text}"
    );
    let text = w.pyhanko_validate(name);
    // One line per signature: `field:hash:INTACT:TRUSTED,…`.
    let intact = text
        .lines()
        .filter(|l| l.split(':').nth(2) == Some("INTACT"))
        .count();
    assert_eq!(intact, signatures, "pyhanko:\n{text}");
    assert!(
        !text.contains("INVALID") && !text.contains("UNTRUSTED"),
        "pyhanko:\n{text}"
    );
}

#[test]
fn en_319_142_b_b_over_a_classic_xref_table_passes_here_and_in_pdfsig_qpdf_and_pyhanko() {
    let w = world();
    let original = classic_pdf("Mektub No 1");
    let signed = w.sign(&original);
    // An incremental update: every original byte stays where it was.
    assert!(signed.starts_with(&original));
    let report = passes(&w, &signed, 1);
    assert_eq!(report.signatures[0].level, "PAdES-BASELINE-B");
    let name = w.write("signed.pdf", &signed);
    outside_tools_accept(&w, &name, 1);
}

#[test]
fn en_319_142_b_b_over_an_xref_stream_with_object_streams_passes_everywhere() {
    let w = world();
    let original = xref_stream_pdf(&w, "Mektub No 2");
    let signed = w.sign(&original);
    assert!(signed.starts_with(&original));
    passes(&w, &signed, 1);
    let name = w.write("signed.pdf", &signed);
    outside_tools_accept(&w, &name, 1);
}

#[test]
fn svr_5_6_two_signatures_in_order_each_leave_the_earlier_bytes_intact_and_both_pass() {
    let w = world();
    let original = xref_stream_pdf(&w, "Mektub No 3");
    let once = w.sign(&original);
    let twice = w.sign(&once);
    assert!(twice.starts_with(&once));
    passes(&w, &twice, 2);
    let name = w.write("twice.pdf", &twice);
    outside_tools_accept(&w, &name, 2);

    // SVR 4.2.1, 4.2.3: the revision each signature signed, as a PDF of its own.
    let first = &PdfPlugin.signatures(&twice, None).unwrap()[0].id;
    let revision = PdfPlugin.signed_revision(&twice, first).unwrap().unwrap();
    assert_eq!(revision, once);
    let name = w.write("first-revision.pdf", &revision);
    qpdf_check(&w, &name);
    passes(&w, &revision, 1);
}

#[test]
fn a_pyhanko_signature_passes_here_and_our_second_signature_passes_in_pyhanko() {
    let w = world();
    w.write("plain.pdf", &classic_pdf("Mektub No 4"));
    let theirs = w.pyhanko_sign("plain.pdf", "theirs.pdf", "Theirs");
    let report = passes(&w, &theirs, 1);
    assert_eq!(report.signatures[0].level, "PAdES-BASELINE-B");

    let both = w.sign(&theirs);
    passes(&w, &both, 2);
    let name = w.write("both.pdf", &both);
    outside_tools_accept(&w, &name, 2);
}

#[test]
fn svr_4_2_7_a_changed_signed_byte_fails_here_in_pyhanko_and_in_pdfsig() {
    let w = world();
    let signed = w.sign(&classic_pdf("Mektub No 5"));
    let at = signed
        .windows(11)
        .position(|x| x == b"Mektub No 5")
        .unwrap();
    let mut tampered = signed.clone();
    tampered[at + 10] = b'6';
    let report = w.validate(&tampered);
    assert_eq!(
        indications(&report),
        vec![Indication::TotalFailed],
        "{report:#?}"
    );
    let name = w.write("tampered.pdf", &tampered);
    let text = w.pyhanko_validate(&name);
    assert!(
        text.contains("INVALID") || text.contains("invalid"),
        "pyhanko:\n{text}"
    );
    let text = pdfsig(&w, &name);
    assert!(!text.contains("Signature is Valid."), "pdfsig:\n{text}");

    // And the same for a signature pyHanko made.
    w.write("plain.pdf", &classic_pdf("Mektub No 5"));
    let mut theirs = w.pyhanko_sign("plain.pdf", "theirs.pdf", "Theirs");
    let at = theirs
        .windows(11)
        .position(|x| x == b"Mektub No 5")
        .unwrap();
    theirs[at + 10] = b'6';
    let report = w.validate(&theirs);
    assert_eq!(
        indications(&report),
        vec![Indication::TotalFailed],
        "{report:#?}"
    );
}

/// `pdf` with an incremental update (classic cross-reference table) that writes each
/// `(object number, body)` as generation 0.
fn incremental_update(pdf: &[u8], objects: &[(u32, String)]) -> Vec<u8> {
    let doc = Document::load_mem(pdf).unwrap();
    let startxref = String::from_utf8_lossy(pdf)
        .rsplit("startxref")
        .next()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let mut out = pdf.to_vec();
    let mut xref = String::from("xref\n");
    for (number, body) in objects {
        xref.push_str(&format!("{number} 1\n{:010} 00000 n\r\n", out.len()));
        out.extend_from_slice(format!("{number} 0 obj\n{body}\nendobj\n").as_bytes());
    }
    let size = objects
        .iter()
        .map(|(n, _)| n + 1)
        .max()
        .unwrap()
        .max(doc.max_id + 1);
    let root = doc.trailer.get(b"Root").unwrap().as_reference().unwrap().0;
    let xref_at = out.len();
    out.extend_from_slice(
        format!(
            "{xref}trailer\n<</Size {size} /Root {root} 0 R /Prev {startxref}>>\nstartxref\n{xref_at}\n%%EOF\n"
        )
        .as_bytes(),
    );
    out
}

#[test]
fn svr_4_2_7_content_changed_in_a_later_revision_is_reported() {
    let w = world();
    let original = classic_pdf("Mektub No 7");
    let signed = w.sign(&original);
    // An incremental update that gives the page new contents: what the signer saw is gone.
    let doc = Document::load_mem(&signed).unwrap();
    let page_id = doc.page_iter().next().unwrap();
    let parent = doc
        .get_dictionary(page_id)
        .unwrap()
        .get(b"Parent")
        .unwrap()
        .as_reference()
        .unwrap();
    let new_contents = doc.max_id + 1;
    let body = "BT /F1 24 Tf 72 720 Td (Mektub No 8) Tj ET";
    let changed = incremental_update(
        &signed,
        &[
            (
                new_contents,
                format!("<</Length {}>>\nstream\n{body}\nendstream", body.len()),
            ),
            (
                page_id.0,
                format!(
                    "<</Type /Page /Parent {} 0 R /Contents {new_contents} 0 R /MediaBox [0 0 595 842]>>",
                    parent.0
                ),
            ),
        ],
    );
    let report = w.validate(&changed);
    assert_ne!(
        indications(&report),
        vec![Indication::TotalPassed],
        "{report:#?}"
    );
    let messages = format!("{report:?}");
    assert!(messages.contains("SVR 4.2.7"), "{report:#?}");
    // EDE 7.1.3, SVR 4.2.1: search finds what the signer saw, not what came later.
    assert_eq!(
        PdfPlugin.text(&changed).unwrap().as_deref(),
        Some("Mektub No 7\n")
    );
}

/// pyHanko (and Acrobat) rewrite the XMP metadata's modification date on every incremental save;
/// a later revision that only does that leaves the signature valid, one that breaks the packet
/// does not. (This made the pyHanko B-LTA test below fail whenever its revisions straddled a second.)
#[test]
fn svr_4_2_7_an_xmp_metadata_update_after_the_signature_is_allowed_a_broken_one_is_not() {
    let w = world();
    w.write("plain.pdf", &classic_pdf("Mektub No 15"));
    let theirs = w.pyhanko_sign("plain.pdf", "theirs.pdf", "Theirs");
    let doc = Document::load_mem(&theirs).unwrap();
    let metadata = doc
        .catalog()
        .unwrap()
        .get(b"Metadata")
        .expect("pyHanko writes XMP metadata in its signing revision")
        .as_reference()
        .unwrap();
    let xmp = |date: &str| {
        let packet = format!(
            "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?><x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"><xmp:ModifyDate>{date}</xmp:ModifyDate></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>"
        );
        format!(
            "<</Type /Metadata /Subtype /XML /Length {}>>\nstream\n{packet}\nendstream",
            packet.len()
        )
    };

    let touched = incremental_update(&theirs, &[(metadata.0, xmp("2026-12-05T21:00:01Z"))]);
    passes(&w, &touched, 1);

    let broken = incremental_update(
        &theirs,
        &[(metadata.0, xmp("2026-12-05T21:00:01Z</rdf:RDF>"))],
    );
    let report = w.validate(&broken);
    assert_ne!(
        indications(&report),
        vec![Indication::TotalPassed],
        "{report:#?}"
    );
    assert!(format!("{report:?}").contains("SVR 4.2.7"), "{report:#?}");
}

#[test]
fn en_319_142_b_t_the_timestamp_goes_into_the_contents_in_place() {
    let w = world();
    let signed = w.sign(&classic_pdf("Mektub No 9"));
    let id = PdfPlugin.signatures(&signed, None).unwrap()[0].id.clone();
    let stamped = add_signature_timestamp(&PdfPlugin, &signed, &id, w.ca.as_ref()).unwrap();
    assert_eq!(stamped.len(), signed.len());
    let report = passes(&w, &stamped, 1);
    assert_eq!(report.signatures[0].level, "PAdES-BASELINE-T");
    assert!(
        report.signatures[0].proven_signing_time.is_some(),
        "{report:#?}"
    );
    let name = w.write("stamped.pdf", &stamped);
    outside_tools_accept(&w, &name, 1);
}

#[test]
fn en_319_142_b_lt_a_dss_update_validates_with_the_network_down_and_in_pyhanko() {
    let w = world();
    let lt = w.signed_and_extended("Mektub No 12", Level::Lt);
    let evidence = PdfPlugin.signatures(&lt, None).unwrap();
    assert_eq!(evidence[0].level, "PAdES-BASELINE-LT");
    assert!(!evidence[0].ocsp_responses.is_empty() || !evidence[0].crls.is_empty());

    // A fresh validator (no cache) with every responder down decides from the PDF alone.
    w.down.store(true, Ordering::SeqCst);
    let offline = Validator::new(vec![Arc::new(PdfPlugin)]);
    let report = offline.validate(&lt, None, &w.anchors, None).unwrap();
    assert_eq!(
        indications(&report),
        vec![Indication::TotalPassed],
        "{report:#?}"
    );
    let name = w.write("lt.pdf", &lt);
    outside_tools_accept(&w, &name, 1);
}

#[test]
fn en_319_142_b_lta_a_document_timestamp_over_the_dss_passes_here_and_in_pyhanko() {
    let w = world();
    let lta = w.signed_and_extended("Mektub No 13", Level::Lta);
    let evidence = PdfPlugin.signatures(&lta, None).unwrap();
    assert_eq!(evidence.len(), 1);
    assert_eq!(evidence[0].level, "PAdES-BASELINE-LTA");
    let report = passes(&w, &lta, 1);
    assert_eq!(report.signatures[0].timestamps.len(), 2, "{report:#?}");
    let name = w.write("lta.pdf", &lta);
    qpdf_check(&w, &name);
    let text = w.pyhanko_validate(&name);
    assert!(
        text.lines()
            .filter(|l| l.contains(":INTACT:TRUSTED"))
            .count()
            >= 1
            && !text.contains("INVALID")
            && !text.contains("UNTRUSTED"),
        "pyhanko:\n{text}"
    );
    let text = pdfsig(&w, &name);
    assert!(text.contains("Signature is Valid."), "pdfsig:\n{text}");
}

/// pyHanko makes a B-LTA file with the platform's TSA (over HTTP) and the validation data it
/// fetched from the platform's responders: the document timestamp reads here as the archive
/// timestamp and the `/DSS` pyHanko wrote suffices with every responder down.
#[test]
fn en_319_142_b_lta_made_by_pyhanko_with_our_tsa_passes_here_with_the_network_down() {
    let w = world();
    let tsa = format!("{}/pki/tsa", w.public_url);
    w.write("plain.pdf", &classic_pdf("Mektub No 14"));
    let lta = w.pyhanko_sign_with(
        "plain.pdf",
        "pyhanko-lta.pdf",
        "Sig1",
        &[
            "--timestamp-url",
            &tsa,
            "--with-validation-info",
            "--use-pades-lta",
            "--trust",
            "root.der",
            "--trust-replace",
        ],
    );
    let evidence = PdfPlugin.signatures(&lta, None).unwrap();
    assert_eq!(evidence.len(), 1);
    assert_eq!(evidence[0].level, "PAdES-BASELINE-LTA");

    w.down.store(true, Ordering::SeqCst);
    let offline = Validator::new(vec![Arc::new(PdfPlugin)]);
    let report = offline.validate(&lta, None, &w.anchors, None).unwrap();
    assert_eq!(
        indications(&report),
        vec![Indication::TotalPassed],
        "{report:#?}"
    );
    // The signature timestamp and the document timestamp, both checked.
    assert_eq!(report.signatures[0].timestamps.len(), 2, "{report:#?}");
    let text = w.pyhanko_validate("pyhanko-lta.pdf");
    assert!(
        text.contains(":INTACT:TRUSTED") && !text.contains("INVALID"),
        "pyhanko:\n{text}"
    );
}

#[test]
fn bytes_after_the_last_revision_are_reported() {
    let w = world();
    let mut signed = w.sign(&classic_pdf("Mektub No 10"));
    signed.extend_from_slice(b"1 0 obj (hidden) endobj\n");
    let report = w.validate(&signed);
    assert_ne!(
        indications(&report),
        vec![Indication::TotalPassed],
        "{report:#?}"
    );
    assert!(format!("{report:?}").contains("follow the last revision"));
}

#[test]
fn damaged_pdfs_get_a_clear_error_never_a_panic() {
    // Every byte outside the /Contents digits changed (to '0' or 0xff), and every tenth truncation, of a signed
    // PDF: an error or evidence, never a panic (the fuzz target `read_pdf` goes further).
    let w = world();
    let signed = w.sign(&xref_stream_pdf(&w, "Mektub No 11"));
    let hole_start = signed
        .windows(11)
        .position(|x| x == b"/Contents <")
        .unwrap()
        + 10;
    let hole_end = hole_start
        + signed[hole_start..]
            .iter()
            .position(|b| *b == b'>')
            .unwrap();
    let positions = (0..signed.len()).filter(|i| !(hole_start + 200..hole_end).contains(i));
    for i in positions {
        let mut damaged = signed.clone();
        damaged[i] = if i % 2 == 0 { b'0' } else { 0xff };
        let _ = PdfPlugin.signatures(&damaged, None);
    }
    for cut in (0..signed.len()).step_by(10) {
        if let Err(e) = PdfPlugin.signatures(&signed[..cut], None) {
            assert!(!e.message.is_empty());
        }
    }
}

/// A one-page PDF showing a `side`×`side` RGB image of pseudo-random bytes (a large file when
/// `side` is large), with a classic cross-reference table.
fn image_pdf(side: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let pixels: Vec<u8> = (0..side * side * 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[3]
        })
        .collect();
    let image = Stream::new(
        Dictionary::from_iter([
            ("Type", Object::Name(b"XObject".to_vec())),
            ("Subtype", Object::Name(b"Image".to_vec())),
            ("Width", Object::Integer(side as i64)),
            ("Height", Object::Integer(side as i64)),
            ("ColorSpace", Object::Name(b"DeviceRGB".to_vec())),
            ("BitsPerComponent", Object::Integer(8)),
        ]),
        pixels,
    );
    let mut doc = Document::load_mem(&classic_pdf("Mektub No 20")).unwrap();
    let image_id = doc.add_object(image);
    let page_id = doc.page_iter().next().unwrap();
    let page = doc.get_dictionary_mut(page_id).unwrap();
    let resources = page.get_mut(b"Resources").unwrap().as_dict_mut().unwrap();
    resources.set(
        "XObject",
        Object::Dictionary(Dictionary::from_iter([(
            "Im1",
            Object::Reference(image_id),
        )])),
    );
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

#[test]
fn ede_7_1_3_a_page_that_inflates_past_the_text_budget_gives_no_text_quickly() {
    // 200 MB of text operators squeezed into a few hundred kilobytes (a decompression bomb):
    // the text reader stops at its budget and gives none; the document is still signed.
    let w = world();
    let mut doc = Document::load_mem(&classic_pdf("Mektub No 21")).unwrap();
    let mut content = Stream::new(
        Dictionary::new(),
        b"BT /F1 12 Tf (bomba) Tj ET\n".repeat((200 << 20) / 32),
    );
    content.compress().unwrap();
    let content_id = doc.add_object(content);
    let page_id = doc.page_iter().next().unwrap();
    doc.get_dictionary_mut(page_id)
        .unwrap()
        .set("Contents", Object::Reference(content_id));
    let mut pdf = Vec::new();
    doc.save_to(&mut pdf).unwrap();
    assert!(pdf.len() < 2_000_000, "{}", pdf.len());
    let signed = w.sign(&pdf);
    let started = std::time::Instant::now();
    assert_eq!(PdfPlugin.text(&signed).unwrap(), None);
    assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
}

#[test]
fn en_319_142_b_b_over_a_large_pdf_is_hashed_where_it_lies_and_passes_everywhere() {
    // 12 MB: the update reads only the catalog, page tree and form, the image never.
    let w = world();
    let original = image_pdf(2000);
    assert!(original.len() > 12_000_000);
    let signed = w.sign(&original);
    assert!(signed.starts_with(&original));
    assert!(signed.len() - original.len() < 200_000);
    w.write("large.pdf", &signed);
    let started = std::time::Instant::now();
    assert_eq!(
        PdfPlugin.text(&signed).unwrap().as_deref(),
        Some("Mektub No 20\n")
    );
    println!(
        "text of the signed 12 MB PDF read in {:?}",
        started.elapsed()
    );
    passes(&w, &signed, 1);
    outside_tools_accept(&w, "large.pdf", 1);
}

#[test]
fn external_signing_prepares_and_finishes_the_same_update_and_refuses_another_document() {
    // Two-step signing (DESIGN.md "Signing flows"): prepare, the holder's token signs, finish.
    use mubadile_core::crypto::Signer;
    use mubadile_core::signing::external;
    let w = world();
    let original = xref_stream_pdf(&w, "Mektub No 21");
    let now = mubadile_core::time::now();
    let target = || SignTarget::New {
        content: original.clone(),
        attached: true,
    };
    let preparation = external::prepare(
        &PdfPlugin,
        target(),
        &w.certificate,
        &w.chain,
        now,
        SignatureOptions::default(),
    )
    .unwrap();
    let value = w.key.sign(&preparation.data_to_be_signed).unwrap();
    let session = external::SigningSession::decode(&preparation.session).unwrap();
    let signed = external::finish(&PdfPlugin, &session, &value, now).unwrap();
    assert!(signed.starts_with(&original));
    w.write("external.pdf", &signed);
    passes(&w, &signed, 1);
    outside_tools_accept(&w, "external.pdf", 1);

    // The same session over another document: the covered bytes differ, so finish refuses.
    let request = mubadile_plugin_api::SignRequest {
        target: SignTarget::New {
            content: xref_stream_pdf(&w, "Mektub No 22"),
            attached: true,
        },
        signer_certificate: w.certificate.clone(),
        chain: w.chain.clone(),
        signature_algorithm: der::Encode::to_der(&w.key.signature_algorithm()).unwrap(),
        digest_algorithm: w.key.algorithm().digest_oid().to_string(),
        signing_time: now.timestamp(),
        appearance: None,
        certify: None,
        field: None,
    };
    let prepared = PdfPlugin.prepare(&request).unwrap();
    let other = mubadile_plugin_api::SignRequest {
        target: target(),
        ..request
    };
    let error = PdfPlugin.finish(&other, &prepared, &value).unwrap_err();
    assert!(error.message.contains("prepare again"), "{error:?}");
}

#[test]
fn a_pdf_whose_cross_reference_offsets_are_off_is_still_signed_after_lopdf_repairs_it() {
    // Every object moved by a comment line: the offsets no longer point at the objects, so the
    // update's own reader gives up and lopdf's repairing parse is used instead.
    let w = world();
    let original = classic_pdf("Mektub No 23");
    let at = original.iter().position(|b| *b == b'\n').unwrap() + 1;
    let mut shifted = original[..at].to_vec();
    shifted.extend_from_slice(b"%moved\n");
    shifted.extend_from_slice(&original[at..]);
    let signed = w.sign(&shifted);
    assert!(signed.starts_with(&shifted));
    let report = w.validate(&signed);
    assert_eq!(report.signatures.len(), 1, "{report:#?}");
}

/// `plain.pdf` encrypted by qpdf into `name` with the user password `user` (empty: anyone may
/// open it, the owner password only restricts permissions) and a key of `bits`.
fn encrypted(w: &World, user: &str, bits: &str, name: &str) -> Vec<u8> {
    let mut args = vec!["--encrypt", user, "owner-secret", bits];
    if bits == "128" {
        args.push("--use-aes=y");
    }
    args.extend(["--", "plain.pdf", name]);
    let out = run("qpdf", &args, w.dir.path());
    assert!(out.status.success(), "{out:?}");
    std::fs::read(w.dir.path().join(name)).unwrap()
}

#[test]
fn an_encrypted_pdf_is_refused_for_signing_and_validation_saying_what_to_do() {
    let w = world();
    w.write("plain.pdf", &classic_pdf("Mektub No 24"));
    for (user, bits) in [("user-secret", "256"), ("", "256"), ("", "128")] {
        let pdf = encrypted(&w, user, bits, "encrypted.pdf");
        let error = sign(
            &PdfPlugin,
            SignTarget::New {
                content: pdf.clone(),
                attached: true,
            },
            w.identity(),
            mubadile_core::time::now(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("the PDF is encrypted") && error.contains("qpdf --decrypt"),
            "user password {user:?}, {bits} bits: {error}"
        );
        let error = w
            .validator
            .validate(&pdf, None, &w.anchors, None)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("the PDF is encrypted") && error.contains("not supported"),
            "user password {user:?}, {bits} bits: {error}"
        );
    }
}

/// A stamp in the lower right of an A4 page, for an economy ministry's adviser.
fn stamp(page: u32, rect: [i32; 4]) -> SignatureAppearance {
    SignatureAppearance {
        page: Some(page),
        rect: Some(rect),
        // The signer's details come from the certificate (Aygün Məmmədova, Baş məsləhətçi,
        // Ədliyyə Nazirliyi: the signing world's holder).
        signer_name: None,
        position: None,
        organisation: None,
        registration_number: Some("ÇĞ-17/2026".into()),
        registration_date: Some("2026-11-30".into()),
    }
}

/// `pdftotext -layout` of `name`.
fn pdftotext(w: &World, name: &str) -> String {
    let out = run("pdftotext", &["-layout", name, "-"], w.dir.path());
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn ede_3_1_a_visible_stamp_in_the_signed_update_shows_azerbaijani_text_and_baku_time() {
    let w = world();
    let original = classic_pdf("Mektub No 8");
    let time = mubadile_core::time::now();
    let signed = w
        .sign_visibly(&original, stamp(1, [300, 40, 560, 150]), time)
        .unwrap();
    assert!(signed.starts_with(&original));
    passes(&w, &signed, 1);
    let name = w.write("visible.pdf", &signed);
    outside_tools_accept(&w, &name, 1);

    // The composite font with a subset of DejaVu Sans, as ISO 32000-1 9.7 describes it.
    let update = String::from_utf8_lossy(&signed[original.len()..]);
    for entry in [
        "/Subtype /Type0",
        "/Encoding /Identity-H",
        "/Subtype /CIDFontType2",
        "/ToUnicode ",
        "/FontFile2 ",
        "/W [",
        "+DejaVuSans",
        "/AP <</N ",
    ] {
        assert!(update.contains(entry), "{entry} missing from the update");
    }
    assert!(
        signed.len() - original.len() < 80_000,
        "the font is not subset"
    );

    // CSP 6.3: the signing time in Baku time.
    let baku = time
        .with_timezone(&chrono_tz::Asia::Baku)
        .format("%d.%m.%Y %H:%M:%S")
        .to_string();
    let text = pdftotext(&w, &name);
    for expected in [
        "Elektron imza ilə imzalanıb",
        "Aygün Məmmədova",
        "Baş məsləhətçi",
        "Ədliyyə Nazirliyi",
        &format!("İmza vaxtı: {baku} (Bakı vaxtı)"),
        "Qeydiyyat nömrəsi: ÇĞ-17/2026",
        "Qeydiyyat tarixi: 30.11.2026",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }

    let out = run(
        "pdftoppm",
        &["-png", "-r", "150", "-f", "1", "-l", "1", &name, "page"],
        w.dir.path(),
    );
    assert!(out.status.success(), "{out:?}");
    let png = std::fs::read(w.dir.path().join("page-1.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    // Kept for looking at (docs/screenshots/pdf-visible-stamp.png was made from it).
    std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("pdf-visible-stamp.png"),
        png,
    )
    .unwrap();
}

#[test]
fn svr_5_6_a_second_stamped_signature_leaves_the_first_valid() {
    let w = world();
    let original = xref_stream_pdf(&w, "Mektub No 9");
    let time = mubadile_core::time::now();
    let once = w
        .sign_visibly(&original, stamp(1, [40, 40, 290, 150]), time)
        .unwrap();
    let mut second = stamp(1, [300, 40, 560, 150]);
    second.registration_number = Some("ÇĞ-18/2026".into());
    let twice = w.sign_visibly(&once, second, time).unwrap();
    assert!(twice.starts_with(&once));
    passes(&w, &twice, 2);
    let name = w.write("two-stamps.pdf", &twice);
    outside_tools_accept(&w, &name, 2);
    let text = pdftotext(&w, &name);
    assert!(text.contains("ÇĞ-17/2026"), "{text}");
    assert!(text.contains("ÇĞ-18/2026"), "{text}");
}

#[test]
fn a_stamp_off_the_pages_or_with_an_empty_or_outlying_rectangle_is_a_clear_error() {
    let w = world();
    let original = classic_pdf("Mektub No 10");
    let time = mubadile_core::time::now();
    for (appearance, expected) in [
        (
            stamp(2, [300, 40, 560, 150]),
            "cannot go on page 2: the PDF has 1 page(s)",
        ),
        (
            stamp(0, [300, 40, 560, 150]),
            "cannot go on page 0: the PDF has 1 page(s)",
        ),
        (stamp(1, [300, 40, 300, 150]), "[300 40 300 150] is empty"),
        (stamp(1, [300, 150, 560, 40]), "[300 150 560 40] is empty"),
        (stamp(1, [300, 40, 310, 45]), "is too small"),
        (
            stamp(1, [500, 40, 900, 150]),
            "leaves page 1, whose visible area is [0 0 595 842] as displayed",
        ),
    ] {
        let error = w.sign_visibly(&original, appearance, time).unwrap_err();
        assert!(error.to_string().contains(expected), "{error}");
    }
}

/// Where pdftotext finds `word` on page 1 of `name`: `[x_min y_min x_max y_max]` in points
/// from the upper left corner of the visible area as the page is displayed.
fn word_box(w: &World, name: &str, word: &str) -> [f64; 4] {
    let out = run("pdftotext", &["-bbox", "-cropbox", name, "-"], w.dir.path());
    let html = String::from_utf8(out.stdout).unwrap();
    let line = html
        .lines()
        .find(|l| l.contains(&format!(">{word}</word>")))
        .unwrap_or_else(|| panic!("{word} not in {html}"));
    ["xMin", "yMin", "xMax", "yMax"].map(|key| {
        let at = line.find(&format!("{key}=\"")).unwrap() + key.len() + 2;
        line[at..].split('"').next().unwrap().parse().unwrap()
    })
}

#[test]
fn a_stamp_on_a_turned_and_cropped_page_reads_upright_where_the_request_placed_it() {
    let w = world();
    let time = mubadile_core::time::now();
    for rotate in [0, 90, 180, 270] {
        let original = classic_pdf_with(
            "Mektub No 11",
            [
                ("Rotate", Object::Integer(rotate)),
                (
                    "CropBox",
                    Object::Array(vec![20.into(), 30.into(), 575.into(), 812.into()]),
                ),
            ],
        );
        // The rectangle as the page is seen: from the lower left corner of its visible area.
        let signed = w
            .sign_visibly(&original, stamp(1, [40, 40, 300, 150]), time)
            .unwrap();
        passes(&w, &signed, 1);
        let name = w.write(&format!("turned-{rotate}.pdf"), &signed);
        outside_tools_accept(&w, &name, 1);
        let [x_min, y_min, x_max, y_max] = word_box(&w, &name, "Məmmədova");
        // The cropped page, 555 × 782 points, as displayed.
        let height = if rotate % 180 == 0 { 782.0 } else { 555.0 };
        // Upright: the word runs along the displayed page, wider than it is tall …
        assert!(
            x_max - x_min > 2.0 * (y_max - y_min),
            "{rotate}: {x_min} {y_min} {x_max} {y_max}"
        );
        // … and inside the rectangle asked for (pdftotext counts y down from the top).
        assert!(
            x_min >= 40.0 && x_max <= 300.0 && height - y_max >= 40.0 && height - y_min <= 150.0,
            "{rotate}: the word is at {x_min} {y_min} {x_max} {y_max}"
        );
    }
    // A rectangle that fits the page unturned but not as displayed is refused.
    let original = classic_pdf_with("Mektub No 12", [("Rotate", Object::Integer(90))]);
    let error = w
        .sign_visibly(&original, stamp(1, [300, 600, 560, 700]), time)
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("whose visible area is [0 0 842 595] as displayed"),
        "{error}"
    );
}
