//! Field locks (FieldMDP): a signature field's /Lock names the fields that may not change once
//! it is signed (ISO 32000-1 12.7.4.5, Table 233), and the signature records that lock as a
//! FieldMDP transform in its /Reference (12.8.2.4, Tables 253 and 256). pyHanko prepares the
//! locked field and signs it, or we sign into it; a later revision then fills the locked field
//! (disallowed) or another one (permitted and shown). pyHanko's verdict agrees on every file;
//! pdfsig checks only the signed bytes, so it says "Signature is Valid." for both fillings.

use super::*;

/// Adds the empty signature field `Locked` to `argv[1]` (visible, above `Approval`) whose
/// /Lock locks the fields `argv[3:]` (pyHanko's `SigFieldSpec` with a `FieldMDPSpec`), into
/// `argv[2]`.
const LOCKED_FIELD_PY: &str = "
import sys
from pyhanko.sign import fields
from pyhanko.sign.fields import SigFieldSpec, FieldMDPSpec, FieldMDPAction
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
with open(sys.argv[1], 'rb') as f:
    w = IncrementalPdfFileWriter(f)
    fields.append_signature_field(w, SigFieldSpec(
        'Locked', box=(300, 140, 540, 200),
        field_mdp_spec=FieldMDPSpec(FieldMDPAction.INCLUDE, fields=sys.argv[3:])))
    with open(sys.argv[2], 'wb') as out:
        w.write(out)
";

/// Prints, for each signature of `argv[1]`, its field and the FieldMDP lock pyHanko reads from
/// its /Reference: `Locked /Include ad`, or `Locked none`.
const FIELDMDP_PY: &str = "
import sys
from pyhanko.pdf_utils.reader import PdfFileReader
with open(sys.argv[1], 'rb') as f:
    r = PdfFileReader(f)
    for s in r.embedded_signatures:
        spec = s.fieldmdp
        print(s.field_name, 'none' if spec is None else spec.action.value + ' ' + ','.join(spec.fields or []))
";

impl World {
    /// The form with the text fields `ad` and `soyad`, and pyHanko's empty signature field
    /// `Locked` that locks `ad`, written as `locked.pdf`.
    fn locked_form(&self) -> Vec<u8> {
        self.write("form.pdf", &form_pdf_with(&["ad", "soyad"]));
        self.python_writes(LOCKED_FIELD_PY, "form.pdf", "locked.pdf", &["ad"])
    }

