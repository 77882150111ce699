//! The text of a signed PDF, for archivists' full-text search (EDE 7.1.3): what the pages of
//! the revision the first signature signed show (SVR 4.2.1: what the signer saw, whatever later
//! revisions added), each string read through its font's /ToUnicode map or encoding (lopdf),
//! forms drawn on a page included. A new line where the text moves down a line; nothing between
//! pieces set on one line, so a word is never split (a search looks for words inside the text).
//!
//! A hostile file cannot make it costly: every stream decoded (page contents, forms, /ToUnicode
//! maps) counts against one budget, the text stops at [`MAX_TEXT`], forms nest only so deep,
//! and a panic inside the parser gives no text rather than bringing the caller down.

use std::collections::{BTreeMap, HashMap};

use lopdf::content::Content;
use lopdf::{Dictionary, Document, Encoding, Object, ObjectId, Stream};
use mubadile_plugin_api::MAX_TEXT;

use crate::fields::SignatureKind;
use crate::read::{self, SignedPdf};

/// The most bytes decoded for one document: page contents, forms and /ToUnicode maps together.
const MAX_DECODED: usize = 64 << 20;
/// The most bytes one font's /ToUnicode map may decode to (a whole CJK font's is about 2 MB).
const MAX_TO_UNICODE: usize = 8 << 20;
/// How deeply forms drawn inside forms are followed.
const MAX_FORM_DEPTH: usize = 8;

/// The text of the revision the first signature of `file` signed; `None` when the file cannot
/// be read, has no signature, its first signature does not mark a whole revision, or its pages
/// show no text this reader can tell (scanned images, fonts without a way back to Unicode).
pub fn signed_text(file: &[u8]) -> Option<String> {
    std::panic::catch_unwind(|| extract(file)).ok().flatten()
}

fn extract(file: &[u8]) -> Option<String> {
    let signed = SignedPdf::read(file).ok()?;
    let first = signed
        .signatures
        .iter()
        .find(|s| s.kind != SignatureKind::DocumentTimestamp)?;
    if !first.coverage.problems.is_empty() {
        return None;
    }
    let reparsed;
    let document = if first.coverage.revision == Some(signed.revisions.len() - 1) {
        &signed.document
    } else {
        reparsed = read::parse(&file[..first.coverage.end()]).ok()?;
        &reparsed
    };
    let mut reader = Reader::new(document);
    for page in document.get_pages().into_values() {
        if reader.page(page).is_err() {
            break;
        }
    }
    let text = reader.text;
    (!text.trim().is_empty()).then_some(text)
}

/// Why reading stopped early: the budget is spent or the text is full. What was read is kept.
struct Stop;

/// The fonts and forms a content stream can name.
#[derive(Default, Clone)]
struct Resources<'a> {
    fonts: BTreeMap<Vec<u8>, &'a Dictionary>,
    forms: BTreeMap<Vec<u8>, &'a Stream>,
}

/// Reads text out of one document's pages, within the budget.
struct Reader<'a> {
    document: &'a Document,
    /// Bytes that may still be decoded.
    budget: usize,
    /// Each font's encoding, once read; keyed by the font dictionary's address in `document`,
    /// which is not changed while it is read. `None`: the font's text cannot be told.
    encodings: HashMap<*const Dictionary, Option<Encoding<'a>>>,
    text: String,
}

/// Where the text being shown stands: its font and the height of its line.
#[derive(Default)]
struct State {
    /// The name of the font set by `Tf`.
    font: Option<Vec<u8>>,
    /// The vertical position of the line, in the units of the operators that moved it: only
    /// compared, to tell a new line.
    line: f64,
    /// The line on which text was last shown.
    shown_on: Option<f64>,
}

