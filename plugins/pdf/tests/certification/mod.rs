//! Certification signatures (DocMDP, ISO 32000-1 12.8.2.2; EN 319 142-1 5.4) and what may
//! follow a signature (SVR 4.2.7: every change detected and shown), judged against pyHanko's
//! difference analysis: pyHanko certifies and changes a form, we validate; we certify, pyHanko
//! reads the certification, fills and signs after it, and both sides agree. pyHanko does not
//! support DocMDP P=3 (its analysis permits no annotation at all): there the verdicts differ on
//! purpose, as docs/pdf.md says.

use mubadile_plugin_api::DocMdpPermissions;

use super::*;

mod field_lock;
mod revision_by_revision;

/// Writes `argv[4]` (`Ləman Şükürova` when not given) into the text field `argv[3]` of
/// `argv[1]` as an incremental update (pyHanko's writer, value only, as pyHanko's own form
/// filling does), into `argv[2]`.
pub const FILL_PY: &str = "
import sys
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.generic import NameObject, TextStringObject
value = sys.argv[4] if len(sys.argv) > 4 else 'Ləman Şükürova'
with open(sys.argv[1], 'rb') as f:
    w = IncrementalPdfFileWriter(f)
    for ref in w.root['/AcroForm']['/Fields']:
        if ref.get_object().get('/T') == sys.argv[3]:
            ref.get_object()[NameObject('/V')] = TextStringObject(value)
            w.mark_update(ref)
    with open(sys.argv[2], 'wb') as out:
        w.write(out)
";

/// Certifies `argv[1]` into `argv[2]` with DocMDP permissions `argv[3]` as PAdES, with the key
/// `argv[4]`, the certificate `argv[5]` and the chain after it (pyHanko's signer; its CLI's
/// `--certify` knows only P=2).
const CERTIFY_PY: &str = "
import sys
from pyhanko.sign import signers, fields
from pyhanko.sign.fields import MDPPerm
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
signer = signers.SimpleSigner.load(sys.argv[4], sys.argv[5], ca_chain_files=tuple(sys.argv[6:]))
meta = signers.PdfSignatureMetadata(
    field_name='Author', certify=True, docmdp_permissions=MDPPerm(int(sys.argv[3])),
    subfilter=fields.SigSeedSubFilter.PADES)
with open(sys.argv[1], 'rb') as f:
    w = IncrementalPdfFileWriter(f)
    with open(sys.argv[2], 'wb') as out:
        signers.sign_pdf(w, meta, signer=signer, output=out)
";

/// Adds a text (sticky note) annotation to the first page of `argv[1]`, into `argv[2]`.
const ANNOTATE_PY: &str = "
import sys
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.generic import (ArrayObject, DictionaryObject, FloatObject, NameObject,
                                       TextStringObject)
with open(sys.argv[1], 'rb') as f:
    w = IncrementalPdfFileWriter(f)
    page_ref = w.root['/Pages']['/Kids'].raw_get(0)
    page = page_ref.get_object()
    note = w.add_object(DictionaryObject({
        NameObject('/Type'): NameObject('/Annot'), NameObject('/Subtype'): NameObject('/Text'),
        NameObject('/Rect'): ArrayObject([FloatObject(40), FloatObject(40), FloatObject(60),
                                          FloatObject(60)]),
        NameObject('/Contents'): TextStringObject('Qeyd')}))
    annots = page.get('/Annots', ArrayObject())
    page[NameObject('/Annots')] = ArrayObject(
        [annots.raw_get(i) for i in range(len(annots))] + [note])
    w.mark_update(page_ref)
    with open(sys.argv[2], 'wb') as out:
        w.write(out)
";

/// Prints the DocMDP permissions pyHanko reads from `argv[1]`'s certification (the catalog's
/// /Perms) and from its first signature: `P` and `P`, or `none`.
const DOCMDP_PY: &str = "
import sys
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import read_certification_data
with open(sys.argv[1], 'rb') as f:
    r = PdfFileReader(f)
    data = read_certification_data(r)
    level = r.embedded_signatures[0].docmdp_level
    print('none' if data is None else data.permission.value, level.value if level else 'none')
