//! A corpus of PDFs from real producers (issue 5), made at test time by the tools themselves
//! from small inputs the tests write: Ghostscript's `pdfwrite` (PDF 1.4 and 2.0), LibreOffice
//! Writer, an image-only "scan" by img2pdf, a LibreOffice form with an empty signature field
//! added by pyHanko, and qpdf's rewritings of each (object streams, cross-reference streams,
//! versions, linearized, QDF). Each is signed through `mubadile_core::signing::sign` and must
//! pass here, in `qpdf --check`, `pdfsig` and pyHanko, with and without a second signature on
//! top and at B-LTA; the revision each signature signed must come back byte for byte. The tools
//! come from `scripts/test-env`.

use super::*;

/// What qpdf makes of each producer's file besides the file as it came: the cross-reference
/// forms (streams with object streams, a classic table), the header versions, a linearized
/// file (its first-page cross-reference section at the start) and QDF (indirect stream
/// lengths, which the update's own reader does not take: lopdf's whole-file parse does).
const REWRITES: &[(&str, &[&str])] = &[
    ("objstm", &["--object-streams=generate"]),
    ("table", &["--object-streams=disable"]),
    ("v1.4", &["--force-version=1.4"]),
    ("v1.7", &["--force-version=1.7"]),
    ("v2.0", &["--force-version=2.0"]),
    ("linearized", &["--linearize"]),
    ("qdf", &["--qdf"]),
];

/// A letter in Azerbaijani (with ə, ğ, ı, ö, ü, ş, ç and a capital Ə) as PostScript, its
/// letters outside the standard encoding shown by glyph name.
const LETTER_PS: &str = "%!PS-Adobe-3.0
/Helvetica findfont 20 scalefont setfont
72 720 moveto (Mektub No 1: ) show
/schwa glyphshow /gbreve glyphshow /dotlessi glyphshow /odieresis glyphshow
/udieresis glyphshow /scedilla glyphshow /ccedilla glyphshow /Schwa glyphshow
72 690 moveto (Baki, 5 dekabr 2026) show
showpage
";

/// The same kind of letter as HTML for LibreOffice Writer.
const LETTER_HTML: &str =
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Məktub</title></head>
<body><h1>Məktub №2</h1><p>Azərbaycan Respublikası İqtisadiyyat Nazirliyi: ğ ı ö ü ş ç ə Ə.</p>
<table border=\"1\"><tr><td>Nömrə</td><td>ÇĞ-17/2026</td></tr></table></body></html>";

/// An application form: a text field and a checkbox, which LibreOffice exports as an
/// interactive form (`/AcroForm` with `/Tx` and `/Btn` fields).
const FORM_HTML: &str =
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Ərizə</title></head>
<body><h1>Ərizə</h1><form><p>Ad, soyad: <input type=\"text\" name=\"ad\" value=\"\"></p>
<p><input type=\"checkbox\" name=\"razi\" value=\"Beli\"> Razıyam</p></form></body></html>";

/// Draws a grey A4 page at 150 dpi with lines of "text" and speckles, as a scanner gives it,
/// saves it as JPEG and wraps it in a PDF with img2pdf (no text layer, one image).
const SCAN_PY: &str = "
import random, img2pdf
from PIL import Image, ImageDraw
random.seed(5)
page = Image.new('L', (1240, 1754), 235)
draw = ImageDraw.Draw(page)
for line in range(40):
    y = 150 + line * 36
    draw.text((120, y), 'Mektub No 3 - setir %d' % line, fill=30)
for _ in range(4000):
    page.putpixel((random.randrange(1240), random.randrange(1754)), random.randrange(120, 255))
page.save('scan.jpg', quality=85, dpi=(150, 150))
with open('scanned.pdf', 'wb') as out:
    out.write(img2pdf.convert('scan.jpg'))
";

