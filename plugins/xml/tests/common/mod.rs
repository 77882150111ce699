//! What the interoperability and hostile-input tests share: the corpus and a mutator, and a
//! countersigned signature value changed.

// Each test binary uses part of it.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

/// The corpus files, in name order.
pub fn corpus_paths() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 20, "the corpus is incomplete");
    paths
}

/// The corpus files' bytes, in name order.
pub fn corpus() -> Vec<Vec<u8>> {
    corpus_paths()
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

/// Markup fragments a mutation splices in, so mutants reach deep into the reader and the
/// canonicalizer instead of failing at the first byte.
const FRAGMENTS: &[&[u8]] = &[
    b"<a>",
    b"</a>",
    b"<p:b xmlns:p='urn:p'>",
    b"</p:b>",
    b"<c/>",
    b" xmlns=''",
    b" xmlns='urn:d'",
    b" xmlns:q='urn:q' q:x='1'",
    b" xml:lang='az'",
    b" xml:space='preserve'",
    b" Id='i'",
    b"&amp;",
    b"&#xD;",
    b"&#x1F600;",
    b"&lt;",
    b"<![CDATA[",
    b"]]>",
    b"<!--",
    b"-->",
    b"<?pi d?>",
    b"\r\n",
    b"\t",
    b"=",
    b"'",
    b"\"",
    b":",
    b"<!DOCTYPE d>",
    b"&e;",
    b"\xC3\xA9",
    b"\xEF\xBF\xBE",
];

/// xorshift64*: a fixed sequence, so a failure is reproducible.
pub struct Sequence(pub u64);

impl Sequence {
    /// A number below `below`.
    pub fn next(&mut self, below: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % below.max(1)
    }

    /// A corpus document with one to four markup fragments spliced in, ranges deleted or
    /// ranges repeated elsewhere.
    pub fn mutant(&mut self, corpus: &[Vec<u8>]) -> Vec<u8> {
        let mut document = corpus[self.next(corpus.len())].clone();
        for _ in 0..1 + self.next(4) {
            let at = self.next(document.len() + 1);
            match self.next(3) {
                0 => {
                    let fragment = FRAGMENTS[self.next(FRAGMENTS.len())];
                    document.splice(at..at, fragment.iter().copied());
                }
                1 => {
                    let end = (at + self.next(16)).min(document.len());
                    document.drain(at..end);
                }
                _ => {
                    let end = (at + self.next(64)).min(document.len());
                    let copy = document[at..end].to_vec();
                    let to = self.next(document.len() + 1);
                    document.splice(to..to, copy);
                }
            }
        }
        document
    }
}

/// `signed` with one base64 character of the `ds:SignatureValue` of `xades-0` changed: what a
/// counter-signature of it covers.
pub fn countersigned_value_changed(signed: &str) -> String {
    let at = signed
        .find(r#"<ds:SignatureValue Id="xades-0-value">"#)
        .unwrap()
        + r#"<ds:SignatureValue Id="xades-0-value">"#.len();
    let mut tampered = signed.to_owned();
    let flipped = if &signed[at..=at] == "A" { "B" } else { "A" };
    tampered.replace_range(at..=at, flipped);
    tampered
}