    /// The FieldMDP locks pyHanko reads from the signatures of `name`, one line each.
    fn pyhanko_fieldmdp(&self, name: &str) -> String {
        let out = self.python(FIELDMDP_PY, &[name]);
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

/// `signed` (written as `name`) with `ad`, then with `soyad` filled by pyHanko: the first fails
/// on both sides naming the lock and the field, the second passes on both sides, shown here.
/// `revision` is the filling's revision number.
fn locked_field_judged_like_pyhanko(w: &World, name: &str, revision: usize) {
    let stem = name.trim_end_matches(".pdf");
    let filled = w.fill(name, &format!("{stem}-ad.pdf"), "ad");
    let (passed, report) = ours(w, &filled);
    assert!(!passed, "{report:#?}");
    let last = report.signatures.len() - 1;
    assert!(
        report.signatures[last].messages.iter().any(|m| m.contains(&format!(
            "field \"ad\" filled after this signature, in revision {revision}: this signature locks field \"ad\" (FieldMDP"
        ))),
        "{report:#?}"
    );
    let summary = pyhanko_summary(w, &format!("{stem}-ad.pdf"));
    assert!(summary.contains("ILLEGAL_MODIFICATIONS"), "{summary}");
    // pdfsig checks the signed bytes only: the locked field filled is "valid" there.
    let text = pdfsig(w, &format!("{stem}-ad.pdf"));
    assert!(text.contains("Signature is Valid."), "{text}");

    let filled = w.fill(name, &format!("{stem}-soyad.pdf"), "soyad");
    let (passed, report) = ours(w, &filled);
    assert!(passed, "{report:#?}");
    assert!(
        report.signatures[last].warnings.iter().any(|n| n.starts_with(&format!(
            "field \"soyad\" filled after this signature, in revision {revision} (form filling and signing, permitted by"
        ))),
        "{report:#?}"
    );
    let summary = pyhanko_summary(w, &format!("{stem}-soyad.pdf"));
    assert!(summary.ends_with("ACCEPTABLE_MODIFICATIONS"), "{summary}");
}

#[test]
fn iso_32000_12_8_2_4_a_field_pyhanko_locked_and_signed_fails_when_the_locked_field_is_filled() {
    let w = world();
    w.locked_form();
    let signed = w.pyhanko_sign("locked.pdf", "pyhanko-locked.pdf", "Locked");
    assert_eq!(
        w.pyhanko_fieldmdp("pyhanko-locked.pdf"),
        "Locked /Include ad"
    );
    passes(&w, &signed, 1);
    // Revisions: the form (1), the locked field (2), the signature (3), the filling (4).
    locked_field_judged_like_pyhanko(&w, "pyhanko-locked.pdf", 4);
}

#[test]
fn iso_32000_12_7_4_5_signing_into_a_locked_field_records_its_fieldmdp_lock() {
    let w = world();
    let locked = w.locked_form();
    let signed = w
        .sign_with(
            &locked,
            SignatureOptions {
                field: Some("Locked".into()),
                ..SignatureOptions::default()
            },
            mubadile_core::time::now(),
        )
        .unwrap();
    let name = w.write("ours-locked.pdf", &signed);
    // Our signature dictionary carries the FieldMDP reference, its /Data the catalog.
    let doc = Document::load_mem(&signed).unwrap();
    let root = doc.trailer.get(b"Root").unwrap().as_reference().unwrap();
    let references: Vec<&Dictionary> = doc
        .objects
        .values()
        .filter_map(|o| o.as_dict().ok())
        .filter(|d| d.has_type(b"Sig"))
        .flat_map(|d| d.get(b"Reference").unwrap().as_array().unwrap())
        .map(|r| r.as_dict().unwrap())
        .collect();
    assert_eq!(references.len(), 1, "{references:?}");
    let reference = references[0];
    assert_eq!(
        reference
            .get(b"TransformMethod")
            .unwrap()
            .as_name()
            .unwrap(),
        b"FieldMDP"
    );
    assert_eq!(
        reference.get(b"Data").unwrap().as_reference().unwrap(),
        root
    );
    let params = reference
        .get(b"TransformParams")
        .unwrap()
        .as_dict()
        .unwrap();
    assert_eq!(
        params.get(b"Action").unwrap().as_name().unwrap(),
        b"Include"
    );
    assert_eq!(
        params.get(b"Fields").unwrap().as_array().unwrap()[0]
            .as_str()
            .unwrap(),
        b"ad"
    );
    assert_eq!(w.pyhanko_fieldmdp(&name), "Locked /Include ad");
    outside_tools_accept(&w, &name, 1);
    passes(&w, &signed, 1);
    locked_field_judged_like_pyhanko(&w, &name, 4);

    // A certification into the locked field carries both references, and pyHanko reads both.
    let certified = w
        .sign_with(
            &locked,
            SignatureOptions {
                field: Some("Locked".into()),
                certify: Some(DocMdpPermissions::FormFilling),
                ..SignatureOptions::default()
            },
            mubadile_core::time::now(),
        )
        .unwrap();
    let name = w.write("ours-locked-certified.pdf", &certified);
    assert_eq!(w.pyhanko_docmdp(&name), "2 2");
    assert_eq!(w.pyhanko_fieldmdp(&name), "Locked /Include ad");
    outside_tools_accept(&w, &name, 1);
    locked_field_judged_like_pyhanko(&w, &name, 4);
}

#[test]
fn iso_32000_12_8_2_4_a_later_signatures_field_lock_applies_only_to_the_revisions_after_it() {
    let w = world();
    let locked = w.locked_form();
    // Our approval signature in a field of its own (revision 3), then pyHanko's into the
    // locked field (revision 4), then `ad` filled (revision 5): the lock is the second
    // signature's, so only it fails; the first permits the filling and shows it.
    let first = w.sign(&locked);
    w.write("first.pdf", &first);
    w.pyhanko_sign("first.pdf", "both.pdf", "Locked");
    let filled = w.fill("both.pdf", "both-ad.pdf", "ad");
    let report = w.validate(&filled);
    assert_eq!(
        indications(&report),
        vec![Indication::TotalPassed, Indication::TotalFailed],
        "{report:#?}"
    );
    assert!(
        report.signatures[0].warnings.iter().any(|n| n.starts_with(
            "field \"ad\" filled after this signature, in revision 5 (form filling and signing, permitted by this approval signature"
        )),
        "{report:#?}"
    );
    assert!(
        report.signatures[1]
            .messages
            .iter()
            .any(|m| m.contains("this signature locks field \"ad\"")),
        "{report:#?}"
    );
    // pyHanko judges the same: the first ACCEPTABLE_MODIFICATIONS, the second
    // ILLEGAL_MODIFICATIONS.
    let text = w.pyhanko_validate("both-ad.pdf");
    let verdicts: Vec<&str> = text
        .lines()
        .filter_map(|l| l.rsplit(',').next().filter(|_| l.contains(":INTACT:")))
        .collect();
    assert_eq!(
        verdicts,
        ["ACCEPTABLE_MODIFICATIONS", "ILLEGAL_MODIFICATIONS"],
        "{text}"
    );
}
