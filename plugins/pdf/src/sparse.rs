//! Reading only what an incremental update touches (ISO 32000-1 7.5): the cross-reference
//! sections from the last `startxref` back along /Prev, then the catalog, the page tree, the
//! interactive form and the few objects they refer to, each parsed where the cross-reference
//! data says it is. A 100 MB image is never read, so signing a large file costs one pass over
//! its bytes (the digest) and the memory of a few objects. lopdf parses every object of a file
//! it loads, copying each stream, so it cannot do this; lopdf still parses each object's
//! syntax here ([`ObjectStream`] over one object) and decodes the compressed streams.
//!
//! Anything unexpected gives `None` and the caller parses the whole file with lopdf instead,
//! which also repairs damaged cross-reference data: this reader only has to be right when it
//! answers, never has to guess.

use std::collections::{HashMap, HashSet};

use lopdf::xref::{Xref, XrefEntry, XrefType};
use lopdf::{Dictionary, Document, Object, ObjectId, ObjectStream, Stream};

/// How many cross-reference sections (revisions) are followed along /Prev.
const MAX_SECTIONS: usize = 100_000;
/// The most bytes of one object's syntax parsed (its stream data aside).
const MAX_OBJECT_SYNTAX: usize = 4 << 20;
/// The largest cross-reference or object stream decoded.
const MAX_DECODED: usize = 64 << 20;
/// How many page tree nodes are read (a hostile tree is not walked for ever).
const MAX_PAGE_NODES: usize = 1_000_000;
/// How deep the page tree may nest.
const MAX_DEPTH: usize = 64;

/// The document as far as an update needs it: the newest trailer, every cross-reference entry,
/// and the catalog, the page tree with each page's /Annots, boxes and /Rotate, the interactive
/// form with its field tree, and the certification signature's /Reference when the catalog's
/// /Perms names one. `None` if any of it cannot be read as written.
pub fn document(file: &[u8], startxref: usize) -> Option<Document> {
    let (reference_table, trailer) = cross_references(file, startxref)?;
    let mut loader = Loader {
        file,
        xref: &reference_table,
        object_streams: HashMap::new(),
        objects: Default::default(),
    };
    if !trailer.has(b"Encrypt") {
        loader.touched_objects(&trailer)?;
    }
    let mut document = Document::new();
    document.objects = std::mem::take(&mut loader.objects);
    document.max_id = reference_table.size.saturating_sub(1).max(
        reference_table
            .entries
            .keys()
            .next_back()
            .copied()
            .unwrap_or(0),
    );
    document.trailer = trailer;
    document.reference_table = reference_table;
    document.xref_start = startxref;
    Some(document)
}

/// The newest trailer dictionary (of a table, or a cross-reference stream's dictionary).
pub fn trailer(file: &[u8], startxref: usize) -> Option<Dictionary> {
    section(file, startxref).map(|(_, trailer)| trailer)
}

/// Every cross-reference entry, the newest section's winning, and the newest trailer.
fn cross_references(file: &[u8], startxref: usize) -> Option<(Xref, Dictionary)> {
    let mut newest = None;
    let mut xref = Xref::new(0, XrefType::CrossReferenceTable);
    let mut seen = HashSet::new();
    let mut next = Some(startxref);
    while let Some(offset) = next {
        if !seen.insert(offset) || seen.len() > MAX_SECTIONS {
            return None;
        }
        let (entries, trailer) = section(file, offset)?;
        for (number, entry) in entries {
            xref.entries.entry(number).or_insert(entry);
        }
        next = match trailer.get(b"Prev") {
            Ok(prev) => Some(usize::try_from(prev.as_i64().ok()?).ok()?),
            Err(_) => None,
        };
        if newest.is_none() {
            xref.cross_reference_type = if trailer.has_type(b"XRef") {
                XrefType::CrossReferenceStream
            } else {
                XrefType::CrossReferenceTable
            };
            newest = Some(trailer);
        }
    }
    let trailer = newest?;
    xref.size = u32::try_from(trailer.get(b"Size").ok()?.as_i64().ok()?).ok()?;
    Some((xref, trailer))
}

