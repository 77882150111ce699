//! The known attacks on PDF signatures, each crafted from a PDF the platform signed and shown to
//! be caught (SVR 4.2.7: nothing shown to the user may lie outside what was signed; issue 5).
//! The attacks are those of Mladenov et al., "1 Trillion Dollar Refund – How To Spoof PDF
//! Signatures" (CCS 2019: universal signature forgery, incremental saving, signature wrapping)
//! and Mainka et al., "Shadow Attacks" (NDSS 2021: hide, replace, hide-and-replace), as
//! pdf-insecurity.org describes them. Each test asserts our verdict (never TOTAL-PASSED, never
//! a panic) and the message naming what is wrong; a comment says what `pdfsig` (poppler) and
//! `pyhanko sign validate --trust root.der --no-revocation-check` said about the same file.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use mubadile_core::signing::sign;
use mubadile_core::testkit::{SigningWorld, pyhanko_validate, run, venv_tool};
use mubadile_core::validation::{Indication, Validator};
use mubadile_plugin_api::{FormatPlugin, SignTarget};
use mubadile_plugin_pdf::PdfPlugin;

/// What the signer sees: "Pay 100 AZN" over a second line ("Pay 900 AZN") that a white overlay
/// (object 6) hides, a stamp (form XObject 7) in font 5; and, unused, a shadow page content
/// (object 8) with a shadow page tree (objects 9, 10), and a second, unreferenced body of object
/// 4 after the last object. Objects are numbered from 1 in order.
const OBJECTS: &[&str] = &[
    "<</Type /Catalog /Pages 2 0 R>>",
    "<</Type /Pages /Kids [3 0 R] /Count 1>>",
    "<</Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources <</Font <</F1 5 0 R>> /XObject <</Stamp 7 0 R>>>> /Contents [4 0 R 6 0 R]>>",
    "<</Length 95>>\nstream\nBT /F1 24 Tf 72 720 Td (Pay 100 AZN) Tj ET BT /F1 24 Tf 72 680 Td (Pay 900 AZN) Tj ET /Stamp Do\nendstream",
    "<</Type /Font /Subtype /Type1 /BaseFont /Helvetica>>",
    "<</Length 27>>\nstream\n1 1 1 rg 60 670 400 40 re f\nendstream",
    "<</Type /XObject /Subtype /Form /BBox [0 0 595 842] /Resources <</Font <</F1 5 0 R>>>> /Length 39>>\nstream\nBT /F1 12 Tf 72 600 Td (Approved) Tj ET\nendstream",
    "<</Length 45>>\nstream\nBT /F1 24 Tf 72 720 Td (Pay 900000 AZN) Tj ET\nendstream",
    "<</Type /Pages /Kids [10 0 R] /Count 1>>",
    "<</Type /Page /Parent 9 0 R /MediaBox [0 0 595 842] /Resources <</Font <</F1 5 0 R>>>> /Contents 8 0 R>>",
];
/// The shadow content's body: what the attacker wants shown.
const SHADOW: &str = OBJECTS[7];

/// The shadow content as object 4.
fn shadow_4() -> String {
    format!("4 0 obj\n{SHADOW}\nendobj\n")
}

/// The document above with a classic cross-reference table, and where the second body of object 4 starts.
fn document() -> (Vec<u8>, usize) {
    let mut pdf = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (n, object) in OBJECTS.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", n + 1).as_bytes());
    }
    let shadow = pdf.len();
    pdf.extend_from_slice(shadow_4().as_bytes());
    let xref = pdf.len();
    let size = OBJECTS.len() + 1;
    pdf.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f \n").as_bytes());
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!("trailer\n<</Size {size} /Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    (pdf, shadow)
}

struct World {
    base: SigningWorld,
    validator: Validator,
}

impl World {
    fn start() -> World {
        World {
            base: SigningWorld::start(),
            validator: Validator::new(vec![Arc::new(PdfPlugin)]),
        }
    }

    /// [`document`] signed by the platform (an approval signature), and where the second body of object 4 is.
    fn signed(&self) -> (Vec<u8>, usize) {
        let (pdf, shadow) = document();
        let target = SignTarget::New {
            content: pdf,
            attached: true,
        };
        let signed = sign(
            &PdfPlugin,
            target,
            self.base.identity(),
            mubadile_core::time::now(),
        )
        .unwrap();
        (signed, shadow)
    }

