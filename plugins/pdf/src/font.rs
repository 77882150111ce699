//! The font of visible signature stamps and verification protocols: DejaVu Sans (`fonts/`, Bitstream Vera licence), which
//! has every Azerbaijani letter (ə, ğ, ı, İ, ö, ş, ü, ç and their capitals). It is embedded as a
//! composite font (ISO 32000-1 9.7): a Type0 font with Identity-H encoding over a CIDFontType2
//! descendant whose CIDs are the glyph ids of a subset of the TrueType file (FontFile2), with a
//! /W array for the glyphs used and a /ToUnicode CMap so the text can be extracted again.

use std::collections::BTreeMap;

use lopdf::{Dictionary, Object, ObjectId};
use mubadile_plugin_api::PluginError;
use sha2::{Digest, Sha256};
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::{GlyphMetrics, Metrics};
use skrifa::{FontRef, MetadataProvider};
use subsetter::GlyphRemapper;

use crate::objects::ObjectSink;

/// DejaVu Sans, whole; only the glyphs a text uses are embedded.
const DEJAVU_SANS: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
/// The font's name in the PDF, after the subset's tag.
const NAME: &str = "DejaVuSans";
/// Entries per `beginbfchar` block: a CMap allows at most 100 (Adobe TN 5014).
const BFCHAR_BLOCK: usize = 100;

/// The resource dictionary of a page or form whose text is set in `font`, named /F1.
pub fn resources(font: ObjectId) -> Object {
    Object::Dictionary(Dictionary::from_iter([(
        "Font",
        Object::Dictionary(Dictionary::from_iter([("F1", Object::Reference(font))])),
    )]))
}

/// Text set in DejaVu Sans: the glyphs used so far, renumbered for the subset.
pub struct SubsetFont {
    font: FontRef<'static>,
    /// The font's own metrics, in font units.
    metrics: Metrics,
    /// The glyphs' advances, in font units.
    advances: GlyphMetrics<'static>,
    remapper: GlyphRemapper,
    /// For each glyph id of the subset: the character it shows and its width in 1/1000 em.
    used: BTreeMap<u16, (char, i64)>,
}

impl SubsetFont {
    /// The font with no glyph used yet.
    pub fn new() -> Result<SubsetFont, PluginError> {
        let font = FontRef::new(DEJAVU_SANS)
            .map_err(|e| PluginError::internal(format!("the embedded font is damaged: {e}")))?;
        Ok(SubsetFont {
            metrics: font.metrics(Size::unscaled(), LocationRef::default()),
            advances: font.glyph_metrics(Size::unscaled(), LocationRef::default()),
            font,
            remapper: GlyphRemapper::new(),
            used: BTreeMap::new(),
        })
    }

    /// The width of `text` at size 1, in text space units.
    pub fn width(&self, text: &str) -> Result<f64, PluginError> {
        let mut width = 0;
        for c in text.chars() {
            width += self.glyph(c)?.1;
        }
        Ok(width as f64 / 1000.0)
    }

    /// `text` broken into lines no wider than `width` points at `size`: at spaces, and inside a
    /// word only when the word alone is wider (a hash, a URL). Line breaks in `text` are kept;
    /// other control characters become spaces.
    pub fn wrap(&self, text: &str, size: f64, width: f64) -> Result<Vec<String>, PluginError> {
        let fits = |s: &str| -> Result<bool, PluginError> { Ok(self.width(s)? * size <= width) };
        let mut lines = Vec::new();
        for paragraph in text.split('\n') {
            let paragraph: String = paragraph
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            let mut line = String::new();
            for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
                let joined = if line.is_empty() {
                    word.to_owned()
                } else {
                    format!("{line} {word}")
                };
                if fits(&joined)? {
                    line = joined;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                // A word wider than the line is cut where it must be.
                for c in word.chars() {
                    line.push(c);
                    if !fits(&line)? {
                        line.pop();
                        lines.push(std::mem::take(&mut line));
                        line.push(c);
                    }
                }
            }
            lines.push(line);
        }
        Ok(lines)
    }

    /// `text` as the string operand of `Tj`: a hexadecimal string of two-byte subset glyph ids.
    pub fn encode(&mut self, text: &str) -> Result<String, PluginError> {
        let mut hex = String::from("<");
        for c in text.chars() {
            let (glyph, width) = self.glyph(c)?;
            let new = self.remapper.remap(glyph);
            self.used.entry(new).or_insert((c, width));
            hex.push_str(&format!("{new:04X}"));
        }
        hex.push('>');
        Ok(hex)
    }