/// One cross-reference section at `offset`: a table with its trailer (and the stream its
/// /XRefStm names, in a hybrid file: 7.5.8.4), or a cross-reference stream.
fn section(file: &[u8], offset: usize) -> Option<(Vec<(u32, XrefEntry)>, Dictionary)> {
    if !crate::revisions::is_xref_table(file, offset) {
        let (_, Object::Stream(stream)) = object_at(file, offset, None)? else {
            return None;
        };
        return Some((stream_entries(&stream)?, stream.dict));
    }
    let (mut entries, trailer) = table(file, offset)?;
    if let Ok(at) = trailer.get(b"XRefStm") {
        let at = usize::try_from(at.as_i64().ok()?).ok()?;
        let (_, Object::Stream(stream)) = object_at(file, at, None)? else {
            return None;
        };
        // The table lists the objects in object streams as free; the stream says where.
        let listed: HashMap<u32, usize> = entries
            .iter()
            .enumerate()
            .map(|(i, (number, _))| (*number, i))
            .collect();
        for (number, entry) in stream_entries(&stream)? {
            match listed.get(&number) {
                Some(&i) if matches!(entries[i].1, XrefEntry::Free) => entries[i].1 = entry,
                Some(_) => {}
                None => entries.push((number, entry)),
            }
        }
    }
    Some((entries, trailer))
}

/// A classic cross-reference table (7.5.4) and the trailer after it (7.5.5).
fn table(file: &[u8], offset: usize) -> Option<(Vec<(u32, XrefEntry)>, Dictionary)> {
    let mut at = skip_blanks(file, offset);
    if !file.get(at..)?.starts_with(b"xref") {
        return None;
    }
    at += b"xref".len();
    let mut entries = Vec::new();
    loop {
        at = skip_blanks(file, at);
        if file.get(at..)?.starts_with(b"trailer") {
            at += b"trailer".len();
            break;
        }
        let (first, after) = number(file, at)?;
        let (count, after) = number(file, skip_blanks(file, after))?;
        at = after;
        // Each entry takes 20 bytes; a count the file cannot hold is damage.
        if count > (file.len() - at) / 18 + 1 {
            return None;
        }
        for i in 0..count {
            let (offset, after) = number(file, skip_blanks(file, at))?;
            let (generation, after) = number(file, skip_blanks(file, after))?;
            at = skip_blanks(file, after);
            let entry = match file.get(at)? {
                b'n' => XrefEntry::Normal {
                    offset: u32::try_from(offset).ok()?,
                    generation: u16::try_from(generation).ok()?,
                },
                b'f' => XrefEntry::Free,
                _ => return None,
            };
            at += 1;
            entries.push((u32::try_from(first.checked_add(i)?).ok()?, entry));
        }
    }
    let window = &file[at..file.len().min(at + MAX_OBJECT_SYNTAX)];
    let end = memchr::memmem::find(window, b"startxref").unwrap_or(window.len());
    let trailer = parse(&window[..end])?;
    match trailer {
        Object::Dictionary(trailer) => Some((entries, trailer)),
        _ => None,
    }
}

/// The entries of a cross-reference stream (7.5.8.3), decoded.
fn stream_entries(stream: &Stream) -> Option<Vec<(u32, XrefEntry)>> {
    if !stream.dict.has_type(b"XRef") {
        return None;
    }
    let widths: Vec<usize> = stream
        .dict
        .get(b"W")
        .ok()?
        .as_array()
        .ok()?
        .iter()
        .map(|w| usize::try_from(w.as_i64().ok()?).ok().filter(|w| *w <= 8))
        .collect::<Option<_>>()?;
    let [w0, w1, w2] = widths[..] else {
        return None;
    };
    let row = w0 + w1 + w2;
    let size = stream.dict.get(b"Size").ok()?.as_i64().ok()?;
    let index: Vec<i64> = match stream.dict.get(b"Index") {
        Ok(index) => index
            .as_array()
            .ok()?
            .iter()
            .map(|n| n.as_i64().ok())
            .collect::<Option<_>>()?,
        Err(_) => vec![0, size],
    };
    if row == 0 || !index.len().is_multiple_of(2) {
        return None;
    }
    let data = stream.decompressed_content_with_limit(MAX_DECODED).ok()?;
    let mut rows = data.chunks_exact(row);
    let mut entries = Vec::new();
    for pair in index.chunks(2) {
        let first = u32::try_from(pair[0]).ok()?;
        for i in 0..u32::try_from(pair[1]).ok()? {
            let row = rows.next()?;
            let field = |from: usize, width: usize| {
                row[from..from + width]
                    .iter()
                    .fold(0u64, |n, b| n << 8 | u64::from(*b))
            };
            let kind = if w0 == 0 { 1 } else { field(0, w0) };
            let (second, third) = (field(w0, w1), field(w0 + w1, w2));
            let entry = match kind {
                0 => XrefEntry::Free,
                1 => XrefEntry::Normal {
                    offset: u32::try_from(second).ok()?,
                    generation: u16::try_from(third).ok()?,
                },
                2 => XrefEntry::Compressed {
                    container: u32::try_from(second).ok()?,
                    index: u16::try_from(third).ok()?,
                },
                // 7.5.8.3: other types are references to the null object.
                _ => continue,
            };
            entries.push((first.checked_add(i)?, entry));
        }
    }
    Some(entries)
}