";

impl World {
    /// Runs the Python script `script` with `args` in the test's directory (pyHanko's venv).
    fn python(&self, script: &str, args: &[&str]) -> std::process::Output {
        let mut all = vec!["-c", script];
        all.extend(args);
        run(venv_tool("python").to_str().unwrap(), &all, self.dir.path())
    }

    /// Runs `script` on `input` into `output`, which it must write; its bytes.
    fn python_writes(&self, script: &str, input: &str, output: &str, more: &[&str]) -> Vec<u8> {
        let mut args = vec![input, output];
        args.extend(more);
        let out = self.python(script, &args);
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read(self.dir.path().join(output)).unwrap()
    }

    /// pyHanko fills the text field `field` of `input` into `output`.
    pub fn fill(&self, input: &str, output: &str, field: &str) -> Vec<u8> {
        self.python_writes(FILL_PY, input, output, &[field])
    }

    /// pyHanko writes `value` into the text field `field` of `input`, into `output`.
    fn fill_with(&self, input: &str, output: &str, field: &str, value: &str) -> Vec<u8> {
        self.python_writes(FILL_PY, input, output, &[field, value])
    }

    /// pyHanko certifies `input` into `output` with permissions `p` and the test signer's key.
    fn pyhanko_certify(&self, input: &str, output: &str, p: u8) -> Vec<u8> {
        let chain: Vec<String> = (0..self.chain.len())
            .map(|i| format!("chain{i}.der"))
            .collect();
        let p = p.to_string();
        let mut more = vec![p.as_str(), "key.pem", "cert.der"];
        more.extend(chain.iter().map(String::as_str));
        self.python_writes(CERTIFY_PY, input, output, &more)
    }

