//! Verification protocols as PDF files of their own (SVC: a certified protocol of a
//! verification): the text a caller composed — a title, headings, label and value pairs and
//! paragraphs — set on A4 pages in DejaVu Sans, wrapped to the page and continued on as many
//! pages as it needs, each with a footer and its page number. The file is made unsigned; the
//! platform seals it afterwards like any PDF (PAdES, through this plugin's signing).

use std::collections::BTreeMap;

use lopdf::{Dictionary, Object, ObjectId, StringFormat};
use mubadile_plugin_api::PluginError;

use crate::font::{self, SubsetFont};
use crate::objects::ObjectSink;
use crate::{date, serialize};
use sha2::Digest;

/// A4 in points.
const PAGE: (f64, f64) = (595.0, 842.0);
/// Blank space around the text, in points.
const MARGIN: f64 = 56.0;
/// The width of the label column of a field.
const LABEL_WIDTH: f64 = 150.0;
/// Line height as a multiple of the font size.
const LEADING: f64 = 1.35;
/// Font sizes in points.
const TITLE_SIZE: f64 = 15.0;
const HEADING_SIZE: f64 = 11.5;
const BODY_SIZE: f64 = 9.5;
const FOOTER_SIZE: f64 = 7.5;
/// Colours (RGB): text, labels and footer, headings.
const INK: &str = "0.1 0.1 0.12";
const GREY: &str = "0.38 0.38 0.42";
const BLUE: &str = "0.1 0.2 0.55";

/// A piece of a protocol's text, laid out top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// The heading of the whole protocol, large.
    Title(String),
    /// The heading of a section.
    Heading(String),
    /// A label in the left column and its value beside it.
    Field {
        /// What the value is.
        label: String,
        /// The value; wrapped within its column.
        value: String,
    },
    /// A paragraph across the page.
    Text(String),
}

/// A protocol to be set as a PDF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protocol {
    /// The document's title in its metadata (/Info /Title).
    pub title: String,
    /// The text, in order.
    pub blocks: Vec<Block>,
    /// A line at the foot of every page, before the page number.
    pub footer: String,
    /// When it was made, Unix seconds (/Info /CreationDate).
    pub created: i64,
}

impl Protocol {
    /// The protocol as an unsigned PDF; refused when its text has a letter DejaVu Sans lacks.
    pub fn to_pdf(&self) -> Result<Vec<u8>, PluginError> {
        let mut font = SubsetFont::new()?;
        let pages = self.lay_out(&font)?;
        let count = pages.len();

        // Every page's text is encoded first, so the font subset holds every glyph used.
        let mut contents = Vec::with_capacity(count);
        for (n, lines) in pages.iter().enumerate() {
            let mut content = String::new();
            for line in lines {
                line.draw(&mut content, &mut font)?;
            }
            let footer = Line {
                x: MARGIN,
                y: MARGIN - 2.0 * FOOTER_SIZE,
                size: FOOTER_SIZE,
                colour: GREY,
                text: format!("{} · {}/{count}", self.footer, n + 1),
            };
            footer.draw(&mut content, &mut font)?;
            contents.push(content);
        }

        let mut file = NewFile::default();
        let catalog = file.new_id();
        let page_tree = file.new_id();
        let font_id = font.write(&mut file)?;
        let mut kids = Vec::with_capacity(count);
        for content in contents {
            let content_id = file.new_id();
            file.put_stream(content_id, Dictionary::new(), content.as_bytes())?;
            let page = file.new_id();
            file.put(
                page,
                &Object::Dictionary(Dictionary::from_iter([
                    ("Type", Object::Name(b"Page".to_vec())),
                    ("Parent", Object::Reference(page_tree)),
                    (
                        "MediaBox",
                        Object::Array(
                            [0.0, 0.0, PAGE.0, PAGE.1]
                                .into_iter()
                                .map(|v| Object::Integer(v as i64))
                                .collect(),
                        ),
                    ),
                    ("Resources", font::resources(font_id)),
                    ("Contents", Object::Reference(content_id)),
                ])),
            )?;
            kids.push(Object::Reference(page));
        }
        file.put(
            page_tree,
            &Object::Dictionary(Dictionary::from_iter([
                ("Type", Object::Name(b"Pages".to_vec())),
                ("Kids", Object::Array(kids)),
                ("Count", Object::Integer(count as i64)),
            ])),
        )?;
        file.put(
            catalog,
            &Object::Dictionary(Dictionary::from_iter([
                ("Type", Object::Name(b"Catalog".to_vec())),
                ("Pages", Object::Reference(page_tree)),
            ])),
        )?;
        let info = file.new_id();
        file.put(
            info,
            &Object::Dictionary(Dictionary::from_iter([
                ("Title", text_string(&self.title)),
                ("Producer", text_string("Mübadilə")),
                (
                    "CreationDate",
                    Object::string_literal(date::format(self.created)),
                ),
            ])),
        )?;
        file.finish(catalog, info)
    }

