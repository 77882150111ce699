//! Writing an incremental update (ISO 32000-1 7.5.6): the original bytes untouched, then the new
//! and changed objects, a cross-reference section of the same kind as the last one (table or
//! stream, 7.5.8) and a trailer whose /Prev points at the previous section.

use std::collections::BTreeMap;

use lopdf::{Document, Object, ObjectId};
use mubadile_plugin_api::PluginError;

use crate::objects::ObjectSink;
use crate::revisions::{self, Revision};
use crate::serialize;

/// An update being built over `file`.
pub struct Update<'a> {
    file: &'a [u8],
    document: &'a Document,
    last: Revision,
    next_number: u32,
    objects: BTreeMap<ObjectId, Vec<u8>>,
}

/// The update as written, to be appended to the file it was made for, and where each written
/// object starts in the updated file. The original bytes are not copied: a large file is hashed
/// where it lies and copied once, into the result.
pub struct Written {
    /// What follows the original bytes: an end-of-line if they lack one, then the update.
    pub tail: Vec<u8>,
    /// The offset of each object the update wrote, in the updated file.
    pub offsets: BTreeMap<ObjectId, usize>,
}

impl Written {
    /// The updated file: `file`, the one the update was made for, then the update.
    pub fn appended_to(&self, file: &[u8]) -> Vec<u8> {
        [file, &self.tail].concat()
    }
}

impl<'a> Update<'a> {
    /// An empty update of `file`, parsed as `document`, whose last revision is `last`.
    pub fn new(file: &'a [u8], document: &'a Document, last: Revision) -> Update<'a> {
        let size = document
            .trailer
            .get(b"Size")
            .and_then(Object::as_i64)
            .ok()
            .and_then(|s| u32::try_from(s).ok())
            .unwrap_or(0);
        Update {
            file,
            document,
            last,
            next_number: size.max(document.max_id.saturating_add(1)),
            objects: BTreeMap::new(),
        }
    }

    /// The update, written.
    pub fn finish(mut self) -> Result<Written, PluginError> {
        // Offsets in the updated file are those in `out` plus `base`.
        let base = self.file.len();
        let mut out = Vec::with_capacity(64 * 1024);
        if !self.file.ends_with(b"\n") && !self.file.ends_with(b"\r") {
            out.push(b'\n');
        }
        let mut offsets = BTreeMap::new();
        for (id, body) in &self.objects {
            offsets.insert(*id, base + out.len());
            out.extend_from_slice(format!("{} {} obj\n", id.0, id.1).as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        }
        let mut trailer = lopdf::Dictionary::new();
        for key in [&b"Root"[..], b"Info", b"ID"] {
            if let Ok(value) = self.document.trailer.get(key) {
                trailer.set(key, value.clone());
            }
        }
        let prev = i64::try_from(self.last.startxref)
            .map_err(|_| PluginError::malformed("the PDF's startxref offset is too large"))?;
        trailer.set("Prev", Object::Integer(prev));
        let xref_at = base + out.len();
        if revisions::is_xref_table(self.file, self.last.startxref) {
            trailer.set("Size", Object::Integer(i64::from(self.next_number)));
            out.extend_from_slice(b"xref\n");
            for run in runs(&offsets) {
                out.extend_from_slice(format!("{} {}\n", run[0].0.0, run.len()).as_bytes());
                for (id, offset) in run {
                    out.extend_from_slice(format!("{offset:010} {:05} n\r\n", id.1).as_bytes());
                }
            }
            out.extend_from_slice(b"trailer\n");
            serialize::write(&mut out, &Object::Dictionary(trailer))?;
            out.push(b'\n');
        } else {
            // The cross-reference stream lists itself too (ISO 32000-1 7.5.8.3).
            let own = self.new_id();
            offsets.insert(own, xref_at);
            let mut rows = Vec::new();
            for run in runs(&offsets) {
                for (id, offset) in run {
                    let offset = u32::try_from(offset).map_err(|_| {
                        PluginError::unsupported("PDF files over 4 GiB are not supported")
                    })?;
                    rows.push(1u8);
                    rows.extend_from_slice(&offset.to_be_bytes());
                    rows.extend_from_slice(&id.1.to_be_bytes());
                }
            }
            let index = runs(&offsets)
                .iter()
                .flat_map(|run| {
                    [
                        Object::Integer(i64::from(run[0].0.0)),
                        Object::Integer(i64::try_from(run.len()).unwrap_or(0)),
                    ]
                })
                .collect();
            trailer.set("Type", Object::Name(b"XRef".to_vec()));
            trailer.set("Size", Object::Integer(i64::from(self.next_number)));
            trailer.set(
                "W",
                Object::Array(vec![
                    Object::Integer(1),
                    Object::Integer(4),
                    Object::Integer(2),
                ]),
            );
            trailer.set("Index", Object::Array(index));
            trailer.set(
                "Length",
                Object::Integer(i64::try_from(rows.len()).unwrap_or(0)),
            );
            out.extend_from_slice(format!("{} {} obj\n", own.0, own.1).as_bytes());
            serialize::write(&mut out, &Object::Dictionary(trailer))?;
            out.extend_from_slice(b"\nstream\n");
            out.extend_from_slice(&rows);
            out.extend_from_slice(b"\nendstream\nendobj\n");
        }
        out.extend_from_slice(format!("startxref\n{xref_at}\n%%EOF\n").as_bytes());
        Ok(Written { tail: out, offsets })
    }
}

impl ObjectSink for Update<'_> {
    fn new_id(&mut self) -> ObjectId {
        let id = (self.next_number, 0);
        self.next_number += 1;
        id
    }

    fn put_raw(&mut self, id: ObjectId, body: Vec<u8>) {
        self.objects.insert(id, body);
    }
}

/// The written objects grouped into runs of consecutive object numbers (xref subsections).
fn runs(offsets: &BTreeMap<ObjectId, usize>) -> Vec<Vec<(ObjectId, usize)>> {
    let mut runs: Vec<Vec<(ObjectId, usize)>> = Vec::new();
    for (id, offset) in offsets {
        match runs.last_mut() {
            Some(run) if run.last().is_some_and(|(last, _)| last.0 + 1 == id.0) => {
                run.push((*id, *offset));
            }
            _ => runs.push(vec![(*id, *offset)]),
        }
    }
    runs
}