    /// The DocMDP permissions pyHanko reads from `name`: the catalog's and the first
    /// signature's.
    fn pyhanko_docmdp(&self, name: &str) -> String {
        let out = self.python(DOCMDP_PY, &[name]);
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// `pdf` certified by us with permissions `p`.
    fn certify(&self, pdf: &[u8], p: DocMdpPermissions) -> mubadile_core::Result<Vec<u8>> {
        self.sign_with(
            pdf,
            SignatureOptions {
                certify: Some(p),
                ..SignatureOptions::default()
            },
            mubadile_core::time::now(),
        )
    }
}

/// A one-page PDF with a form, written by lopdf: the text field `ad` (merged with its widget,
/// empty) and the empty visible signature field `Approval`, both on the page.
fn form_pdf() -> Vec<u8> {
    form_pdf_with(&["ad"])
}

/// As [`form_pdf`], with the empty text fields `text_fields` one below the other.
fn form_pdf_with(text_fields: &[&str]) -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let page_id = doc.new_object_id();
    let font_id = doc.add_object(Dictionary::from_iter([
        ("Type", Object::Name(b"Font".to_vec())),
        ("Subtype", Object::Name(b"Type1".to_vec())),
        ("BaseFont", Object::Name(b"Helvetica".to_vec())),
    ]));
    let content = "BT /F1 18 Tf 72 720 Td (Erize: ad, soyad) Tj ET";
    let content_id = doc.add_object(Stream::new(Dictionary::new(), content.as_bytes().to_vec()));
    let widget = |entries: Vec<(&str, Object)>, rect: [i64; 4]| {
        let mut d = Dictionary::from_iter(entries);
        d.set("Type", Object::Name(b"Annot".to_vec()));
        d.set("Subtype", Object::Name(b"Widget".to_vec()));
        d.set("F", Object::Integer(4));
        d.set("P", Object::Reference(page_id));
        d.set(
            "Rect",
            Object::Array(rect.into_iter().map(Object::Integer).collect()),
        );
        d
    };
    let signature_id = doc.add_object(widget(
        vec![
            ("FT", Object::Name(b"Sig".to_vec())),
            ("T", Object::string_literal("Approval")),
        ],
        [300, 60, 540, 120],
    ));
    let text_ids: Vec<Object> = (0i64..)
        .zip(text_fields)
        .map(|(i, name)| {
            Object::Reference(doc.add_object(widget(
                vec![
                    ("FT", Object::Name(b"Tx".to_vec())),
                    ("T", Object::string_literal(*name)),
                    ("DA", Object::string_literal("/Helv 12 Tf 0 g")),
                ],
                [72, 660 - 40 * i, 400, 684 - 40 * i],
            )))
        })
        .collect();
    let fields: Vec<Object> = text_ids
        .into_iter()
        .chain([Object::Reference(signature_id)])
        .collect();
    doc.objects.insert(
        page_id,
        Object::Dictionary(Dictionary::from_iter([
            ("Type", Object::Name(b"Page".to_vec())),
            ("Parent", Object::Reference(pages_id)),
            ("Contents", Object::Reference(content_id)),
            (
                "Resources",
                Object::Dictionary(Dictionary::from_iter([(
                    "Font",
                    Object::Dictionary(Dictionary::from_iter([("F1", Object::Reference(font_id))])),
                )])),
            ),
            (
                "MediaBox",
                Object::Array(vec![0.into(), 0.into(), 595.into(), 842.into()]),
            ),
            ("Annots", Object::Array(fields.clone())),
        ])),
    );
    doc.objects.insert(
        pages_id,
        Object::Dictionary(Dictionary::from_iter([
            ("Type", Object::Name(b"Pages".to_vec())),
            ("Kids", Object::Array(vec![Object::Reference(page_id)])),
            ("Count", Object::Integer(1)),
        ])),
    );
    let form = Dictionary::from_iter([
        ("Fields", Object::Array(fields)),
        (
            "DR",
            Object::Dictionary(Dictionary::from_iter([(
                "Font",
                Object::Dictionary(Dictionary::from_iter([(
                    "Helv",
                    Object::Reference(font_id),
                )])),
            )])),
        ),
        ("DA", Object::string_literal("/Helv 0 Tf 0 g")),
    ]);
    let form_id = doc.add_object(form);
    let catalog_id = doc.add_object(Dictionary::from_iter([
        ("Type", Object::Name(b"Catalog".to_vec())),
        ("Pages", Object::Reference(pages_id)),
        ("AcroForm", Object::Reference(form_id)),
    ]));
    doc.trailer.set("Root", Object::Reference(catalog_id));
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// `pdf` with its page's content stream rewritten in an incremental update.
fn content_changed(pdf: &[u8]) -> Vec<u8> {
    let doc = Document::load_mem(pdf).unwrap();
    let page = doc.get_dictionary(doc.page_iter().next().unwrap()).unwrap();
    let content = page.get(b"Contents").unwrap().as_reference().unwrap();
    let body = "BT /F1 18 Tf 72 720 Td (Erize: imtina) Tj ET";
    incremental_update(
        pdf,
        &[(
            content.0,
            format!("<</Length {}>>\nstream\n{body}\nendstream", body.len()),
        )],
    )
}

/// pyHanko's verdict on the one signature of `name`: the summary after `INTACT:TRUSTED,`, or
/// the whole output when the signature is not intact and trusted.
fn pyhanko_summary(w: &World, name: &str) -> String {
    let text = w.pyhanko_validate(name);
    text.lines()
        .find_map(|l| l.split_once(":INTACT:TRUSTED,").map(|(_, s)| s.to_string()))
        .unwrap_or(text)
}

/// Whether our validator passes every signature of `pdf`; the report.
fn ours(w: &World, pdf: &[u8]) -> (bool, ValidationReport) {
    let report = w.validate(pdf);
    let passed = indications(&report)
        .iter()
        .all(|i| *i == Indication::TotalPassed);
    (passed, report)
}

/// Whether `report`'s first signature shows a note (warning) containing every one of `words`.
fn shows(report: &ValidationReport, words: &[&str]) -> bool {
    report.signatures[0]
        .warnings
        .iter()
        .any(|n| words.iter().all(|w| n.contains(w)))
}

#[test]
fn iso_32000_12_8_2_2_a_pyhanko_certification_is_judged_as_pyhanko_judges_it_p3_aside() {
    let w = world();
    w.write("form.pdf", &form_pdf());
    for p in [1u8, 2, 3] {
        let certified = w.pyhanko_certify("form.pdf", &format!("c{p}.pdf"), p);
        let label = format!("P={p}");

        // Untouched: passes everywhere, the certification shown with its permissions.
        let (passed, report) = ours(&w, &certified);
        assert!(passed, "{label}: {report:#?}");
        assert!(
            shows(&report, &["certification signature", &label]),
            "{label}: {report:#?}"
        );
        let summary = pyhanko_summary(&w, &format!("c{p}.pdf"));
        assert_eq!(summary, "UNTOUCHED", "{label}");

        // A field filled: permitted by P=2 and 3, not by P=1 — here and in pyHanko.
        let filled = w.fill(&format!("c{p}.pdf"), &format!("c{p}-filled.pdf"), "ad");
        let (passed, report) = ours(&w, &filled);
        let summary = pyhanko_summary(&w, &format!("c{p}-filled.pdf"));
        assert_eq!(passed, p >= 2, "{label}: {report:#?}");
        assert_eq!(
            summary.ends_with("ACCEPTABLE_MODIFICATIONS"),
            p >= 2,
            "{label}: {summary}"
        );
        assert!(
            format!("{report:?}").contains("field \\\"ad\\\" filled after this signature"),
            "{label}: {report:#?}"
        );

        // An annotation: permitted by P=3 only; pyHanko permits none at any level.
        let annotated = w.python_writes(
            ANNOTATE_PY,
            &format!("c{p}.pdf"),
            &format!("c{p}-note.pdf"),
            &[],
        );
        let (passed, report) = ours(&w, &annotated);
        assert_eq!(passed, p == 3, "{label}: {report:#?}");
        assert!(
            format!("{report:?}").contains("a Text annotation was added to page 1"),
            "{label}: {report:#?}"
        );
        let summary = pyhanko_summary(&w, &format!("c{p}-note.pdf"));
        assert!(
            summary.contains("ILLEGAL_MODIFICATIONS"),
            "{label}: {summary}"
        );

        // The page's content changed: never permitted, here and in pyHanko.
        let changed = content_changed(&certified);
        let name = w.write(&format!("c{p}-content.pdf"), &changed);
        let (passed, report) = ours(&w, &changed);
        assert!(!passed, "{label}: {report:#?}");
        let summary = pyhanko_summary(&w, &name);
        assert!(
            !summary.contains("ACCEPTABLE_MODIFICATIONS") && !summary.contains("UNTOUCHED"),
            "{label}: {summary}"
        );
    }
}

#[test]
fn iso_32000_12_8_2_2_our_certification_is_read_by_pyhanko_and_later_changes_agree() {
    let w = world();
    let form = form_pdf();

    // P=2: pyHanko reads it, pdfsig and qpdf accept it; a field filled and a signature into the
    // empty field after it leave it valid on both sides.
    let certified = w.certify(&form, DocMdpPermissions::FormFilling).unwrap();
    assert!(certified.starts_with(&form));
    let name = w.write("ours-p2.pdf", &certified);
    outside_tools_accept(&w, &name, 1);
    assert_eq!(w.pyhanko_docmdp(&name), "2 2");
    assert_eq!(pyhanko_summary(&w, &name), "UNTOUCHED");
    let report = passes(&w, &certified, 1);
    assert!(
        shows(&report, &["certification signature", "P=2"]),
        "{report:#?}"
    );

    let filled = w.fill("ours-p2.pdf", "ours-p2-filled.pdf", "ad");
    let report = passes(&w, &filled, 1);
    assert!(
        shows(
            &report,
            &[
                "field \"ad\" filled after this signature",
                "permitted by the certification's DocMDP permissions P=2"
            ]
        ),
        "{report:#?}"
    );
    assert!(
        pyhanko_summary(&w, "ours-p2-filled.pdf").ends_with("ACCEPTABLE_MODIFICATIONS"),
        "{}",
        w.pyhanko_validate("ours-p2-filled.pdf")
    );
    let both = w.pyhanko_sign("ours-p2-filled.pdf", "ours-p2-both.pdf", "Approval");
    let report = passes(&w, &both, 2);
    assert!(
        shows(
            &report,
            &["empty signature field \"Approval\" signed after this signature"]
        ),
        "{report:#?}"
    );
    outside_tools_accept(&w, "ours-p2-both.pdf", 2);

    // Ours on top of the certification: into the empty field with a stamp, or a new invisible
    // field; a new visible field is refused (a new annotation, which P=2 does not permit).
    let mut in_field = stamp(1, [0, 0, 1, 1]);
    in_field.page = None;
    in_field.rect = None;
    let into = w
        .sign_with(
            &certified,
            SignatureOptions {
                appearance: Some(in_field),
                field: Some("Approval".into()),
                ..SignatureOptions::default()
            },
            mubadile_core::time::now(),
        )
        .unwrap();
    passes(&w, &into, 2);
    let name = w.write("ours-p2-into.pdf", &into);
    outside_tools_accept(&w, &name, 2);
    let invisible = w.sign(&certified);
    passes(&w, &invisible, 2);
    let name = w.write("ours-p2-invisible.pdf", &invisible);
    outside_tools_accept(&w, &name, 2);
    let error = w
        .sign_visibly(
            &certified,
            stamp(1, [300, 700, 560, 800]),
            mubadile_core::time::now(),
        )
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("P=2") && error.contains("\"Approval\""),
        "{error}"
    );

