//! The schema mirror against libxml2 (`xmllint --schema`), the reader's hardening, and the
//! checks before sending.

use std::path::Path;
use std::process::Command;

use super::*;
use crate::exchange::requisites::tests::complete;

/// Complete requisites with every optional one, Azerbaijani text and characters XML escapes.
fn full() -> Requisites {
    let mut r = complete();
    r.title = "Hesabat <2026> & \"büdcə\" haqqında\r\nikinci sətir".into();
    r.sender.phone = Some("+994 12 000 00 00".into());
    r.optional = OptionalRequisites {
        phone: Some("(012) 555-55-55".into()),
        fax: Some("+994 12 000 00 01".into()),
        email: Some("icraçı@justice.gov.az".into()),
        approver: Some("Şəhla Əliyeva".into()),
        executor: Some("Aygün Məmmədova".into()),
        in_reply_to: Some("№ 12/3-ə".into()),
    };
    r
}

fn schema() -> std::path::PathBuf {
    crate::testkit::project_root().join("docs/schemas/requisites.xsd")
}

/// `xmllint --schema`'s verdict on `bytes`.
fn xmllint_accepts(dir: &Path, name: &str, bytes: &[u8]) -> (bool, String) {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--nonet")
        .arg("--schema")
        .arg(schema())
        .arg(&path)
        .output()
        .expect("xmllint (libxml2) is installed by scripts/test-env");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn ede_3_1_requisites_round_trip_through_xml_with_every_optional_one() {
    for r in [complete(), full()] {
        assert!(r.defects().is_empty(), "{:?}", r.defects());
        let xml = write(&r);
        assert_eq!(read(&xml).unwrap(), r, "{}", String::from_utf8_lossy(&xml));
    }
    let text = String::from_utf8(write(&full())).unwrap();
    assert!(text.contains(r#"<Requisites xmlns="urn:mubadile:requisites:1" version="1">"#));
    assert!(text.contains("&lt;2026&gt; &amp;"), "{text}");
    assert!(text.contains("&#13;\n"), "{text}");
}

#[test]
fn xmllint_accepts_what_we_write() {
    let dir = tempfile::tempdir().unwrap();
    for (i, r) in [complete(), full()].iter().enumerate() {
        let (ok, stderr) = xmllint_accepts(dir.path(), &format!("ours-{i}.xml"), &write(r));
        assert!(ok, "{stderr}");
    }
}

/// The corpus: `(name, document, valid)`, built by changing what we write.
fn corpus() -> Vec<(String, Vec<u8>, bool)> {
    let base = String::from_utf8(write(&full())).unwrap();
    let minimal = String::from_utf8(write(&complete())).unwrap();
    let edit = |from: &str, to: &str| {
        assert!(base.contains(from), "{from} not in {base}");
        base.replacen(from, to, 1)
    };
    let tag = |name: &str, value: &str| format!("<{name}>{value}</{name}>");
    let number = |v: &str| {
        edit(
            &tag("RegistrationNumber", "MJ-2026/00001"),
            &tag("RegistrationNumber", v),
        )
    };
    let date = |v: &str| {
        edit(
            &tag("RegistrationDate", "2026-12-01"),
            &tag("RegistrationDate", v),
        )
    };
    let tax = |v: &str| edit(&tag("TaxId", "1234567890"), &tag("TaxId", v));
    let id = |v: &str| edit(&tag("Id", "min-finance"), &tag("Id", v));
    let phone = |v: &str| edit(&tag("Phone", "(012) 555-55-55"), &tag("Phone", v));
    let email = |v: &str| edit(&tag("Email", "info@justice.gov.az"), &tag("Email", v));
    let kind = |v: &str| edit(&tag("Kind", "letter"), &tag("Kind", v));
    let title = &base[base.find("<Title>").unwrap()..base.find("</Title>").unwrap() + 8];
    let with_title = |v: &str| edit(title, &tag("Title", v));
    let prefixed = base
        .replace("<Requisites xmlns=", "<r:Requisites xmlns:r=")
        .replace("</", "</r:")
        .replace("<r:", "\u{0}")
        .replace('<', "<r:")
        .replace("<r:?xml", "<?xml")
        .replace("<r:/r:", "</r:")
        .replace('\u{0}', "<r:");
    let addressee = "<Addressee>\n      <Id>min-finance</Id>\n      <Name>Maliyyə Nazirliyi</Name>\n    </Addressee>";
    let cases: Vec<(&str, String, bool)> = vec![
        // Valid.
        ("full", base.clone(), true),
        ("minimal", minimal.clone(), true),
        ("prefixed", prefixed, true),
        (
            "comments-and-pis",
            edit(
                "<Kind>letter</Kind>",
                "<!-- k --><Kind>let<!-- x -->ter<?pi y?></Kind><?pi z?>",
            ),
            true,
        ),
        (
            "cdata-in-text",
            with_title("<![CDATA[Hesabat & <xülasə>]]>"),
            true,
        ),
        (
            "character-references",
            with_title("&#x259;&#1241; &amp; &apos;"),
            true,
        ),
        ("date-collapsed", date(" 2026-12-01\n"), true),
        ("leap-day", date("2024-02-29"), true),
        ("number-with-sign", number("№ 12/3-ə"), true),
        ("number-one-char", number("7"), true),
        (
            "schema-location",
            edit(
                " version=\"1\"",
                " version=\"1\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"urn:mubadile:requisites:1 requisites.xsd\"",
            ),
            true,
        ),
        (
            "empty-optional",
            minimal.replace("</Addressees>", "</Addressees><Optional/>"),
            true,
        ),
        ("title-1000", with_title(&"ə".repeat(1000)), true),
        ("id-32", id(&"a".repeat(32)), true),
        (
            "two-addressees",
            edit(
                "</Addressees>",
                "<Addressee><Id>min-economy</Id><Name>İqtisadiyyat</Name></Addressee></Addressees>",
            ),
            true,
        ),
        // Structure.
        (
            "no-number",
            edit(&tag("RegistrationNumber", "MJ-2026/00001"), ""),
            false,
        ),
        (
            "no-sender-email",
            edit(&tag("Email", "info@justice.gov.az"), ""),
            false,
        ),
        (
            "unknown-element",
            edit("<TaxId>", "<Secret>x</Secret><TaxId>"),
            false,
        ),
        (
            "unknown-trailing-element",
            edit("</Requisites>", "<Extra/></Requisites>"),
            false,
        ),
        (
            "foreign-namespace-element",
            edit(
                "</Sender>",
                "<x:Note xmlns:x=\"urn:other\">n</x:Note></Sender>",
            ),
            false,
        ),
        (
            "out-of-order",
            edit("<Kind>letter</Kind>", "").replace("</Title>", "</Title><Kind>letter</Kind>"),
            false,
        ),
        ("repeated-kind", kind("letter</Kind><Kind>order"), false),
        ("no-addressee", edit(addressee, ""), false),
        (
            "duplicate-addressee",
            edit("</Addressees>", &format!("{addressee}</Addressees>")),
            false,
        ),
        ("element-in-text", with_title("Hesabat <b>qalın</b>"), false),
        (
            "text-between-elements",
            edit("<TaxId>", "söz<TaxId>"),
            false,
        ),
        (
            "cdata-between-elements",
            edit("<TaxId>", "<![CDATA[ ]]><TaxId>"),
            false,
        ),
        ("version-2", edit("version=\"1\"", "version=\"2\""), false),
        (
            "version-spaced",
            edit("version=\"1\"", "version=\" 1\""),
            false,
        ),
        ("no-version", edit(" version=\"1\"", ""), false),
        (
            "unknown-attribute",
            edit("<Title>", "<Title id=\"t\">"),
            false,
        ),
        (
            "xml-lang",
            edit(" version=\"1\"", " version=\"1\" xml:lang=\"az\""),
            false,
        ),
        (
            "xsi-nil",
            edit(
                " version=\"1\"",
                " version=\"1\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:nil=\"true\"",
            ),
            false,
        ),
        (
            "wrong-root",
            base.replace("Requisites", "Rekvizitler"),
            false,
        ),
        (
            "wrong-namespace",
            base.replace("urn:mubadile:requisites:1", "urn:mubadile:requisites:2"),
            false,
        ),
        (
            "no-namespace",
            base.replace(" xmlns=\"urn:mubadile:requisites:1\"", ""),
            false,
        ),
        (
            "deep",
            edit(
                "<Title>",
                &format!("{}{}<Title>", "<d>".repeat(300), "</d>".repeat(300)),
            ),
            false,
        ),
        // Types and patterns.
        ("tax-short", tax("123456789"), false),
        ("tax-letters", tax("12345678AB"), false),
        ("tax-arabic-digits", tax("١٢٣٤٥٦٧٨٩٠"), false),
        ("date-impossible", date("2026-02-30"), false),
        ("date-not-leap", date("2025-02-29"), false),
        ("date-short", date("2026-12-1"), false),
        ("date-zone", date("2026-12-01Z"), false),
        ("date-slashes", date("2026/12/01"), false),
        ("date-year-999", date("0999-12-01"), false),
        ("date-empty", date(""), false),
        ("id-uppercase", id("Min-finance"), false),
        ("id-leading-hyphen", id("-finance"), false),
        ("id-one-char", id("f"), false),
        ("id-33", id(&"a".repeat(33)), false),
        ("id-spaced", id(" min-finance"), false),
        ("number-trailing-space", number("MJ-2026 "), false),
        ("number-dash", number("-"), false),
        ("number-cyrillic", number("МЮ-1"), false),
        ("number-65", number(&"7".repeat(65)), false),
        ("number-sign-no-space", number("№12"), false),
        ("phone-letters", phone("daxili 12"), false),
        ("phone-short", phone("12"), false),
        ("phone-empty", phone(""), false),
        ("email-no-at", email("info.justice.gov.az"), false),
        ("email-two-at", email("a@b@c"), false),
        ("email-space", email("a b@c.az"), false),
        (
            "email-255",
            email(&format!("{}@c.az", "a".repeat(250))),
            false,
        ),
        ("title-blank", with_title(" \n\t "), false),
        ("title-1001", with_title(&"ə".repeat(1001)), false),
        ("kind-201", kind(&"k".repeat(201)), false),
        ("kind-empty", kind(""), false),
    ];
    cases
        .into_iter()
        .map(|(name, doc, valid)| (name.to_string(), doc.into_bytes(), valid))
        .collect()
}

#[test]
fn ede_5_1_1_our_validator_and_xmllint_agree_on_every_good_and_defective_document() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus();
    let (good, bad) = corpus.iter().partition::<Vec<_>, _>(|c| c.2);
    assert!(good.len() >= 10 && bad.len() >= 40);
    for (name, bytes, valid) in &corpus {
        let ours = read(bytes);
        let (theirs, stderr) = xmllint_accepts(dir.path(), &format!("{name}.xml"), bytes);
        assert_eq!(
            ours.is_ok(),
            theirs,
            "{name}: ours {ours:?}, xmllint: {stderr}\n{}",
            String::from_utf8_lossy(bytes)
        );
        assert_eq!(theirs, *valid, "{name}: {stderr}");
    }
}

#[test]
fn ede_5_4_a_defect_names_the_element_at_fault() {
    let case = |name: &str| {
        let (_, bytes, _) = corpus().into_iter().find(|c| c.0 == name).unwrap();
        read(&bytes).unwrap_err()
    };
    let d = case("tax-short");
    assert_eq!(d.element, "/Requisites/Sender/TaxId");
    assert!(d.reason.contains("10 digits"), "{d}");
    let d = case("no-sender-email");
    assert_eq!(d.element, "/Requisites/Sender/Email");
    assert!(d.reason.contains("missing"), "{d}");
    let d = case("unknown-element");
    assert_eq!(d.element, "/Requisites/Sender/Secret");
    let d = case("duplicate-addressee");
    assert_eq!(d.element, "/Requisites/Addressees/Addressee[2]/Id");
    let d = case("date-impossible");
    assert_eq!(d.element, "/Requisites/RegistrationDate");
    assert!(d.reason.contains("calendar"), "{d}");
    let d = case("unknown-attribute");
    assert!(d.reason.contains("attribute id"), "{d}");
}

#[test]
fn a_dtd_entities_and_oversized_documents_are_refused_before_validation() {
    let base = String::from_utf8(write(&complete())).unwrap();
    let laughs = base.replacen(
        "<Requisites",
        "<!DOCTYPE Requisites [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;\">]>\n<Requisites",
        1,
    ).replace("<Kind>letter</Kind>", "<Kind>&b;</Kind>");
    let xxe = base
        .replacen(
            "<Requisites",
            "<!DOCTYPE Requisites [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<Requisites",
            1,
        )
        .replace("<Kind>letter</Kind>", "<Kind>&x;</Kind>");
    for doc in [laughs, xxe] {
        let d = read(doc.as_bytes()).unwrap_err();
        assert_eq!(d.element, "/");
        assert!(d.reason.to_lowercase().contains("doctype"), "{d}");
    }
    let undefined = base.replace("<Kind>letter</Kind>", "<Kind>&nbsp;</Kind>");
    assert!(
        read(undefined.as_bytes())
            .unwrap_err()
            .reason
            .contains("nbsp")
    );
    let huge = base.replace(
        "<Kind>letter</Kind>",
        &format!("<Kind>letter</Kind><!--{}-->", "x".repeat(MAX_BYTES)),
    );
    assert!(
        read(huge.as_bytes())
            .unwrap_err()
            .reason
            .contains("at most")
    );
    let latin1 = base.replace("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"");
    assert!(read(latin1.as_bytes()).is_err());
}

#[test]
fn ede_4_1_values_the_schema_refuses_are_named_before_sending() {
    let mut r = complete();
    r.sender.tax_id = "12345".into();
    r.registration_number = "MJ 1 ".into();
    r.optional.phone = Some(" ".into());
    r.title = "Hesabat\u{1}".into();
    let defects = r.defects().join("; ");
    for expected in [
        "the sender's tax id \"12345\" is not a tax id",
        "the registration number \"MJ 1 \" is not a registration number",
        "the phone (EDE 3.2) \" \" is not a telephone number",
        "the title contains the control character U+0001",
    ] {
        assert!(defects.contains(expected), "{expected}: {defects}");
    }
}