impl<'a> Reader<'a> {
    fn new(document: &'a Document) -> Reader<'a> {
        Reader {
            document,
            budget: MAX_DECODED,
            encodings: HashMap::new(),
            text: String::new(),
        }
    }

    fn page(&mut self, page: ObjectId) -> Result<(), Stop> {
        let document = self.document;
        let content = document
            .get_page_content_with_limit(page, self.budget)
            .map_err(|_| Stop)?;
        self.spend(content.len())?;
        let mut resources = Resources {
            fonts: document.get_page_fonts(page).unwrap_or_default(),
            forms: BTreeMap::new(),
        };
        if let Ok((direct, referenced)) = document.get_page_resources(page) {
            let referenced = referenced
                .into_iter()
                .filter_map(|id| document.get_dictionary(id).ok());
            for dictionary in direct.into_iter().chain(referenced) {
                for (name, form) in self.forms_of(dictionary) {
                    resources.forms.entry(name).or_insert(form);
                }
            }
        }
        self.content(&content, &resources, 0)?;
        self.new_line();
        Ok(())
    }

    /// Reads the text operators of one content stream (ISO 32000-1 9.4).
    fn content(
        &mut self,
        content: &[u8],
        resources: &Resources<'a>,
        depth: usize,
    ) -> Result<(), Stop> {
        let mut state = State::default();
        for operation in Content::decode_iter(content) {
            let Ok(operation) = operation else { break };
            let operands = &operation.operands;
            let number = |i: usize| operands.get(i).and_then(|o| o.as_float().ok());
            match operation.operator.as_str() {
                "Tf" => {
                    state.font = operands
                        .first()
                        .and_then(|o| o.as_name().ok())
                        .map(<[u8]>::to_vec);
                }
                "Td" | "TD" => state.line += f64::from(number(1).unwrap_or(0.0)),
                "Tm" => state.line = f64::from(number(5).unwrap_or(0.0)),
                "T*" => state.line -= 1.0,
                "Tj" | "TJ" => self.show(&mut state, resources, operands)?,
                "'" => {
                    state.line -= 1.0;
                    self.show(&mut state, resources, operands)?;
                }
                "\"" => {
                    state.line -= 1.0;
                    self.show(&mut state, resources, operands.get(2..).unwrap_or_default())?;
                }
                "Do" if depth < MAX_FORM_DEPTH => {
                    let name = operands.first().and_then(|o| o.as_name().ok());
                    if let Some(form) = name.and_then(|n| resources.forms.get(n)) {
                        self.form(form, resources, depth + 1)?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// A form XObject drawn by `Do` (ISO 32000-1 8.10), with its own resources or, when it has
    /// none, those of what draws it.
    fn form(&mut self, form: &'a Stream, outer: &Resources<'a>, depth: usize) -> Result<(), Stop> {
        let content = form
            .decompressed_content_with_limit(self.budget)
            .map_err(|_| Stop)?;
        self.spend(content.len())?;
        let own = form
            .dict
            .get(b"Resources")
            .and_then(|r| self.document.dereference(r))
            .and_then(|(_, r)| r.as_dict());
        let resources = match own {
            Ok(dictionary) => Resources {
                fonts: self.fonts_of(dictionary),
                forms: self.forms_of(dictionary),
            },
            Err(_) => outer.clone(),
        };
        self.new_line();
        self.content(&content, &resources, depth)?;
        self.new_line();
        Ok(())
    }

    /// Appends the strings of a text-showing operator in the current font.
    fn show(
        &mut self,
        state: &mut State,
        resources: &Resources<'a>,
        operands: &[Object],
    ) -> Result<(), Stop> {
        let Some(&font) = state
            .font
            .as_ref()
            .and_then(|name| resources.fonts.get(name))
        else {
            return Ok(());
        };
        if state.shown_on.is_some_and(|line| line != state.line) {
            self.new_line();
        }
        state.shown_on = Some(state.line);
        let mut shown = String::new();
        if let Some(encoding) = self.encoding(font)? {
            decode(encoding, operands, &mut shown);
        }
        // Control characters (a NUL from a broken map) are not text, and PostgreSQL refuses NUL.
        let clean = shown.chars().map(|c| if c.is_control() { ' ' } else { c });
        self.text.extend(clean);
        if self.text.len() >= MAX_TEXT {
            let mut end = MAX_TEXT;
            while !self.text.is_char_boundary(end) {
                end -= 1;
            }
            self.text.truncate(end);
            return Err(Stop);
        }
        Ok(())
    }

    /// The encoding of `font`, read once; its /ToUnicode map counts against the budget.
    fn encoding(&mut self, font: &'a Dictionary) -> Result<Option<&Encoding<'a>>, Stop> {
        let key = std::ptr::from_ref(font);
        if !self.encodings.contains_key(&key) {
            let document = self.document;
            let to_unicode = font
                .get(b"ToUnicode")
                .and_then(|o| document.dereference(o))
                .and_then(|(_, o)| o.as_stream());
            let limit = self.budget.min(MAX_TO_UNICODE);
            if let Ok(stream) = to_unicode {
                // Decoded here to count it; lopdf decodes it again, within the same limit.
                let decoded = stream
                    .decompressed_content_with_limit(limit)
                    .map_err(|_| Stop)?;
                self.spend(decoded.len())?;
            }
            let encoding = font.get_font_encoding_with_limit(document, limit).ok();
            self.encodings.insert(key, encoding);
        }
        Ok(self.encodings.get(&key).and_then(Option::as_ref))
    }

    fn fonts_of(&self, resources: &'a Dictionary) -> BTreeMap<Vec<u8>, &'a Dictionary> {
        self.named(resources, b"Font")
            .filter_map(|(name, object)| Some((name, object.as_dict().ok()?)))
            .collect()
    }

    fn forms_of(&self, resources: &'a Dictionary) -> BTreeMap<Vec<u8>, &'a Stream> {
        self.named(resources, b"XObject")
            .filter_map(|(name, object)| {
                let stream = object.as_stream().ok()?;
                let subtype = stream.dict.get(b"Subtype").and_then(Object::as_name);
                (subtype.ok()? == b"Form").then_some((name, stream))
            })
            .collect()
    }

    /// The entries of the resource category `category` (/Font, /XObject), dereferenced.
    fn named(
        &self,
        resources: &'a Dictionary,
        category: &[u8],
    ) -> impl Iterator<Item = (Vec<u8>, &'a Object)> + use<'a> {
        let document = self.document;
        let entries = resources
            .get(category)
            .and_then(|o| document.dereference(o))
            .and_then(|(_, o)| o.as_dict())
            .ok();
        entries.into_iter().flat_map(move |entries| {
            entries.iter().filter_map(move |(name, value)| {
                Some((name.clone(), document.dereference(value).ok()?.1))
            })
        })
    }

    fn spend(&mut self, bytes: usize) -> Result<(), Stop> {
        self.budget = self.budget.checked_sub(bytes).ok_or(Stop)?;
        Ok(())
    }

    fn new_line(&mut self) {
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
    }
}

/// The text of the strings among `operands` (a `TJ` array's numbers are only spacing).
fn decode(encoding: &Encoding<'_>, operands: &[Object], out: &mut String) {
    for operand in operands {
        match operand {
            // A string the encoding cannot read adds nothing.
            Object::String(bytes, _) => encoding.write_to_string(bytes, out).unwrap_or(()),
            Object::Array(items) => decode(encoding, items, out),
            _ => {}
        }
    }
}