    // P=1: pyHanko reads it; a field filled after it fails on both sides; we sign no more.
    let locked = w.certify(&form, DocMdpPermissions::NoChanges).unwrap();
    let name = w.write("ours-p1.pdf", &locked);
    outside_tools_accept(&w, &name, 1);
    assert_eq!(w.pyhanko_docmdp(&name), "1 1");
    let filled = w.fill("ours-p1.pdf", "ours-p1-filled.pdf", "ad");
    let (passed, report) = ours(&w, &filled);
    assert!(!passed, "{report:#?}");
    assert!(
        format!("{report:?}")
            .contains("not permitted by the certification's DocMDP permissions P=1"),
        "{report:#?}"
    );
    assert!(
        pyhanko_summary(&w, "ours-p1-filled.pdf").contains("ILLEGAL_MODIFICATIONS"),
        "{}",
        w.pyhanko_validate("ours-p1-filled.pdf")
    );
    let error = w
        .sign_with(
            &locked,
            SignatureOptions::default(),
            mubadile_core::time::now(),
        )
        .unwrap_err()
        .to_string();
    assert!(error.contains("P=1 (no changes)"), "{error}");
    // Validation data and a document timestamp are still permitted after P=1 (EN 319 142-1
    // 5.4): extended to B-LTA it passes, the additions shown.
    let lta = extend(
        &w.validator,
        &w.anchors,
        w.ca.as_ref(),
        &locked,
        None,
        Level::Lta,
    )
    .unwrap();
    let report = passes(&w, &lta, 1);
    assert!(shows(&report, &["validation data"]), "{report:#?}");

    // P=3 certified by us: pyHanko reads the level.
    let open = w.certify(&form, DocMdpPermissions::Annotations).unwrap();
    let name = w.write("ours-p3.pdf", &open);
    assert_eq!(w.pyhanko_docmdp(&name), "3 3");

    // A certification must be the first signature.
    let signed = w.sign(&form);
    let error = w
        .certify(&signed, DocMdpPermissions::FormFilling)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("already signed") && error.contains("first signature"),
        "{error}"
    );
}
