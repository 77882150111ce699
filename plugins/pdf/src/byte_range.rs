//! What a signature's /ByteRange covers, and whether it covers what it must: the whole revision
//! it signs from byte 0, except exactly the hexadecimal string of its own /Contents
//! (ISO 32000-1 12.8.1, EN 319 142-1 5.2; SVR 4.2.1 and 4.2.7: nothing shown to the user may lie
//! outside what was signed).

use lopdf::{Dictionary, Object};

use crate::revisions::{self, Revision};

/// The two byte ranges a signature covers and what is wrong with them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    /// The signed ranges, as (start, length), clamped to the file.
    pub ranges: [(usize, usize); 2],
    /// The index of the revision whose end the ranges reach, if they reach one.
    pub revision: Option<usize>,
    /// Everything wrong with the ranges; empty when they cover exactly what they must.
    pub problems: Vec<String>,
}

impl Coverage {
    /// The covered bytes, in order.
    pub fn bytes<'a>(&self, file: &'a [u8]) -> impl Iterator<Item = &'a [u8]> {
        self.ranges
            .into_iter()
            .map(move |(start, length)| file.get(start..start + length).unwrap_or_default())
    }

    /// The covered bytes, concatenated.
    pub fn concatenated(&self, file: &[u8]) -> Vec<u8> {
        self.bytes(file).collect::<Vec<_>>().concat()
    }

    /// Where the covered bytes end.
    pub fn end(&self) -> usize {
        self.ranges[1].0 + self.ranges[1].1
    }
}

/// Checks the /ByteRange of signature dictionary `signature` in `file`; `object_start` is where
/// the dictionary's object begins in the file, when it is an indirect object at a known offset.
pub fn coverage(
    file: &[u8],
    signature: &Dictionary,
    object_start: Option<usize>,
    revisions: &[Revision],
) -> Coverage {
    let mut problems = Vec::new();
    let numbers: Vec<i64> = match signature.get(b"ByteRange") {
        Ok(Object::Array(items)) => items.iter().filter_map(|o| o.as_i64().ok()).collect(),
        _ => Vec::new(),
    };
    let [start0, length0, start1, length1] = numbers.as_slice() else {
        problems.push(
            "the signature has no /ByteRange of four integers (ISO 32000-1 12.8.1); the file is damaged or not signed"
                .into(),
        );
        return Coverage {
            ranges: [(0, 0), (0, 0)],
            revision: None,
            problems,
        };
    };
    let clamp = |start: i64, length: i64| -> (usize, usize) {
        let start = usize::try_from(start).unwrap_or(0).min(file.len());
        let length = usize::try_from(length).unwrap_or(0).min(file.len() - start);
        (start, length)
    };
    let ranges = [clamp(*start0, *length0), clamp(*start1, *length1)];
    if numbers.iter().any(|n| *n < 0) {
        problems.push(format!("the /ByteRange {numbers:?} has negative numbers"));
    }
    if *start0 != 0 {
        problems.push(format!(
            "the /ByteRange starts at byte {start0}, not at 0: the bytes before it are not signed"
        ));
    }
    let within = |s: i64, l: i64| {
        s.checked_add(l)
            .is_some_and(|e| usize::try_from(e).is_ok_and(|e| e <= file.len()))
    };
    if !within(*start0, *length0) || !within(*start1, *length1) {
        problems.push(format!(
            "the /ByteRange {numbers:?} reaches beyond the end of the file ({} bytes)",
            file.len()
        ));
    }
    let hole = (ranges[0].0 + ranges[0].1, ranges[1].0);
    if hole.0 > hole.1 {
        problems.push(format!(
            "the /ByteRange {numbers:?} overlaps itself: its second range starts before the first ends"
        ));
    } else if let Some(problem) = hole_problem(file, signature, object_start, hole) {
        problems.push(problem);
    }
    let end = ranges[1].0 + ranges[1].1;
    let revision = revisions.iter().position(|r| r.ends_at(end));
    if revision.is_none() {
        problems.push(format!(
            "the /ByteRange ends at byte {end}, which is not the end of a revision (%%EOF): part of the revision it signs is not covered"
        ));
    }
    Coverage {
        ranges,
        revision,
        problems,
    }
}