/// Reads objects on demand from the cross-reference entries, keeping those it read.
struct Loader<'a> {
    file: &'a [u8],
    xref: &'a Xref,
    /// Decoded object streams by container number.
    object_streams: HashMap<u32, ObjectStream>,
    objects: std::collections::BTreeMap<ObjectId, Object>,
}

impl Loader<'_> {
    /// Reads the catalog, the page tree and the form; `None` if one of them, or an object they
    /// refer to, is listed but cannot be read.
    fn touched_objects(&mut self, trailer: &Dictionary) -> Option<()> {
        let root = trailer.get(b"Root").ok()?.as_reference().ok()?;
        let catalog = self.dictionary(root)?;
        let mut seen = HashSet::new();
        self.page_node(catalog.get(b"Pages").ok()?, 0, &mut seen)?;
        if let Ok(form) = catalog.get(b"AcroForm")
            && let Object::Dictionary(form) = self.resolve(form)?
            && let Ok(fields) = form.get(b"Fields")
            && let Object::Array(fields) = self.resolve(fields)?
        {
            let mut seen = HashSet::new();
            for field in &fields {
                self.field_node(field, 0, &mut seen)?;
            }
        }
        // A certification signature (ISO 32000-1 12.8.2.2) says what may follow it.
        if let Ok(perms) = catalog.get(b"Perms")
            && let Object::Dictionary(perms) = self.resolve(perms)?
            && let Ok(docmdp) = perms.get(b"DocMDP")
            && let Object::Dictionary(signature) = self.resolve(docmdp)?
            && let Ok(reference) = signature.get(b"Reference")
            && let Object::Array(references) = self.resolve(reference)?
        {
            // Acrobat may write the transform parameters as objects of their own.
            for entry in &references {
                if let Object::Dictionary(entry) = self.resolve(entry)?
                    && let Ok(params) = entry.get(b"TransformParams")
                {
                    self.resolve(params)?;
                }
            }
        }
        Some(())
    }

    /// A node of the field tree with its kids (fields or widgets), each with its /Lock.
    fn field_node(
        &mut self,
        node: &Object,
        depth: usize,
        seen: &mut HashSet<ObjectId>,
    ) -> Option<()> {
        if depth > MAX_DEPTH || seen.len() >= MAX_PAGE_NODES {
            return None;
        }
        if let Object::Reference(id) = node
            && !seen.insert(*id)
        {
            return Some(());
        }
        let Object::Dictionary(dictionary) = self.resolve(node)? else {
            return Some(());
        };
        if let Ok(lock) = dictionary.get(b"Lock") {
            self.resolve(lock)?;
        }
        if let Ok(kids) = dictionary.get(b"Kids")
            && let Object::Array(kids) = self.resolve(kids)?
        {
            for kid in &kids {
                self.field_node(kid, depth + 1, seen)?;
            }
        }
        Some(())
    }

    /// A page tree node with its kids, and the entries of each that an update reads.
    fn page_node(
        &mut self,
        node: &Object,
        depth: usize,
        seen: &mut HashSet<ObjectId>,
    ) -> Option<()> {
        let id = node.as_reference().ok()?;
        if depth > MAX_DEPTH || seen.len() >= MAX_PAGE_NODES {
            return None;
        }
        if !seen.insert(id) {
            return Some(());
        }
        let dictionary = self.dictionary(id)?;
        for key in [&b"MediaBox"[..], b"CropBox", b"Rotate", b"Annots"] {
            if let Ok(value) = dictionary.get(key) {
                self.resolve(value)?;
            }
        }
        if let Ok(kids) = dictionary.get(b"Kids")
            && let Object::Array(kids) = self.resolve(kids)?
        {
            for kid in &kids {
                self.page_node(kid, depth + 1, seen)?;
            }
        }
        Some(())
    }

    /// `object`, read if it is a reference to a listed object; a reference to an object that
    /// is free or not listed is the null object (7.3.10).
    fn resolve(&mut self, object: &Object) -> Option<Object> {
        match object {
            Object::Reference(id) => self.object(*id),
            direct => Some(direct.clone()),
        }
    }

    fn dictionary(&mut self, id: ObjectId) -> Option<Dictionary> {
        match self.object(id)? {
            Object::Dictionary(dictionary) => Some(dictionary),
            _ => None,
        }
    }

    /// Object `id` as the cross-reference entries say; `None` if it is listed but unreadable.
    fn object(&mut self, id: ObjectId) -> Option<Object> {
        if let Some(object) = self.objects.get(&id) {
            return Some(object.clone());
        }
        let object = match self.xref.get(id.0) {
            Some(XrefEntry::Normal { offset, generation }) if *generation == id.1 => {
                let (_, object) = object_at(self.file, usize::try_from(*offset).ok()?, Some(id))?;
                object
            }
            Some(XrefEntry::Compressed { container, .. }) if id.1 == 0 => {
                let container = *container;
                if !self.object_streams.contains_key(&container) {
                    let Some(XrefEntry::Normal { offset, .. }) = self.xref.get(container) else {
                        return None;
                    };
                    let (_, Object::Stream(stream)) =
                        object_at(self.file, usize::try_from(*offset).ok()?, None)?
                    else {
                        return None;
                    };
                    let objects = ObjectStream::new_with_limit(&stream, Some(MAX_DECODED)).ok()?;
                    self.object_streams.insert(container, objects);
                }
                self.object_streams
                    .get(&container)?
                    .objects
                    .get(&id)?
                    .clone()
            }
            _ => return Some(Object::Null),
        };
        self.objects.insert(id, object.clone());
        Some(object)
    }
}

