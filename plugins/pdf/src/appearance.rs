//! Visible signature stamps: the widget's normal appearance (/AP /N, ISO 32000-1 12.5.5), a form
//! XObject showing the signer's name, position and organisation, the signing time in Baku time
//! (CSP 6.3) and the document's registration number and date (EDE 3.1), in the embedded font.

use chrono::{DateTime, NaiveDate};
use chrono_tz::Asia::Baku;
use lopdf::{Dictionary, Document, Object, ObjectId};
use mubadile_plugin_api::{PluginError, SignatureAppearance};

use crate::font::{self, SubsetFont};
use crate::incremental::Update;
use crate::objects::ObjectSink;

/// The stamp's heading.
const HEADING: &str = "Elektron imza ilə imzalanıb";
/// Blank space inside the frame, in points.
const PADDING: f64 = 4.0;
/// Line height as a multiple of the font size.
const LEADING: f64 = 1.25;
/// The largest font size, in points; smaller when the rectangle needs it.
const MAX_SIZE: f64 = 9.0;
/// Below this font size the text would not be legible: the rectangle is refused.
const MIN_SIZE: f64 = 3.0;

/// A visible stamp to draw: what the request asks for, at the signing time it claims.
pub struct Stamp<'a> {
    /// Placement and details.
    pub appearance: &'a SignatureAppearance,
    /// The signing time, Unix seconds.
    pub signing_time: i64,
}

impl Stamp<'_> {
    /// The page the stamp goes on, refused when `document` has no such page or the stamp's
    /// rectangle leaves the page's visible area (its CropBox, else its MediaBox).
    pub fn page(&self, document: &Document) -> Result<ObjectId, PluginError> {
        let pages = document.get_pages();
        let page = pages.get(&self.appearance.page).copied().ok_or_else(|| {
            PluginError::bad_request(format!(
                "the signature stamp cannot go on page {}: the PDF has {} page(s), counted from 1",
                self.appearance.page,
                pages.len()
            ))
        })?;
        let [x1, y1, x2, y2] = self.rect()?.map(f64::from);
        if let Some([left, bottom, right, top]) = visible_box(document, page)
            && (x1 < left || y1 < bottom || x2 > right || y2 > top)
        {
            return Err(PluginError::bad_request(format!(
                "the signature stamp's rectangle [{x1} {y1} {x2} {y2}] leaves page {}, whose \
                 visible area is [{left} {bottom} {right} {top}]: choose a rectangle inside it",
                self.appearance.page
            )));
        }
        Ok(page)
    }

    /// The widget's rectangle, refused when it is empty.
    pub fn rect(&self) -> Result<[i32; 4], PluginError> {
        let [x1, y1, x2, y2] = self.appearance.rect;
        if x2 <= x1 || y2 <= y1 {
            return Err(PluginError::bad_request(format!(
                "the signature stamp's rectangle [{x1} {y1} {x2} {y2}] is empty: give \
                 [x1 y1 x2 y2] in points with x1 < x2 and y1 < y2"
            )));
        }
        Ok(self.appearance.rect)
    }

    /// Writes the appearance stream and its font into `update`; the form XObject's id.
    pub fn write(&self, update: &mut Update<'_>) -> Result<ObjectId, PluginError> {
        let [x1, y1, x2, y2] = self.rect()?;
        let (width, height) = (f64::from(x2 - x1), f64::from(y2 - y1));
        let lines = self.lines()?;
        let mut font = SubsetFont::new()?;

        // The largest size up to MAX_SIZE at which every line fits the frame.
        let mut size = MAX_SIZE.min((height - 2.0 * PADDING) / (lines.len() as f64 * LEADING));
        for line in &lines {
            let line_width = font.width(line)?;
            if line_width > 0.0 {
                size = size.min((width - 2.0 * PADDING) / line_width);
            }
        }
        if size < MIN_SIZE {
            return Err(PluginError::bad_request(format!(
                "the signature stamp's rectangle ({width} × {height} points) is too small for its \
                 {} lines of text",
                lines.len()
            )));
        }

        // A dark blue frame and text, the heading first.
        let mut content = format!(
            "q 0.1 0.2 0.55 RG 0.8 w 0.4 0.4 {:.2} {:.2} re S Q\nq 0.1 0.2 0.55 rg BT /F1 {size:.2} Tf\n",
            width - 0.8,
            height - 0.8
        );
        // The lines centred vertically in the frame.
        let top = (height + lines.len() as f64 * LEADING * size) / 2.0;
        for (n, line) in lines.iter().enumerate() {
            let baseline = top - size * (LEADING * n as f64 + 1.0);
            content.push_str(&format!(
                "1 0 0 1 {PADDING:.2} {baseline:.2} Tm {} Tj\n",
                font.encode(line)?
            ));
        }
        content.push_str("ET Q\n");

        let font_id = font.write(update)?;
        let form_id = update.new_id();
        update.put_stream(
            form_id,
            Dictionary::from_iter([
                ("Type", Object::Name(b"XObject".to_vec())),
                ("Subtype", Object::Name(b"Form".to_vec())),
                (
                    "BBox",
                    Object::Array(
                        [0, 0, x2 - x1, y2 - y1]
                            .into_iter()
                            .map(|v| Object::Integer(i64::from(v)))
                            .collect(),
                    ),
                ),
                ("Resources", font::resources(font_id)),
            ]),
            content.as_bytes(),
        )?;
        Ok(form_id)
    }

    /// The stamp's lines: heading, signer, position, organisation, Baku time and registration.
    fn lines(&self) -> Result<Vec<String>, PluginError> {
        let a = self.appearance;
        let time = DateTime::from_timestamp(self.signing_time, 0)
            .ok_or_else(|| PluginError::bad_request("the signing time is out of range"))?
            .with_timezone(&Baku);
        let mut lines = vec![HEADING.to_owned(), a.signer_name.clone()];
        lines.extend(a.position.clone());
        lines.extend(a.organisation.clone());
        lines.push(format!(
            "İmza vaxtı: {} (Bakı vaxtı)",
            time.format("%d.%m.%Y %H:%M:%S")
        ));
        if let Some(number) = &a.registration_number {
            lines.push(format!("Qeydiyyat nömrəsi: {number}"));
        }
        if let Some(date) = &a.registration_date {
            let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| {
                PluginError::bad_request(format!(
                    "the registration date {date:?} is not a date written YYYY-MM-DD"
                ))
            })?;
            lines.push(format!("Qeydiyyat tarixi: {}", date.format("%d.%m.%Y")));
        }
        // Control characters would break the lines apart; the rest is checked by the font.
        if let Some(line) = lines.iter().find(|l| l.chars().any(char::is_control)) {
            return Err(PluginError::bad_request(format!(
                "the signature stamp's text {line:?} has a control character"
            )));
        }
        Ok(lines)
    }
}