/// Ghostscript's `pdfwrite` from [`LETTER_PS`] at `level` (`-dCompatibilityLevel`).
fn ghostscript(w: &World, level: &str) -> Vec<u8> {
    w.write("letter.ps", LETTER_PS.as_bytes());
    let output = format!("-sOutputFile=gs-{level}.pdf");
    let compatibility = format!("-dCompatibilityLevel={level}");
    let args = [
        "-q",
        "-dNOPAUSE",
        "-dBATCH",
        "-dSAFER",
        "-sDEVICE=pdfwrite",
        compatibility.as_str(),
        output.as_str(),
        "letter.ps",
    ];
    let pdf = made(w, "gs", &args, &format!("gs-{level}.pdf"));
    assert!(pdf.starts_with(format!("%PDF-{level}").as_bytes()));
    pdf
}

/// LibreOffice Writer's PDF export of the HTML `html`, saved as `name` (`.html`), with a
/// profile of the test's own (two instances may not share one).
fn libreoffice(w: &World, name: &str, html: &str) -> Vec<u8> {
    w.write(name, html.as_bytes());
    let profile = format!(
        "-env:UserInstallation=file://{}/lo-profile",
        w.dir.path().display()
    );
    let pdf = name.replace(".html", ".pdf");
    made(
        w,
        "libreoffice",
        &[&profile, "--headless", "--convert-to", "pdf", name],
        &pdf,
    )
}

/// An image-only PDF, as a scanner's software makes it ([`SCAN_PY`]).
fn scanned(w: &World) -> Vec<u8> {
    let python = venv_tool("python");
    made(w, python.to_str().unwrap(), &["-c", SCAN_PY], "scanned.pdf")
}

/// LibreOffice's form ([`FORM_HTML`]) with an empty signature field `Approval` on page 1
/// added by pyHanko (`sign addfields`).
fn form(w: &World) -> Vec<u8> {
    libreoffice(w, "form.html", FORM_HTML);
    let pyhanko = venv_tool("pyhanko");
    made(
        w,
        pyhanko.to_str().unwrap(),
        &[
            "sign",
            "addfields",
            "--field",
            "1/300,60,540,120/Approval",
            "form.pdf",
            "form-with-field.pdf",
        ],
        "form-with-field.pdf",
    )
}