    /// The text broken into lines and the lines into pages.
    fn lay_out(&self, font: &SubsetFont) -> Result<Vec<Vec<Line>>, PluginError> {
        let mut pages = vec![Vec::new()];
        let mut y = PAGE.1 - MARGIN;
        let width = PAGE.0 - 2.0 * MARGIN;
        // Starts a new page when `height` more points do not fit on this one.
        let room = |pages: &mut Vec<Vec<Line>>, y: &mut f64, height: f64| {
            if *y - height < MARGIN && pages.last().is_some_and(|p| !p.is_empty()) {
                pages.push(Vec::new());
                *y = PAGE.1 - MARGIN;
            }
        };
        for block in &self.blocks {
            match block {
                Block::Title(text) | Block::Heading(text) => {
                    let (size, gap) = match block {
                        Block::Title(_) => (TITLE_SIZE, 0.6),
                        _ => (HEADING_SIZE, 0.9),
                    };
                    let lines = font.wrap(text, size, width)?;
                    // A heading keeps at least one line of what follows on its page.
                    let height = size * (gap + LEADING * lines.len() as f64) + BODY_SIZE * 2.0;
                    room(&mut pages, &mut y, height);
                    y -= size * gap;
                    for text in lines {
                        y -= size * LEADING;
                        push(&mut pages, MARGIN, y, size, BLUE, text);
                    }
                    y -= size * 0.3;
                }
                Block::Field { label, value } => {
                    let labels = font.wrap(label, BODY_SIZE, LABEL_WIDTH - 8.0)?;
                    let values = font.wrap(value, BODY_SIZE, width - LABEL_WIDTH)?;
                    for n in 0..labels.len().max(values.len()) {
                        room(&mut pages, &mut y, BODY_SIZE * LEADING);
                        y -= BODY_SIZE * LEADING;
                        if let Some(label) = labels.get(n) {
                            push(&mut pages, MARGIN, y, BODY_SIZE, GREY, label.clone());
                        }
                        if let Some(value) = values.get(n) {
                            let x = MARGIN + LABEL_WIDTH;
                            push(&mut pages, x, y, BODY_SIZE, INK, value.clone());
                        }
                    }
                }
                Block::Text(text) => {
                    y -= BODY_SIZE * 0.4;
                    for line in font.wrap(text, BODY_SIZE, width)? {
                        room(&mut pages, &mut y, BODY_SIZE * LEADING);
                        y -= BODY_SIZE * LEADING;
                        push(&mut pages, MARGIN, y, BODY_SIZE, INK, line);
                    }
                }
            }
        }
        Ok(pages)
    }
}

/// A line of text at a place on its page.
#[derive(Debug)]
struct Line {
    x: f64,
    y: f64,
    size: f64,
    colour: &'static str,
    text: String,
}

impl Line {
    /// Appends the operators that show the line to `content`.
    fn draw(&self, content: &mut String, font: &mut SubsetFont) -> Result<(), PluginError> {
        content.push_str(&format!(
            "BT /F1 {:.2} Tf {} rg 1 0 0 1 {:.2} {:.2} Tm {} Tj ET\n",
            self.size,
            self.colour,
            self.x,
            self.y,
            font.encode(&self.text)?
        ));
        Ok(())
    }
}

