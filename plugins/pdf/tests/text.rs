//! The searchable text of signed PDFs (`FormatPlugin::text`, EDE 7.1.3): the Azerbaijani
//! letters of a PDF made by a real producer (Ghostscript, with poppler's `pdftotext` as the
//! outside reading to agree with) and of one set in the platform's own font come out right; a
//! damaged or unsigned PDF gives no text, never a panic or an error (a decompression bomb:
//! `pades.rs`, beside the other large files).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use mubadile_core::signing::sign;
use mubadile_core::testkit::{SigningWorld, ghostscript_pdf, run};
use mubadile_plugin_api::{FormatPlugin, SignTarget};
use mubadile_plugin_pdf::{Block, PdfPlugin, Protocol};

/// Every Azerbaijani letter beyond ASCII, small and capital.
const LETTERS: &str = "ə ğ ı ö ş ü ç Ə Ğ I İ Ö Ş Ü Ç";

fn signed(world: &SigningWorld, pdf: &[u8]) -> Vec<u8> {
    sign(
        &PdfPlugin,
        SignTarget::New {
            content: pdf.to_vec(),
            attached: true,
        },
        world.identity(),
        mubadile_core::time::now(),
    )
    .unwrap()
}

#[test]
fn svr_4_2_1_a_ghostscript_pdf_gives_its_azerbaijani_text_as_pdftotext_reads_it() {
    let world = SigningWorld::start();
    let lines = [
        "Ədliyyə Nazirliyinin məktubu No 17",
        "Şəhərsalma layihəsi üçün büdcə ayrılması",
        LETTERS,
    ];
    let pdf = ghostscript_pdf(&lines);
    assert_eq!(
        PdfPlugin.text(&pdf).unwrap(),
        None,
        "an unsigned PDF has no signed text"
    );
    let signed = signed(&world, &pdf);
    let text = PdfPlugin.text(&signed).unwrap().unwrap();
    assert_eq!(text, format!("{}\n", lines.join("\n")));

    // poppler reads the same letters in the same order from the same file (it places spaces
    // by the glyphs' positions, and drops some of the spaced-out letters' ones).
    let name = world.write("ghostscript.pdf", &signed);
    let out = run("pdftotext", &[&name, "-"], world.dir.path());
    let letters = |t: &str| t.split_whitespace().collect::<String>();
    assert_eq!(
        letters(&String::from_utf8(out.stdout).unwrap()),
        letters(&text)
    );
}

#[test]
fn svr_4_2_1_a_pdf_set_in_the_platforms_own_font_gives_its_azerbaijani_text() {
    let world = SigningWorld::start();
    let protocol = Protocol {
        title: "Yoxlama protokolu".into(),
        blocks: vec![
            Block::Title("Elektron imzaların yoxlanılması protokolu".into()),
            Block::Field {
                label: "İmzalayan".into(),
                value: "Aygün Məmmədova, Şöbə müdiri".into(),
            },
            Block::Text(LETTERS.into()),
        ],
        footer: "Mübadilə".into(),
        created: 1_780_000_000,
    }
    .to_pdf()
    .unwrap();
    let text = PdfPlugin.text(&signed(&world, &protocol)).unwrap().unwrap();
    for expected in [
        "Elektron imzaların yoxlanılması protokolu",
        "İmzalayan",
        "Aygün Məmmədova, Şöbə müdiri",
        LETTERS,
        "Mübadilə · 1/1",
    ] {
        assert!(text.contains(expected), "{expected:?} not in {text:?}");
    }
}

#[test]
fn a_damaged_pdf_gives_no_text_and_no_error() {
    let world = SigningWorld::start();
    let signed = signed(&world, &ghostscript_pdf(&["Damaged"]));
    for damaged in [
        &b"%PDF-1.7 broken"[..],
        b"not a PDF at all",
        &signed[..signed.len() / 2],
        &signed[..signed.len() - 40],
    ] {
        assert_eq!(PdfPlugin.text(damaged).unwrap(), None);
    }
    // Every hundredth byte changed: text or none, never a panic.
    for i in (0..signed.len()).step_by(100) {
        let mut changed = signed.clone();
        changed[i] ^= 0x55;
        let _ = PdfPlugin.text(&changed).unwrap();
    }
}