/// Runs `program` with `args` in the test's directory, which must succeed and leave the PDF
/// `output` there; its bytes.
fn made(w: &World, program: &str, args: &[&str], output: &str) -> Vec<u8> {
    let out = run(program, args, w.dir.path());
    assert!(
        out.status.success(),
        "{program} {args:?}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let pdf = std::fs::read(w.dir.path().join(output))
        .unwrap_or_else(|e| panic!("{program} made no {output}: {e}"));
    assert!(pdf.starts_with(b"%PDF-"), "{output} is not a PDF");
    pdf
}

/// `original` as it came and as each of qpdf's [`REWRITES`] makes it, by name.
fn with_rewrites(w: &World, name: &str, original: Vec<u8>) -> Vec<(String, Vec<u8>)> {
    let input = w.write(&format!("{name}.pdf"), &original);
    let mut corpus = vec![(name.to_string(), original)];
    for (rewrite, args) in REWRITES {
        let output = format!("{name}-{rewrite}.pdf");
        let mut all = args.to_vec();
        all.extend([input.as_str(), output.as_str()]);
        corpus.push((output.replace(".pdf", ""), made(w, "qpdf", &all, &output)));
    }
    corpus
}

/// Signs `original` (called `name`) at B-B, then again on top; each result passes here and in
/// every outside tool, the original bytes stay a prefix, and the first signature's revision
/// comes back as the once-signed file. Returns the once-signed file.
fn signs_and_stays_valid(w: &World, name: &str, original: &[u8]) -> Vec<u8> {
    let once = w.sign(original);
    assert!(
        once.starts_with(original),
        "{name}: not an incremental update"
    );
    let report = passes(w, &once, 1);
    assert_eq!(report.signatures[0].level, "PAdES-BASELINE-B", "{name}");
    let file = w.write(&format!("{name}-signed.pdf"), &once);
    outside_tools_accept(w, &file, 1);

    // SVR 5.6: a second signature leaves the first valid.
    let twice = w.sign(&once);
    assert!(twice.starts_with(&once), "{name}");
    passes(w, &twice, 2);
    let file = w.write(&format!("{name}-twice.pdf"), &twice);
    outside_tools_accept(w, &file, 2);

    // SVR 4.2.1, 4.2.3: what the first signer signed, exactly.
    let first = &PdfPlugin.signatures(&twice, None).unwrap()[0].id;
    assert_eq!(
        PdfPlugin.signed_revision(&twice, first).unwrap().unwrap(),
        once,
        "{name}: the first signature's revision"
    );
    once
}

/// `once` (signed at B-B) extended to B-LTA through `mubadile_core::signing::extend`: level
/// PAdES-BASELINE-LTA with both timestamps checked here, and the outside tools accept it.
fn extends_to_lta(w: &World, name: &str, once: &[u8]) {
    let lta = extend(
        &w.validator,
        &w.anchors,
        w.ca.as_ref(),
        once,
        None,
        Level::Lta,
    )
    .unwrap();
    let report = passes(w, &lta, 1);
    assert_eq!(report.signatures[0].level, "PAdES-BASELINE-LTA", "{name}");
    assert_eq!(report.signatures[0].timestamps.len(), 2, "{report:#?}");
    let file = w.write(&format!("{name}-lta.pdf"), &lta);
    qpdf_check(w, &file);
    let text = pdfsig(w, &file);
    assert!(
        text.contains("Signature is Valid."),
        "{name} pdfsig:\n{text}"
    );
    let text = w.pyhanko_validate(&file);
    assert!(
        text.contains(":INTACT:TRUSTED")
            && !text.contains("INVALID")
            && !text.contains("UNTRUSTED"),
        "{name} pyhanko:\n{text}"
    );
}

/// Every file of `corpus` signed twice; the producer's own file also at B-LTA.
fn corpus_signs_and_stays_valid(w: &World, corpus: &[(String, Vec<u8>)]) {
    for (i, (name, original)) in corpus.iter().enumerate() {
        let once = signs_and_stays_valid(w, name, original);
        if i == 0 {
            extends_to_lta(w, name, &once);
        }
    }
}

#[test]
fn en_319_142_ghostscript_pdf_1_4_and_its_qpdf_rewrites_are_signed_and_stay_valid() {
    let w = world();
    let original = ghostscript(&w, "1.4");
    let text = pdftotext(&w, "gs-1.4.pdf");
    assert!(text.contains("əğıöüşçƏ"), "{text}");
    corpus_signs_and_stays_valid(&w, &with_rewrites(&w, "gs-1.4", original));
}

#[test]
fn en_319_142_ghostscript_pdf_2_0_and_its_qpdf_rewrites_are_signed_and_stay_valid() {
    let w = world();
    let original = ghostscript(&w, "2.0");
    corpus_signs_and_stays_valid(&w, &with_rewrites(&w, "gs-2.0", original));
}

#[test]
fn en_319_142_libreoffice_writer_pdf_and_its_qpdf_rewrites_are_signed_and_stay_valid() {
    let w = world();
    let original = libreoffice(&w, "letter.html", LETTER_HTML);
    let text = pdftotext(&w, "letter.pdf");
    assert!(
        text.contains("İqtisadiyyat Nazirliyi: ğ ı ö ü ş ç ə Ə"),
        "{text}"
    );
    corpus_signs_and_stays_valid(&w, &with_rewrites(&w, "writer", original));
}

#[test]
fn en_319_142_an_image_only_scan_by_img2pdf_and_its_qpdf_rewrites_are_signed_and_stay_valid() {
    let w = world();
    let original = scanned(&w);
    assert!(pdftotext(&w, "scanned.pdf").trim().is_empty());
    corpus_signs_and_stays_valid(&w, &with_rewrites(&w, "scanned", original));
}

/// A LibreOffice form with an empty signature field: ours goes into a field of its own, then
/// pyHanko signs into the empty one (SVR 4.2.7 allows filling an empty signature field), and
/// both stay valid everywhere.
#[test]
fn en_319_142_a_libreoffice_form_with_an_empty_signature_field_is_signed_and_stays_valid() {
    let w = world();
    let original = form(&w);
    let corpus = with_rewrites(&w, "form", original);
    corpus_signs_and_stays_valid(&w, &corpus);

    // pyHanko also raises the catalog's /Version to 2.0 and adds XMP /Metadata: both allowed.
    let ours = w.sign(&corpus[0].1);
    w.write("form-ours.pdf", &ours);
    let both = w.pyhanko_sign("form-ours.pdf", "form-both.pdf", "Approval");
    passes(&w, &both, 2);
    outside_tools_accept(&w, "form-both.pdf", 2);
}

/// A text field filled after our signature (no DocMDP: an approval signature): pyHanko calls it
/// FORM_FILLING and keeps the signature INTACT, pdfsig still finds the signed bytes intact, and
/// this validator passes it too, showing the change in the report (SVR 4.2.7: detected and
/// shown) — until session 10 it called the filling a disallowed change.
#[test]
fn svr_4_2_7_a_form_field_filled_after_an_approval_signature_passes_with_the_change_shown() {
    let w = world();
    let signed = w.sign(&form(&w));
    w.write("form-signed.pdf", &signed);
    let filled = w.fill("form-signed.pdf", "form-filled.pdf", "ad");
    assert!(filled.starts_with(&signed));
    let text = w.pyhanko_validate("form-filled.pdf");
    assert!(
        text.contains(":INTACT:TRUSTED") && text.contains("FORM_FILLING"),
        "pyhanko:\n{text}"
    );
    let text = pdfsig(&w, "form-filled.pdf");
    assert!(text.contains("Signature is Valid."), "pdfsig:\n{text}");
    let report = passes(&w, &filled, 1);
    let shown = &report.signatures[0].warnings;
    assert!(
        shown.iter().any(
            |n| n.starts_with("field \"ad\" filled after this signature")
                && n.contains("permitted by this approval signature")
                && n.contains("SVR 4.2.7")
        ),
        "{shown:#?}"
    );
}

/// Signing into the empty signature field `Approval` that pyHanko added to a LibreOffice form:
/// the field is filled (invisible, then with a stamp in its own rectangle), no field is added,
/// and pdfsig, pyHanko and qpdf accept it; a field that does not exist, or one already signed,
/// is refused naming the empty signature fields.
#[test]
fn iso_32000_12_7_4_5_signing_into_an_existing_empty_signature_field_adds_no_field() {
    let w = world();
    let original = form(&w);
    let fields = |pdf: &[u8]| form_field_names(pdf);
    let before = fields(&original);
    assert!(before.contains(&"Approval".to_string()), "{before:?}");
    let into = |pdf: &[u8], field: &str, appearance: Option<SignatureAppearance>| {
        w.sign_with(
            pdf,
            SignatureOptions {
                appearance,
                field: Some(field.into()),
                ..SignatureOptions::default()
            },
            mubadile_core::time::now(),
        )
    };
    let mut stamp_in_field = stamp(1, [0, 0, 1, 1]);
    stamp_in_field.page = None;
    stamp_in_field.rect = None;
    for (name, appearance) in [("invisible", None), ("stamped", Some(stamp_in_field))] {
        let signed = into(&original, "Approval", appearance).unwrap();
        assert!(signed.starts_with(&original), "{name}");
        assert_eq!(fields(&signed), before, "{name}: the field count changed");
        let report = passes(&w, &signed, 1);
        assert!(report.signatures[0].warnings.is_empty(), "{report:#?}");
        let file = w.write(&format!("form-into-{name}.pdf"), &signed);
        outside_tools_accept(&w, &file, 1);
        assert!(
            pdfsig(&w, &file).contains("Signature Field Name: Approval"),
            "{name}"
        );
        // Ours on top in a field of its own: both pass everywhere.
        let twice = w.sign(&signed);
        passes(&w, &twice, 2);
        let file = w.write(&format!("form-into-{name}-twice.pdf"), &twice);
        outside_tools_accept(&w, &file, 2);
    }

    let error = into(&original, "Nowhere", None).unwrap_err().to_string();
    assert!(
        error.contains("no field \"Nowhere\"") && error.contains("\"Approval\""),
        "{error}"
    );
    let error = into(&original, "ad", None).unwrap_err().to_string();
    assert!(error.contains("not a signature field"), "{error}");
    let signed = into(&original, "Approval", None).unwrap();
    let error = into(&signed, "Approval", None).unwrap_err().to_string();
    assert!(
        error.contains("already signed") && error.contains("no empty signature field"),
        "{error}"
    );
}