    /// [`document`] signed by pyHanko (`addsig --use-pades`) with the same signer's key.
    fn pyhanko_signed(&self) -> Vec<u8> {
        let dir = self.base.dir.path();
        self.base.write("plain.pdf", &document().0);
        let mut args = vec![
            "sign",
            "addsig",
            "--field",
            "Theirs",
            "--use-pades",
            "pemder",
        ];
        args.extend(["--key", "key.pem", "--cert", "cert.der", "--no-pass"]);
        let chain: Vec<String> = (0..self.base.chain.len())
            .map(|i| format!("chain{i}.der"))
            .collect();
        for c in &chain {
            args.extend(["--chain", c.as_str()]);
        }
        args.extend(["plain.pdf", "theirs.pdf"]);
        let out = run(venv_tool("pyhanko").to_str().unwrap(), &args, dir);
        assert!(out.status.success(), "{out:?}");
        std::fs::read(dir.join("theirs.pdf")).unwrap()
    }

    /// Asserts that `pdf` is rejected: a signature found and none TOTAL-PASSED (or a clear
    /// error), and every one of `expected` in what the validator and the plugin say.
    fn rejects(&self, pdf: &[u8], expected: &[&str]) {
        // The report names the first reason a signature fails; the plugin's evidence has all.
        let problems = PdfPlugin
            .signatures(pdf, None)
            .map(|e| {
                format!(
                    "{:?}",
                    e.iter().map(|e| &e.format_problems).collect::<Vec<_>>()
                )
            })
            .unwrap_or_default();
        let said = problems
            + &match self.validator.validate(pdf, None, &self.base.anchors, None) {
                Ok(report) => {
                    assert!(!report.signatures.is_empty(), "{report:#?}");
                    assert!(
                        report
                            .signatures
                            .iter()
                            .all(|s| s.indication != Indication::TotalPassed),
                        "{report:#?}"
                    );
                    format!("{report:?}")
                }
                Err(e) => e.to_string(),
            };
        for text in expected {
            assert!(said.contains(text), "{text:?} not in:\n{said}");
        }
    }
}

/// `pdf` with the unique `from` replaced by `to`, padded with spaces to the same length so that
/// every offset stays right (the forger's edit in place).
fn patched(pdf: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = position(pdf, from);
    assert!(to.len() <= from.len(), "{}", String::from_utf8_lossy(to));
    let mut out = pdf[..at].to_vec();
    out.extend_from_slice(to);
    out.resize(at + from.len(), b' ');
    out.extend_from_slice(&pdf[at + from.len()..]);
    out
}

fn position(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{} not found", String::from_utf8_lossy(needle)))
}

/// The signature dictionary's `/Contents <…>` entry and its `/ByteRange [...]` entry.
fn contents_entry(pdf: &[u8]) -> &[u8] {
    let at = position(pdf, b"/Contents <");
    let end = at + pdf[at..].iter().position(|b| *b == b'>').unwrap() + 1;
    &pdf[at..end]
}

fn byte_range_entry(pdf: &[u8]) -> &[u8] {
    let at = position(pdf, b"/ByteRange [");
    let end = at + pdf[at..].iter().position(|b| *b == b']').unwrap() + 1;
    &pdf[at..end]
}

/// The four numbers of the signature's /ByteRange.
fn byte_range(pdf: &[u8]) -> [usize; 4] {
    let entry = String::from_utf8_lossy(byte_range_entry(pdf)).into_owned();
    let numbers: Vec<usize> = entry
        .trim_start_matches("/ByteRange [")
        .trim_end_matches(']')
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    numbers.try_into().unwrap()
}

/// The offset the last `startxref` of `pdf` gives.
fn last_startxref(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    let tail = text.rsplit("startxref").next().unwrap();
    tail.split_whitespace().next().unwrap().parse().unwrap()
}