/// The page's CropBox, else its MediaBox, looked up through the page tree as they are inherited
/// (ISO 32000-1 7.7.3.4), normalised to [left bottom right top]; `None` when neither is readable.
fn visible_box(document: &Document, page: ObjectId) -> Option<[f64; 4]> {
    let mut node = document.get_dictionary(page).ok()?;
    let mut boxes: [Option<[f64; 4]>; 2] = [None, None];
    for _ in 0..32 {
        for (slot, key) in boxes
            .iter_mut()
            .zip([b"CropBox".as_slice(), b"MediaBox".as_slice()])
        {
            if slot.is_none() {
                *slot = node.get(key).ok().and_then(|o| rectangle(document, o));
            }
        }
        match node.get(b"Parent").and_then(Object::as_reference) {
            Ok(parent) => node = document.get_dictionary(parent).ok()?,
            Err(_) => break,
        }
    }
    let [crop, media] = boxes;
    crop.or(media)
}

fn rectangle(document: &Document, object: &Object) -> Option<[f64; 4]> {
    let object = match object {
        Object::Reference(id) => document.get_object(*id).ok()?,
        other => other,
    };
    let numbers: Vec<f64> = object
        .as_array()
        .ok()?
        .iter()
        .map(|n| n.as_float().map(f64::from).ok())
        .collect::<Option<_>>()?;
    let [a, b, c, d] = numbers.try_into().ok()?;
    Some([a.min(c), b.min(d), a.max(c), b.max(d)])
}