/// The indirect object at `offset` (7.3.10), which must be `expected` when given; a stream
/// with its data as written (filters not applied). A stream's /Length must be direct.
fn object_at(file: &[u8], offset: usize, expected: Option<ObjectId>) -> Option<(ObjectId, Object)> {
    let at = skip_blanks(file, offset);
    let (object_number, after) = number(file, at)?;
    let (generation, after) = number(file, skip_blanks(file, after))?;
    let after = skip_blanks(file, after);
    if !file.get(after..)?.starts_with(b"obj") {
        return None;
    }
    let id = (
        u32::try_from(object_number).ok()?,
        u16::try_from(generation).ok()?,
    );
    if expected.is_some_and(|e| e != id) {
        return None;
    }
    let body_start = after + b"obj".len();
    let window = &file[body_start..file.len().min(body_start + MAX_OBJECT_SYNTAX)];
    // The object ends at `endobj`, or its dictionary at `stream`; either word may also appear
    // inside a string before the real end, so each place is tried in turn: only the real end
    // gives a whole object.
    let ends = memchr::memmem::find_iter(window, b"stream")
        .filter(|s| !window[..*s].ends_with(b"end"))
        .map(|s| (s, true))
        .chain(memchr::memmem::find_iter(window, b"endobj").map(|e| (e, false)));
    let mut ends: Vec<(usize, bool)> = ends.take(64).collect();
    ends.sort_unstable();
    ends.into_iter().find_map(|(end, is_stream)| {
        if is_stream {
            stream_at(file, id, body_start, end)
        } else {
            Some((id, parse(&window[..end])?))
        }
    })
}

/// The stream object `id` whose dictionary starts at `body_start` and whose `stream` keyword
/// is `keyword` bytes after it.
fn stream_at(
    file: &[u8],
    id: ObjectId,
    body_start: usize,
    keyword: usize,
) -> Option<(ObjectId, Object)> {
    let syntax = file.get(body_start..body_start + keyword)?;
    let trimmed = syntax.trim_ascii_end();
    if !trimmed.ends_with(b">>") {
        return None;
    }
    let Object::Dictionary(dict) = parse(trimmed)? else {
        return None;
    };
    let mut data_start = body_start + keyword + b"stream".len();
    if file.get(data_start) == Some(&b'\r') {
        data_start += 1;
    }
    if file.get(data_start) != Some(&b'\n') {
        return None;
    }
    data_start += 1;
    let length = usize::try_from(dict.get(b"Length").ok()?.as_i64().ok()?).ok()?;
    let data_end = data_start.checked_add(length)?;
    // A /Length that does not end where `endstream` begins is damage.
    if !file
        .get(skip_blanks(file, data_end)..)?
        .starts_with(b"endstream")
    {
        return None;
    }
    let data = file.get(data_start..data_end)?.to_vec();
    Some((id, Object::Stream(Stream::new(dict, data))))
}