fn push(pages: &mut [Vec<Line>], x: f64, y: f64, size: f64, colour: &'static str, text: String) {
    if let Some(page) = pages.last_mut() {
        page.push(Line {
            x,
            y,
            size,
            colour,
            text,
        });
    }
}

/// A text string in UTF-16BE with its byte order mark (ISO 32000-1 7.9.2.2), for any letter.
fn text_string(text: &str) -> Object {
    let mut bytes = vec![0xFE, 0xFF];
    bytes.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    Object::String(bytes, StringFormat::Hexadecimal)
}

/// A PDF file written from nothing: its objects, numbered from 1, then a cross-reference table
/// and the trailer (ISO 32000-1 7.5).
#[derive(Default)]
struct NewFile {
    objects: BTreeMap<u32, Vec<u8>>,
    last_number: u32,
}

impl ObjectSink for NewFile {
    fn new_id(&mut self) -> ObjectId {
        self.last_number += 1;
        (self.last_number, 0)
    }

    fn put_raw(&mut self, id: ObjectId, body: Vec<u8>) {
        self.objects.insert(id.0, body);
    }
}

impl NewFile {
    /// The file, whose catalog is `root` and document information `info`.
    fn finish(self, root: ObjectId, info: ObjectId) -> Result<Vec<u8>, PluginError> {
        // A binary comment after the header marks the file as binary (7.5.2).
        let mut out = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
        let mut offsets = Vec::with_capacity(self.objects.len());
        for number in 1..=self.last_number {
            let body = self.objects.get(&number).ok_or_else(|| {
                PluginError::internal(format!("object {number} of the protocol was not written"))
            })?;
            offsets.push(out.len());
            out.extend_from_slice(format!("{number} 0 obj\n").as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref_at = out.len();
        out.extend_from_slice(format!("xref\n0 {}\n", offsets.len() + 1).as_bytes());
        out.extend_from_slice(b"0000000000 65535 f\r\n");
        for offset in &offsets {
            out.extend_from_slice(format!("{offset:010} 00000 n\r\n").as_bytes());
        }
        // The file identifier (14.4): a digest of the body, the same for both halves at first.
        let id = sha2::Sha256::digest(&out)[..16].to_vec();
        let trailer = Dictionary::from_iter([
            ("Size", Object::Integer(offsets.len() as i64 + 1)),
            ("Root", Object::Reference(root)),
            ("Info", Object::Reference(info)),
            (
                "ID",
                Object::Array(vec![
                    Object::String(id.clone(), StringFormat::Hexadecimal),
                    Object::String(id, StringFormat::Hexadecimal),
                ]),
            ),
        ]);
        out.extend_from_slice(b"trailer\n");
        serialize::write(&mut out, &Object::Dictionary(trailer))?;
        out.extend_from_slice(format!("\nstartxref\n{xref_at}\n%%EOF\n").as_bytes());
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn protocol(blocks: Vec<Block>) -> Protocol {
        Protocol {
            title: "Yoxlama protokolu".into(),
            blocks,
            footer: "Mübadilə".into(),
            created: 1_780_000_000,
        }
    }

    #[test]
    fn a_long_protocol_continues_on_further_pages_that_lopdf_reads_back() {
        let mut blocks = vec![Block::Title(
            "Elektron imzaların yoxlanılması protokolu".into(),
        )];
        for n in 0..120 {
            blocks.push(Block::Field {
                label: format!("Sahə {n}"),
                value: format!("dəyər {n}"),
            });
        }
        let pdf = protocol(blocks).to_pdf().unwrap();
        let document = lopdf::Document::load_mem(&pdf).unwrap();
        let pages = document.get_pages();
        assert!(pages.len() >= 3, "{} pages", pages.len());
        assert_eq!(
            document.trailer.get(b"Size").unwrap().as_i64().unwrap() as u32,
            document.max_id + 1
        );
    }

    #[test]
    fn a_letter_the_font_lacks_is_refused_with_the_letter_named() {
        let error = protocol(vec![Block::Text("漢".into())])
            .to_pdf()
            .unwrap_err();
        assert!(error.message.contains("U+6F22"), "{}", error.message);
    }
}
