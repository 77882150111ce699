//! Changes judged revision by revision (SVR 4.2.7: any change to the signed document is
//! detected and shown): each revision after a signature is compared with the one before it, so
//! a change undone by a later revision is still seen, and every change names the revision that
//! made it. pyHanko also walks the revisions one by one and agrees; pdfsig checks only the
//! signed bytes and calls each of these files valid.

use super::*;

#[test]
fn svr_4_2_7_page_content_changed_and_then_restored_is_still_reported() {
    let w = world();
    let text = "BT /F1 24 Tf 72 720 Td (Mektub No 9) Tj ET";
    let signed = w.sign(&classic_pdf("Mektub No 9"));
    let doc = Document::load_mem(&signed).unwrap();
    let page = doc.get_dictionary(doc.page_iter().next().unwrap()).unwrap();
    let content = page.get(b"Contents").unwrap().as_reference().unwrap().0;
    assert_eq!(
        doc.get_object((content, 0))
            .unwrap()
            .as_stream()
            .unwrap()
            .content,
        text.as_bytes()
    );
    let stream = |body: &str| format!("<</Length {}>>\nstream\n{body}\nendstream", body.len());
    // Revision 3 shows other words; revision 4 puts the signed ones back, byte for byte, so
    // the newest revision alone equals the signed one.
    let changed = incremental_update(
        &signed,
        &[(content, stream("BT /F1 24 Tf 72 720 Td (Imtina) Tj ET"))],
    );
    let restored = incremental_update(&changed, &[(content, stream(text))]);
    let report = w.validate(&restored);
    assert_eq!(
        indications(&report),
        vec![Indication::TotalFailed],
        "{report:#?}"
    );
    // The report names the first reason; the plugin's evidence lists every change.
    let problems = PdfPlugin.signatures(&restored, None).unwrap()[0]
        .format_problems
        .join("\n");
    assert!(report.signatures[0].messages[0].contains("in revision 3"));
    for revision in [3, 4] {
        assert!(
            problems.contains(&format!(
                "object {content} 0 (a stream, e.g. page content) was changed after this signature, in revision {revision} (a change no signature permits"
            )),
            "revision {revision}: {problems}"
        );
    }
    let name = w.write("restored.pdf", &restored);
    assert!(
        pyhanko_summary(&w, &name).contains("ILLEGAL_MODIFICATIONS"),
        "{}",
        w.pyhanko_validate(&name)
    );
    assert!(pdfsig(&w, &name).contains("Signature is Valid."));
}

#[test]
fn svr_4_2_7_a_field_filled_twice_shows_each_filling_with_its_revision() {
    let w = world();
    let signed = w.sign(&form_pdf());
    w.write("signed.pdf", &signed);
    w.fill_with("signed.pdf", "once.pdf", "ad", "Ləman Şükürova");
    let twice = w.fill_with("once.pdf", "twice.pdf", "ad", "Aysel Məmmədova");
    let report = passes(&w, &twice, 1);
    for revision in [3, 4] {
        assert!(
            shows(
                &report,
                &[&format!(
                    "field \"ad\" filled after this signature, in revision {revision} (form filling and signing, permitted by this approval signature; SVR 4.2.7)"
                )]
            ),
            "revision {revision}: {report:#?}"
        );
    }
    assert!(
        pyhanko_summary(&w, "twice.pdf").ends_with("ACCEPTABLE_MODIFICATIONS"),
        "{}",
        w.pyhanko_validate("twice.pdf")
    );
}
