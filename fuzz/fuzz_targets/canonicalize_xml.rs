//! Any bytes given to the XML reader and, when they read as a document, to every canonicalization
//! method over the whole document, over element subsets (with an InclusiveNamespaces PrefixList)
//! and with an element excluded: a clear error or canonical bytes, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mubadile_plugin_xml::{Algorithm, Method, Subset, canonicalize, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = parse(data) else {
        return;
    };
    let elements: Vec<_> = doc.elements().collect();
    let picks = [
        elements.first(),
        elements.get(elements.len() / 2),
        elements.last(),
    ];
    for algorithm in Algorithm::ALL {
        let prefixes: &[&str] = if algorithm.method == Method::Exclusive10 {
            &["#default", "a", "p"]
        } else {
            &[]
        };
        let _ = canonicalize(&doc, algorithm, Subset::document(), &[]);
        for &apex in picks.iter().flatten() {
            let _ = canonicalize(&doc, algorithm, Subset::element(*apex), prefixes);
            if let Some(&last) = elements.last() {
                let _ = canonicalize(&doc, algorithm, Subset::element(*apex).excluding(last), &[]);
                let _ = canonicalize(&doc, algorithm, Subset::document().excluding(*apex), &[]);
            }
        }
    }
});