/// The first object in `syntax`, parsed by lopdf as the only member of an object stream
/// (7.5.7), the one public way it parses a single object.
fn parse(syntax: &[u8]) -> Option<Object> {
    const HEADER: &[u8] = b"1 0 ";
    let mut content = Vec::with_capacity(HEADER.len() + syntax.len());
    content.extend_from_slice(HEADER);
    content.extend_from_slice(syntax);
    let mut dict = Dictionary::new();
    dict.set("N", Object::Integer(1));
    dict.set("First", Object::Integer(HEADER.len() as i64));
    let stream = Stream::new(dict, content);
    let mut parsed = ObjectStream::new_with_limit(&stream, Some(MAX_OBJECT_SYNTAX * 2)).ok()?;
    parsed.objects.remove(&(1, 0))
}

/// The unsigned decimal number at `at`, and where it ends.
fn number(file: &[u8], at: usize) -> Option<(usize, usize)> {
    let digits = file
        .get(at..)?
        .iter()
        .take(20)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 || digits == 20 {
        return None;
    }
    let value = std::str::from_utf8(&file[at..at + digits])
        .ok()?
        .parse()
        .ok()?;
    Some((value, at + digits))
}

/// Where the white space (and comments) from `at` end (7.2.3, 7.2.4).
fn skip_blanks(file: &[u8], mut at: usize) -> usize {
    while let Some(b) = file.get(at) {
        match b {
            b'\0' | b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' => at += 1,
            b'%' => {
                while file.get(at).is_some_and(|b| *b != b'\n' && *b != b'\r') {
                    at += 1;
                }
            }
            _ => break,
        }
    }
    at
}

#[cfg(test)]
mod tests {
    use lopdf::{SaveOptions, StringFormat};

    use super::*;
    use crate::revisions;

    /// A one-page PDF with a form, an indirect /Annots array and a large image stream, saved as
    /// a classic table or with object streams and a cross-reference stream.
    fn pdf(modern: bool) -> Vec<u8> {
        let mut doc = Document::with_version("1.7");
        let pages_id = doc.new_object_id();
        let image_id = doc.add_object(Stream::new(
            Dictionary::from_iter([("Subtype", Object::Name(b"Image".to_vec()))]),
            vec![7u8; 300_000],
        ));
        let annots_id = doc.add_object(Object::Array(vec![]));
        let page_id = doc.add_object(Dictionary::from_iter([
            ("Type", Object::Name(b"Page".to_vec())),
            ("Parent", Object::Reference(pages_id)),
            ("Annots", Object::Reference(annots_id)),
            (
                "Resources",
                Object::Dictionary(Dictionary::from_iter([(
                    "XObject",
                    Object::Dictionary(Dictionary::from_iter([("I", Object::Reference(image_id))])),
                )])),
            ),
        ]));
        doc.objects.insert(
            pages_id,
            Object::Dictionary(Dictionary::from_iter([
                ("Type", Object::Name(b"Pages".to_vec())),
                ("Kids", Object::Array(vec![Object::Reference(page_id)])),
                ("Count", Object::Integer(1)),
                (
                    "MediaBox",
                    Object::Array(vec![0.into(), 0.into(), 595.into(), 842.into()]),
                ),
            ])),
        );
        let field_id = doc.add_object(Dictionary::from_iter([
            ("FT", Object::Name(b"Tx".to_vec())),
            (
                "T",
                Object::String(b"name (endobj stream)".to_vec(), StringFormat::Literal),
            ),
        ]));
        let form_id = doc.add_object(Dictionary::from_iter([(
            "Fields",
            Object::Array(vec![Object::Reference(field_id)]),
        )]));
        let catalog_id = doc.add_object(Dictionary::from_iter([
            ("Type", Object::Name(b"Catalog".to_vec())),
            ("Pages", Object::Reference(pages_id)),
            ("AcroForm", Object::Reference(form_id)),
        ]));
        doc.trailer.set("Root", Object::Reference(catalog_id));
        let mut out = Vec::new();
        if modern {
            let options = SaveOptions::builder()
                .use_object_streams(true)
                .use_xref_streams(true)
                .build();
            doc.save_with_options(&mut out, options).unwrap();
        } else {
            doc.reference_table.cross_reference_type = XrefType::CrossReferenceTable;
            doc.save_to(&mut out).unwrap();
        }
        assert_eq!(
            revisions::is_xref_table(&out, revisions::last(&out).unwrap().startxref),
            !modern
        );
        out
    }