    /// Writes the Type0 font with its descendant, descriptor, subset and ToUnicode CMap into
    /// `update`; the Type0 font's id.
    pub fn write(self, update: &mut impl ObjectSink) -> Result<ObjectId, PluginError> {
        let subset = subsetter::subset(DEJAVU_SANS, 0, &self.remapper).map_err(|e| {
            PluginError::internal(format!("the embedded font could not be subset: {e}"))
        })?;
        // A subset's name starts with six capital letters that tell subsets apart (9.6.4).
        let tag: String = Sha256::digest(&subset)
            .iter()
            .take(6)
            .map(|b| char::from(b'A' + b % 26))
            .collect();
        let base_font = Object::Name(format!("{tag}+{NAME}").into_bytes());
        let scale = |v: f32| self.per_mille(v);

        let file_id = update.new_id();
        let length = i64::try_from(subset.len())
            .map_err(|_| PluginError::internal("the embedded font is too large"))?;
        update.put_stream(
            file_id,
            Dictionary::from_iter([("Length1", Object::Integer(length))]),
            &subset,
        )?;

        let bbox = self.metrics.bounds.unwrap_or_default();
        let descriptor_id = update.new_id();
        update.put(
            descriptor_id,
            &Object::Dictionary(Dictionary::from_iter([
                ("Type", Object::Name(b"FontDescriptor".to_vec())),
                ("FontName", base_font.clone()),
                // Nonsymbolic (9.8.2): the glyphs are Latin letters.
                ("Flags", Object::Integer(32)),
                (
                    "FontBBox",
                    Object::Array(
                        [bbox.x_min, bbox.y_min, bbox.x_max, bbox.y_max]
                            .into_iter()
                            .map(|v| Object::Integer(scale(v)))
                            .collect(),
                    ),
                ),
                ("ItalicAngle", Object::Integer(0)),
                ("Ascent", Object::Integer(scale(self.metrics.ascent))),
                ("Descent", Object::Integer(scale(self.metrics.descent))),
                (
                    "CapHeight",
                    Object::Integer(scale(self.metrics.cap_height.unwrap_or(0.0))),
                ),
                ("StemV", Object::Integer(80)),
                ("FontFile2", Object::Reference(file_id)),
            ])),
        )?;

        let widths = self
            .used
            .iter()
            .flat_map(|(glyph, (_, width))| {
                [
                    Object::Integer(i64::from(*glyph)),
                    Object::Array(vec![Object::Integer(*width)]),
                ]
            })
            .collect();
        let cid_font_id = update.new_id();
        update.put(
            cid_font_id,
            &Object::Dictionary(Dictionary::from_iter([
                ("Type", Object::Name(b"Font".to_vec())),
                ("Subtype", Object::Name(b"CIDFontType2".to_vec())),
                ("BaseFont", base_font.clone()),
                (
                    "CIDSystemInfo",
                    Object::Dictionary(Dictionary::from_iter([
                        ("Registry", Object::string_literal("Adobe")),
                        ("Ordering", Object::string_literal("Identity")),
                        ("Supplement", Object::Integer(0)),
                    ])),
                ),
                ("FontDescriptor", Object::Reference(descriptor_id)),
                ("W", Object::Array(widths)),
                // CIDs are the subset's glyph ids.
                ("CIDToGIDMap", Object::Name(b"Identity".to_vec())),
            ])),
        )?;

        let to_unicode_id = update.new_id();
        update.put_stream(
            to_unicode_id,
            Dictionary::new(),
            self.to_unicode().as_bytes(),
        )?;

        let font_id = update.new_id();
        update.put(
            font_id,
            &Object::Dictionary(Dictionary::from_iter([
                ("Type", Object::Name(b"Font".to_vec())),
                ("Subtype", Object::Name(b"Type0".to_vec())),
                ("BaseFont", base_font),
                ("Encoding", Object::Name(b"Identity-H".to_vec())),
                (
                    "DescendantFonts",
                    Object::Array(vec![Object::Reference(cid_font_id)]),
                ),
                ("ToUnicode", Object::Reference(to_unicode_id)),
            ])),
        )?;
        Ok(font_id)
    }

    /// The original glyph id of `c` and its width in 1/1000 em.
    fn glyph(&self, c: char) -> Result<(u16, i64), PluginError> {
        let glyph = self.font.charmap().map(c).ok_or_else(|| {
            PluginError::bad_request(format!(
                "the text cannot show {c:?} (U+{:04X}): its font, DejaVu Sans, has no such letter",
                u32::from(c)
            ))
        })?;
        // DejaVu Sans has fewer than 65,536 glyphs, as a TrueType font must (`maxp`).
        let id = u16::try_from(glyph.to_u32())
            .map_err(|_| PluginError::internal("the embedded font's glyph id is out of range"))?;
        let advance = self.advances.advance_width(glyph).unwrap_or(0.0);
        Ok((id, self.per_mille(advance)))
    }

    /// `v` font units in 1/1000 em, truncated toward zero as PDF widths and metrics are written.
    fn per_mille(&self, v: f32) -> i64 {
        let units = i64::from(self.metrics.units_per_em.max(1));
        // Font metrics are whole font units well inside i32 (TrueType stores them as i16/u16).
        (f64::from(v).round() as i64) * 1000 / units
    }

    /// The CMap from the subset's glyph ids to the characters they show (9.10.3).
    fn to_unicode(&self) -> String {
        let mut cmap = String::from(
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
             /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
             /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
             1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
        );
        let entries: Vec<_> = self.used.iter().collect();
        for block in entries.chunks(BFCHAR_BLOCK) {
            cmap.push_str(&format!("{} beginbfchar\n", block.len()));
            for (glyph, (c, _)) in block {
                let utf16: String = c
                    .encode_utf16(&mut [0; 2])
                    .iter()
                    .map(|u| format!("{u:04X}"))
                    .collect();
                cmap.push_str(&format!("<{glyph:04X}> <{utf16}>\n"));
            }
            cmap.push_str("endbfchar\n");
        }
        cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
        cmap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_break_at_spaces_and_inside_words_only_when_a_word_is_wider_than_the_line() {
        let font = SubsetFont::new().unwrap();
        let lines = font
            .wrap("İmza müsbətdir və sənəd dəyişməyib", 9.5, 80.0)
            .unwrap();
        assert!(lines.len() > 1);
        assert_eq!(lines.join(" "), "İmza müsbətdir və sənəd dəyişməyib");
        for line in &lines {
            assert!(font.width(line).unwrap() * 9.5 <= 80.0, "{line}");
        }
        let hash = "ab".repeat(32);
        let cut = font.wrap(&hash, 9.5, 100.0).unwrap();
        assert!(cut.len() > 1);
        assert_eq!(cut.concat(), hash);
        assert_eq!(
            font.wrap("one\ntwo\tthree", 9.5, 400.0).unwrap(),
            ["one", "two three"]
        );
    }
}
