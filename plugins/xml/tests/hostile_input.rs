//! Hostile input never panics the reader or the canonicalizer: every truncation and many
//! single-byte changes of every corpus file either read and canonicalize or get an error. The
//! same property as the fuzz target `fuzz/fuzz_targets/canonicalize_xml.rs`, on every test run and
//! without nightly.

// A test binary: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use common::Sequence;
use mubadile_plugin_xml::{Algorithm, Method, Subset, XmlError, canonicalize, parse};

mod common;

/// Reads `input` and canonicalizes it every way; returns whether it read.
fn exercise(input: &[u8]) -> bool {
    let Ok(doc) = parse(input) else {
        return false;
    };
    let elements: Vec<_> = doc.elements().collect();
    for algorithm in Algorithm::ALL {
        let prefixes: &[&str] = if algorithm.method == Method::Exclusive10 {
            &["#default", "a", "p"]
        } else {
            &[]
        };
        let whole = canonicalize(&doc, algorithm, Subset::document(), &[]);
        assert!(
            matches!(whole, Ok(_) | Err(XmlError::RelativeNamespace { .. })),
            "{whole:?}"
        );
        if let (Some(&apex), Some(&last)) = (elements.get(elements.len() / 2), elements.last()) {
            let _ = canonicalize(&doc, algorithm, Subset::element(apex), prefixes);
            let _ = canonicalize(&doc, algorithm, Subset::document().excluding(last), &[]);
        }
    }
    true
}

#[test]
fn truncated_and_mutated_documents_get_an_error_or_canonical_bytes_never_a_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let (mut read, mut refused) = (0, 0);
    for entry in std::fs::read_dir(dir).unwrap() {
        let original = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(exercise(&original));
        let mut count = |ok: bool| if ok { read += 1 } else { refused += 1 };
        for len in 0..original.len() {
            count(exercise(&original[..len]));
        }
        for i in 0..original.len() {
            for byte in [b'<', b'&', b':', b'"', 0x00, 0xC3, b'x', b'\r'] {
                let mut mutated = original.clone();
                mutated[i] = byte;
                count(exercise(&mutated));
            }
        }
    }
    eprintln!("{read} mutated documents read and canonicalized, {refused} refused, no panic");
    assert!(refused > 0 && read > 0);
}

#[test]
fn documents_with_spliced_deleted_and_repeated_markup_never_panic() {
    let corpus = common::corpus();
    let mut random = Sequence(0x9E37_79B9_7F4A_7C15);
    let (mut read, mut refused) = (0, 0);
    for _ in 0..50_000 {
        let document = random.mutant(&corpus);
        if exercise(&document) {
            read += 1;
        } else {
            refused += 1;
        }
    }
    eprintln!("{read} spliced documents read and canonicalized, {refused} refused, no panic");
    assert!(
        read > 1000 && refused > 1000,
        "{read} read, {refused} refused"
    );
}

#[test]
fn pathological_shapes_stay_within_the_limits() {
    // Wide: many siblings and attributes; deep up to the limit; long names and values.
    let wide = format!(
        "<r>{}</r>",
        "<e a='1' b='2' xmlns:p='urn:p' p:c='3'/>".repeat(20_000)
    );
    assert!(exercise(wide.as_bytes()));
    let deep = "<a xmlns:p='urn:p'>".repeat(mubadile_plugin_xml::MAX_DEPTH)
        + &"</a>".repeat(mubadile_plugin_xml::MAX_DEPTH);
    assert!(exercise(deep.as_bytes()));
    let long = format!(
        "<{0} v='{1}'>{1}</{0}>",
        "n".repeat(100_000),
        "&amp;".repeat(100_000)
    );
    assert!(exercise(long.as_bytes()));
    let many = format!(
        "<r {}/>",
        (0..=mubadile_plugin_xml::MAX_ATTRIBUTES)
            .map(|i| format!("a{i}='v'"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    assert!(matches!(
        parse(many.as_bytes()),
        Err(XmlError::TooManyAttributes { .. })
    ));
}