    fn sparse(file: &[u8]) -> Option<Document> {
        document(file, revisions::last(file)?.startxref)
    }

    #[test]
    fn the_touched_objects_are_read_as_lopdf_reads_them_and_the_image_is_not() {
        for modern in [false, true] {
            let file = pdf(modern);
            let full = Document::load_mem(&file).unwrap();
            let read = sparse(&file).unwrap_or_else(|| panic!("modern {modern}: not read"));
            assert_eq!(
                read.trailer.get(b"Root").ok(),
                full.trailer.get(b"Root").ok()
            );
            assert_eq!(read.max_id, full.max_id, "modern {modern}");
            let pages: Vec<_> = read.page_iter().collect();
            assert_eq!(pages, full.page_iter().collect::<Vec<_>>());
            for (id, object) in &read.objects {
                assert_eq!(
                    format!("{object:?}"),
                    format!("{:?}", full.objects[id]),
                    "modern {modern}"
                );
                assert!(object.as_stream().is_err(), "a stream was read: {id:?}");
            }
            // Catalog, page tree, page, /Annots, form and field: six objects.
            assert_eq!(read.objects.len(), 6, "modern {modern}");
            assert_eq!(
                crate::fields::field_names(&read),
                crate::fields::field_names(&full)
            );
        }
    }

    /// `file` rewritten by qpdf (from `scripts/test-env`) with `args`.
    fn rewritten(file: &[u8], args: &[&str]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("in.pdf"), file).unwrap();
        let out = std::process::Command::new("qpdf")
            .args(args)
            .args(["in.pdf", "out.pdf"])
            .current_dir(dir.path())
            .output()
            .expect("qpdf is missing: run scripts/test-env");
        assert!(out.status.success(), "{out:?}");
        std::fs::read(dir.path().join("out.pdf")).unwrap()
    }

    #[test]
    fn linearized_and_qdf_files_are_read_here_as_lopdf_reads_them() {
        // A linearized file's last `startxref` names the first-page section at its start, whose
        // /Prev leads to the main one; QDF writes every stream's /Length as an indirect object.
        for args in [
            &["--linearize"][..],
            &["--linearize", "--object-streams=generate"],
            &["--qdf"],
        ] {
            let file = rewritten(&pdf(false), args);
            let full = Document::load_mem(&file).unwrap();
            let read = sparse(&file).unwrap_or_else(|| panic!("{args:?}: not read"));
            assert_eq!(
                read.page_iter().collect::<Vec<_>>(),
                full.page_iter().collect::<Vec<_>>(),
                "{args:?}"
            );
            for (id, object) in &read.objects {
                assert_eq!(
                    format!("{object:?}"),
                    format!("{:?}", full.objects[id]),
                    "{args:?}"
                );
            }
            assert_eq!(
                crate::fields::field_names(&read),
                crate::fields::field_names(&full),
                "{args:?}"
            );
        }
    }

    #[test]
    fn damaged_cross_reference_data_gives_none_never_a_panic() {
        for modern in [false, true] {
            let file = pdf(modern);
            let startxref = revisions::last(&file).unwrap().startxref;
            // A wrong startxref, and an object moved so its offset is off.
            assert!(document(&file, startxref + 3).is_none());
            assert!(document(&file, file.len() + 10).is_none());
            let at = revisions::find(&file, b"2 0 obj").unwrap();
            let mut shifted = file.clone();
            shifted.splice(at..at, b"99".iter().copied());
            assert!(document(&shifted, startxref + 2).is_none());
            // Every truncation and a damaged byte at many places: never a panic.
            let tail_start = file.len().saturating_sub(2000);
            for cut in (tail_start..file.len()).step_by(7) {
                let _ = document(&file[..cut], startxref);
            }
            for at in (0..file.len()).step_by(997).chain(tail_start..file.len()) {
                let mut damaged = file.clone();
                damaged[at] ^= 0x5a;
                let _ = document(&damaged, startxref);
            }
        }
    }

    #[test]
    fn an_encrypted_file_gives_its_trailer_and_no_objects() {
        let mut file = pdf(false);
        let at = revisions::find(&file, b"trailer").unwrap() + b"trailer\n<<".len();
        file.splice(at..at, b"/Encrypt 99 0 R ".iter().copied());
        let read = sparse(&file).unwrap();
        assert!(read.trailer.has(b"Encrypt"));
        assert!(read.objects.is_empty());
    }
}
