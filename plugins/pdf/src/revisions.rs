//! The revisions of a PDF file: the original and each incremental update (ISO 32000-1 7.5.6)
//! ends with `startxref`, the offset of its cross-reference section and `%%EOF`.

/// One revision's end, found in the raw bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revision {
    /// Offset just after its `%%EOF` marker.
    pub marker_end: usize,
    /// Offset after the end-of-line that follows the marker (equal to `marker_end` if none).
    pub end: usize,
    /// Where its cross-reference section starts, as `startxref` says.
    pub startxref: usize,
}

impl Revision {
    /// Whether a signed range ending at `offset` covers this revision up to its end: just after
    /// `%%EOF` or after the end-of-line that follows it, as writers differ there.
    pub fn ends_at(&self, offset: usize) -> bool {
        offset == self.marker_end || offset == self.end
    }
}

/// Every revision of `file`, in file order. A `%%EOF` not preceded by `startxref` and an offset
/// (inside a stream, say) is not a revision end.
pub fn revisions(file: &[u8]) -> Vec<Revision> {
    const MARKER: &[u8] = b"%%EOF";
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = find(&file[from..], MARKER).map(|i| i + from) {
        from = at + MARKER.len();
        if let Some(revision) = revision_at(file, at) {
            found.push(revision);
        }
    }
    found
}

/// The last revision of `file`, found from its end without reading the rest: what an update is
/// appended to. The same as the last of [`revisions`].
pub fn last(file: &[u8]) -> Option<Revision> {
    const MARKER: &[u8] = b"%%EOF";
    let finder = memchr::memmem::FinderRev::new(MARKER);
    let mut before = file.len();
    while let Some(at) = finder.rfind(&file[..before]) {
        if let Some(revision) = revision_at(file, at) {
            return Some(revision);
        }
        before = at;
    }
    None
}

/// The bytes after the last revision that are not white space (ISO 32000-1 7.5.5 allows none;
/// some writers pad with blanks or NULs): a range, or `None` if there are none.
pub fn trailing_bytes(file: &[u8], last: &Revision) -> Option<(usize, usize)> {
    let rest = &file[last.end.min(file.len())..];
    let is_blank = |b: &u8| matches!(b, b'\0' | b'\t' | b'\n' | b'\x0c' | b'\r' | b' ');
    (!rest.iter().all(is_blank)).then_some((last.end, file.len() - last.end))
}

/// Whether the cross-reference section at `offset` is a classic table (`xref` keyword) rather
/// than a cross-reference stream.
pub fn is_xref_table(file: &[u8], offset: usize) -> bool {
    file.get(offset..)
        .is_some_and(|rest| skip_blanks(rest).starts_with(b"xref"))
}

/// Position of `needle` in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

/// The revision whose `%%EOF` marker is at `at`, if `startxref` and an offset precede it.
fn revision_at(file: &[u8], at: usize) -> Option<Revision> {
    let startxref = startxref_before(&file[..at])?;
    let marker_end = at + b"%%EOF".len();
    let end = match &file[marker_end..] {
        [b'\r', b'\n', ..] => marker_end + 2,
        [b'\r' | b'\n', ..] => marker_end + 1,
        _ => marker_end,
    };
    Some(Revision {
        marker_end,
        end,
        startxref,
    })
}

/// The offset in `startxref <offset>` at the end of `before` (blanks and comments aside).
fn startxref_before(before: &[u8]) -> Option<usize> {
    let trimmed = trim_end_blanks(before);
    let digits = trimmed
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 || digits > 19 {
        return None;
    }
    let (rest, number) = trimmed.split_at(trimmed.len() - digits);
    let rest = trim_end_blanks(rest);
    if !rest.ends_with(b"startxref") {
        return None;
    }
    std::str::from_utf8(number).ok()?.parse().ok()
}

fn trim_end_blanks(bytes: &[u8]) -> &[u8] {
    let keep = bytes.len()
        - bytes
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_whitespace() || **b == 0)
            .count();
    &bytes[..keep]
}

fn skip_blanks(bytes: &[u8]) -> &[u8] {
    let skip = bytes
        .iter()
        .take_while(|b| b.is_ascii_whitespace() || **b == 0)
        .count();
    &bytes[skip..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_revision_and_ignores_a_marker_inside_a_stream() {
        let file = b"%PDF-1.7\nstream %%EOF endstream\nstartxref\n9\n%%EOF\nmore\nstartxref\r\n42\r\n%%EOF";
        let found = revisions(file);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].startxref, 9);
        assert_eq!(&file[found[0].marker_end - 5..found[0].end], b"%%EOF\n");
        assert_eq!(found[1].startxref, 42);
        assert_eq!(found[1].end, file.len());
        assert_eq!(last(file), Some(found[1]));
        assert_eq!(last(&file[..found[0].end + 3]), Some(found[0]));
        assert_eq!(last(b"%PDF-1.7\n%%EOF"), None);
    }

    #[test]
    fn blank_padding_after_the_last_revision_is_not_trailing_content() {
        let file = b"startxref\n0\n%%EOF\n\0\0 \n";
        assert_eq!(trailing_bytes(file, &revisions(file)[0]), None);
        let file = b"startxref\n0\n%%EOF\nhidden";
        assert_eq!(trailing_bytes(file, &revisions(file)[0]), Some((18, 6)));
    }
}