/// Why the gap between the ranges is not exactly this signature's /Contents string, if it is not.
fn hole_problem(
    file: &[u8],
    signature: &Dictionary,
    object_start: Option<usize>,
    (start, end): (usize, usize),
) -> Option<String> {
    let gap = file.get(start..end).unwrap_or_default();
    let [b'<', digits @ .., b'>'] = gap else {
        return Some(format!(
            "the unsigned gap {start}..{end} is not a hexadecimal string: bytes other than the /Contents value are left unsigned"
        ));
    };
    if digits.len() % 2 != 0 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return Some(format!(
            "the unsigned gap {start}..{end} holds more than hexadecimal digits: bytes other than the /Contents value are left unsigned"
        ));
    }
    let before = trim_end(&file[..start]);
    if !before.ends_with(b"/Contents") {
        return Some(format!(
            "the unsigned gap {start}..{end} is not the value of a /Contents entry"
        ));
    }
    if object_start.is_some_and(|o| o > start) {
        return Some(format!(
            "the unsigned gap {start}..{end} lies before the signature dictionary's object"
        ));
    }
    let contents = signature
        .get(b"Contents")
        .and_then(Object::as_str)
        .unwrap_or_default();
    if decode_hex(digits).as_deref() != Some(contents) {
        return Some(format!(
            "the unsigned gap {start}..{end} is another /Contents than this signature's own"
        ));
    }
    if let Some(object_start) = object_start {
        let object_end =
            revisions::find(&file[object_start..], b"endobj").map(|e| e + object_start);
        if object_end.is_none_or(|e| e < end) {
            return Some(format!(
                "the unsigned gap {start}..{end} lies outside the signature dictionary's object"
            ));
        }
    }
    None
}

fn decode_hex(digits: &[u8]) -> Option<Vec<u8>> {
    let value = |d: u8| {
        char::from(d)
            .to_digit(16)
            .and_then(|v| u8::try_from(v).ok())
    };
    digits
        .chunks(2)
        .map(|pair| match pair {
            [high, low] => Some(value(*high)? << 4 | value(*low)?),
            _ => None,
        })
        .collect()
}

fn trim_end(bytes: &[u8]) -> &[u8] {
    let keep = bytes.len()
        - bytes
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
    &bytes[..keep]
}

#[cfg(test)]
mod tests {
    use lopdf::StringFormat;

    use super::*;
    use crate::revisions::revisions;

    fn file_and_signature(byte_range: [i64; 4]) -> (Vec<u8>, Dictionary) {
        let file = b"%PDF-1.7\n1 0 obj\n<</Contents <0a0b0000>/ByteRange []>>\nendobj\nstartxref\n0\n%%EOF\n".to_vec();
        let mut signature = Dictionary::new();
        signature.set(
            "Contents",
            Object::String(vec![0x0a, 0x0b, 0, 0], StringFormat::Hexadecimal),
        );
        signature.set(
            "ByteRange",
            Object::Array(byte_range.iter().map(|n| Object::Integer(*n)).collect()),
        );
        (file, signature)
    }

    fn problems(byte_range: [i64; 4]) -> Vec<String> {
        let (file, signature) = file_and_signature(byte_range);
        coverage(&file, &signature, Some(9), &revisions(&file)).problems
    }

    #[test]
    fn svr_4_2_7_a_range_over_all_but_the_contents_string_is_whole() {
        // "<0a0b0000>" sits at 29..39; the file is 80 bytes long.
        assert_eq!(problems([0, 29, 39, 41]), Vec::<String>::new());
    }

    #[test]
    fn svr_4_2_7_a_range_short_of_the_revision_end_is_reported() {
        let found = problems([0, 29, 39, 30]);
        assert!(found[0].contains("not the end of a revision"), "{found:?}");
    }

    #[test]
    fn svr_4_2_7_a_gap_wider_than_the_contents_string_is_reported() {
        let found = problems([0, 28, 39, 41]);
        assert!(found[0].contains("not a hexadecimal string"), "{found:?}");
    }

    #[test]
    fn overlapping_and_out_of_range_ranges_are_reported() {
        let found = problems([0, 39, 29, 51]);
        assert!(found.iter().any(|p| p.contains("overlaps")), "{found:?}");
        let found = problems([0, 29, 39, 4100]);
        assert!(
            found.iter().any(|p| p.contains("beyond the end")),
            "{found:?}"
        );
        let found = problems([5, 24, 39, 41]);
        assert!(found.iter().any(|p| p.contains("not at 0")), "{found:?}");
    }
}