/// An incremental update of `pdf`: `objects` (number, body) written, `entries` (number, offset)
/// pointed at bytes already there, and a trailer naming catalog `root`.
fn update(pdf: &[u8], objects: &[(u32, &str)], entries: &[(u32, usize)], root: u32) -> Vec<u8> {
    let prev = last_startxref(pdf);
    let mut out = pdf.to_vec();
    let mut xref = vec![(0, 0, "65535 f")];
    for (number, body) in objects {
        xref.push((*number, out.len(), "00000 n"));
        out.extend_from_slice(format!("{number} 0 obj\n{body}\nendobj\n").as_bytes());
    }
    xref.extend(entries.iter().map(|(n, at)| (*n, *at, "00000 n")));
    let at = out.len();
    out.extend_from_slice(b"xref\n");
    for (number, offset, kind) in &xref {
        out.extend_from_slice(format!("{number} 1\n{offset:010} {kind} \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<</Size 40 /Root {root} 0 R /Prev {prev}>>\nstartxref\n{at}\n%%EOF\n")
            .as_bytes(),
    );
    out
}

/// The latest catalog of `signed` (object 1, rewritten by the signing update to hold the
/// form), with `/Pages 2 0 R` replaced by `pages`: a forged catalog that still shows the
/// signature.
fn forged_catalog(signed: &[u8], pages: &str) -> String {
    let text = String::from_utf8_lossy(signed);
    let body = text.rsplit("\n1 0 obj").next().unwrap();
    let body = body.split("endobj").next().unwrap().trim();
    assert!(body.contains("/AcroForm"), "{body}");
    body.replace("/Pages 2 0 R", pages)
}

// --- Universal signature forgery (USF) --------------------------------------------------------
//
// The signature dictionary edited in place so that a viewer might show "signed" without
// checking anything. Outside tools on the same files (pdfsig 22.12, pyHanko 0.38):
// - /Contents missing, null, 42 or an array: pdfsig "Invalid or missing Signature string …
//   not yet verified"; pyHanko refuses to read the file ("Could not read /Contents entry",
//   "/Contents must be string-like"). `<>`: pdfsig "Input couldn't be parsed as a CMS
//   signature"; pyHanko "Generic processing error".
// - /ByteRange missing, `[]` or null: pdfsig "Invalid or missing ByteRange array" / "Too few
//   elements"; pyHanko "Could not read /ByteRange", a generic error or INVALID. Negative or huge:
//   pdfsig "Illegal values in ByteRange array"; pyHanko a generic error or INVALID. `[0 0 0 0]`:
//   pdfsig "Digest Mismatch", pyHanko INVALID.
// - /Filter removed (a signed byte changed, so the digest breaks): pdfsig "Digest Mismatch",
//   pyHanko INVALID. /SubFilter removed: pdfsig "not yet verified"; pyHanko ignores the
//   signature ("unsupported SubFilter type None").

#[test]
fn svr_4_2_7_usf_contents_missing_empty_null_or_not_a_string_is_reported() {
    let w = World::start();
    let (signed, _) = w.signed();
    let entry = contents_entry(&signed).to_vec();
    for (to, says) in [
        (&b""[..], "no /Contents string"),
        (b"/Contents <>", "not a DER-encoded CMS"),
        (b"/Contents null", "no /Contents string"),
        (b"/Contents 42", "no /Contents string"),
        (b"/Contents [<3000>]", "no /Contents string"),
    ] {
        w.rejects(&patched(&signed, &entry, to), &[says]);
    }
}

#[test]
fn svr_4_2_7_usf_byte_range_missing_empty_null_negative_huge_or_covering_nothing_is_reported() {
    let w = World::start();
    let (signed, _) = w.signed();
    let entry = byte_range_entry(&signed).to_vec();
    let [_, first, second, last] = byte_range(&signed);
    for (to, says) in [
        (String::new(), "no /ByteRange of four integers"),
        ("/ByteRange []".into(), "no /ByteRange of four integers"),
        ("/ByteRange null".into(), "no /ByteRange of four integers"),
        (
            format!("/ByteRange [0 {first} -{second} {last}]"),
            "negative numbers",
        ),
        (
            format!("/ByteRange [0 {first} {second} 99999999999]"),
            "beyond the end of the file",
        ),
        ("/ByteRange [0 0 0 0]".into(), "not the end of a revision"),
    ] {
        w.rejects(&patched(&signed, &entry, to.as_bytes()), &[says]);
    }
}

#[test]
fn svr_4_2_7_usf_filter_or_sub_filter_missing_is_reported() {
    let w = World::start();
    let (signed, _) = w.signed();
    w.rejects(
        &patched(&signed, b"/Filter /Adobe.PPKLite", b""),
        &["no /Filter"],
    );
    w.rejects(
        &patched(&signed, b"/SubFilter /ETSI.CAdES.detached", b""),
        &["/SubFilter (none) is not supported"],
    );
}

// --- Incremental saving attacks (ISA) ---------------------------------------------------------
//
// pdfsig says "Signature is Valid." for every one of these: it checks the signed revision only
// and merely omits "Total document signed". pyHanko says INTACT:TRUSTED with
// EXTENDED_WITH_OTHER, ILLEGAL_MODIFICATIONS (validation failed) for every update with a
// cross-reference section; objects appended without one it does not see at all
// (EXTENDED_WITH_NONE, ACCEPTABLE_MODIFICATIONS: it passes).

#[test]
fn svr_4_2_7_isa_page_content_changed_or_page_replaced_in_an_update_is_reported() {
    let w = World::start();
    let (signed, _) = w.signed();
    w.rejects(
        &update(&signed, &[(4, SHADOW)], &[], 1),
        &["object 4 0 (a stream, e.g. page content) was changed"],
    );
    let page = "<</Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources <</Font <</F1 5 0 R>>>> /Contents 8 0 R>>";
    w.rejects(
        &update(&signed, &[(3, page)], &[], 1),
        &["page 1 was changed"],
    );
}

#[test]
fn svr_4_2_7_isa_objects_appended_without_xref_or_trailer_are_reported() {
    let w = World::start();
    let (mut signed, _) = w.signed();
    signed.extend_from_slice(shadow_4().as_bytes());
    w.rejects(&signed, &["follow the last revision"]);
}

#[test]
fn svr_4_2_7_isa_an_update_whose_trailer_names_another_catalog_is_reported() {
    let w = World::start();
    let (signed, _) = w.signed();
    // A whole new document in the update, the signature's form kept so that it still shows.
    let catalog = forged_catalog(&signed, "/Pages 31 0 R");
    let forged = update(
        &signed,
        &[
            (30, &catalog),
            (31, "<</Type /Pages /Kids [32 0 R] /Count 1>>"),
            (
                32,
                "<</Type /Page /Parent 31 0 R /MediaBox [0 0 595 842] /Resources <</Font <</F1 5 0 R>>>> /Contents 8 0 R>>",
            ),
        ],
        &[],
        30,
    );
    // Until this test, the signed objects being untouched, this was TOTAL-PASSED here.
    w.rejects(&forged, &["/Root", "object 30 0"]);
    let name = w.base.write("forged.pdf", &forged);
    let said = pyhanko_validate(w.base.dir.path(), "root.der", &name);
    assert!(said.contains("ILLEGAL_MODIFICATIONS"), "pyhanko:\n{said}");

    // The same over a signature pyHanko made (the shadow page tree as the new document).
    let theirs = w.pyhanko_signed();
    let catalog = forged_catalog(&theirs, "/Pages 9 0 R");
    w.rejects(
        &update(&theirs, &[(30, &catalog)], &[], 30),
        &["/Root", "object 30 0"],
    );
}

// --- Signature wrapping attacks (SWA) ---------------------------------------------------------
//
// The moved range: pdfsig "Digest Mismatch.", pyHanko INVALID (the /ByteRange itself is signed,
// so moving it breaks the digest; the gap is reported as well). The content hidden in the
// /Contents hole leaves every signed byte intact: pdfsig says "Signature is Valid.", pyHanko
// INTACT:TRUSTED but NONSTANDARD_COVERAGE, ILLEGAL_MODIFICATIONS (validation failed).

#[test]
fn svr_4_2_7_swa_new_objects_and_xref_in_a_moved_byte_range_hole_are_reported() {
    let w = World::start();
    let (signed, _) = w.signed();
    // As in the paper: the second signed range moved towards the end, and in the hole between
    // the ranges a new content object and a cross-reference section listing it, placed where
    // the signed `startxref` points, so that readers take it for the signed revision's own.
    let [_, first, second, last] = byte_range(&signed);
    let xref_at = last_startxref(&signed);
    let before_xref = &signed[second..xref_at];
    let section = &signed[xref_at..xref_at + position(&signed[xref_at..], b"startxref")];
    let trailer = position(section, b"trailer");
    let object = shadow_4();
    let entry = |at: usize| format!("4 1\n{at:010} 00000 n \n");
    let object_at = second + before_xref.len() + section.len() + entry(0).len();
    let hole = [
        before_xref,
        &section[..trailer],
        entry(object_at).as_bytes(),
        &section[trailer..],
        object.as_bytes(),
    ]
    .concat();
    let moved = format!("/ByteRange [0 {first} {} {last}]", second + hole.len());
    let mut forged = patched(&signed, byte_range_entry(&signed), moved.as_bytes());
    forged.splice(second..second, hole);
    w.rejects(&forged, &["is not a hexadecimal string"]);
}

#[test]
fn svr_4_2_7_swa_content_hidden_in_the_contents_hole_is_reported() {
    let w = World::start();
    let (signed, _) = w.signed();
    // The /Contents string's zero padding, which no hash covers, overwritten in place: the
    // string closed early and the rest of the hole made into further entries hiding an object.
    // The /ByteRange and every signed byte stay as they were: the CMS is still intact.
    let contents = contents_entry(&signed);
    let hidden = b"00> /Hidden (4 0 obj (Pay 900000 AZN) endobj) /Padding <00>";
    let mut forged = signed.clone();
    let end = position(&signed, contents) + contents.len();
    forged[end - hidden.len()..end].copy_from_slice(hidden);
    w.rejects(&forged, &["holds more than hexadecimal digits"]);
}

// --- Shadow attacks ---------------------------------------------------------------------------
//
// pdfsig "Signature is Valid." for all (see ISA above); pyHanko INTACT:TRUSTED,
// EXTENDED_WITH_OTHER, ILLEGAL_MODIFICATIONS (validation failed) for all.

#[test]
fn svr_4_2_7_shadow_hide_an_overlay_removed_or_emptied_later_is_reported() {
    let w = World::start();
    let (signed, _) = w.signed();
    // The overlay dropped from the page's contents: "Pay 900 AZN" shows.
    let page = "<</Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources <</Font <</F1 5 0 R>> /XObject <</Stamp 7 0 R>>>> /Contents [4 0 R]>>";
    w.rejects(
        &update(&signed, &[(3, page)], &[], 1),
        &["page 1 was changed"],
    );
    // The overlay itself emptied.
    let empty = "<</Length 0>>\nstream\n\nendstream";
    w.rejects(
        &update(&signed, &[(6, empty)], &[], 1),
        &["object 6 0 (a stream, e.g. page content) was changed"],
    );
}

#[test]
fn svr_4_2_7_shadow_replace_a_font_or_an_xobject_replaced_later_is_reported() {
    let w = World::start();
    let (signed, _) = w.signed();
    let font = "<</Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding <</Type /Encoding /Differences [49 /nine]>>>>";
    w.rejects(
        &update(&signed, &[(5, font)], &[], 1),
        &["object 5 0 (Font Type1) was changed"],
    );
    let stamp = "<</Type /XObject /Subtype /Form /BBox [0 0 595 842] /Resources <</Font <</F1 5 0 R>>>> /Length 39>>\nstream\nBT /F1 12 Tf 72 600 Td (Rejected) Tj ET\nendstream";
    w.rejects(
        &update(&signed, &[(7, stamp)], &[], 1),
        &["object 7 0 (XObject Form) was changed"],
    );
}

#[test]
fn svr_4_2_7_shadow_hide_and_replace_an_update_of_references_only_is_reported() {
    let w = World::start();
    let (signed, shadow) = w.signed();
    // Only a cross-reference section: object 4 now lies at the shadow body signed unseen.
    w.rejects(
        &update(&signed, &[], &[(4, shadow)], 1),
        &["object 4 0 (a stream, e.g. page content) was changed"],
    );
    // Only the page's /Contents pointed at the unused shadow content 8.
    let page = "<</Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources <</Font <</F1 5 0 R>> /XObject <</Stamp 7 0 R>>>> /Contents 8 0 R>>";
    w.rejects(
        &update(&signed, &[(3, page)], &[], 1),
        &["page 1 was changed"],
    );
    // Only a new catalog over the shadow page tree 9–10 signed unseen (TOTAL-PASSED here until
    // the trailer's /Root was compared).
    let catalog = forged_catalog(&signed, "/Pages 9 0 R");
    w.rejects(
        &update(&signed, &[(30, &catalog)], &[], 30),
        &["/Root", "object 30 0"],
    );
}
