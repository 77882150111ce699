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
/// How much smaller each try at fitting the text is, in points.
const SIZE_STEP: f64 = 0.25;

/// A visible stamp to draw: what the request asks for, at the signing time it claims.
pub struct Stamp<'a> {
    /// Placement and details.
    pub appearance: &'a SignatureAppearance,
    /// The signing time, Unix seconds.
    pub signing_time: i64,
}

/// Where a stamp goes: its page, its rectangle in the page's default user space, and how the
/// page is turned when displayed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// The page object.
    pub page: ObjectId,
    /// `[x1 y1 x2 y2]` in default user space, for the widget's /Rect.
    pub rect: [f64; 4],
    /// The page's /Rotate: 0, 90, 180 or 270 degrees clockwise.
    pub rotate: i64,
}

impl Placement {
    /// The rectangle's width and height as the page is displayed (turned by its /Rotate).
    fn displayed_size(&self) -> (f64, f64) {
        let [x1, y1, x2, y2] = self.rect;
        match self.rotate {
            90 | 270 => (y2 - y1, x2 - x1),
            _ => (x2 - x1, y2 - y1),
        }
    }
}

impl Stamp<'_> {
    /// Where the stamp goes, refused when `document` has no such page, the rectangle is empty,
    /// or it leaves the page's visible area. The request gives the rectangle as the page is
    /// seen: from the lower left corner of its visible area (the CropBox, else the MediaBox)
    /// and turned as its /Rotate turns it (ISO 32000-1 7.7.3.3); it is turned back into the
    /// page's user space here.
    pub fn place(&self, document: &Document) -> Result<Placement, PluginError> {
        let pages = document.get_pages();
        let number = self.appearance.page.ok_or_else(|| {
            PluginError::bad_request(
                "the signature stamp names no page: give `page` (from 1) and `rect`, or sign \
                 into an existing signature field, whose widget has its own",
            )
        })?;
        let page = pages.get(&number).copied().ok_or_else(|| {
            PluginError::bad_request(format!(
                "the signature stamp cannot go on page {number}: the PDF has {} page(s), counted \
                 from 1",
                pages.len()
            ))
        })?;
        let [x1, y1, x2, y2] = self.rect()?.map(f64::from);
        let [left, bottom, right, top] = visible_box(document, page).ok_or_else(|| {
            PluginError::malformed(format!(
                "page {number} has no readable MediaBox, so a stamp cannot be placed on it"
            ))
        })?;
        let rotate = rotation(document, page);
        let (width, height) = match rotate {
            90 | 270 => (top - bottom, right - left),
            _ => (right - left, top - bottom),
        };
        if x1 < 0.0 || y1 < 0.0 || x2 > width || y2 > height {
            return Err(PluginError::bad_request(format!(
                "the signature stamp's rectangle [{x1} {y1} {x2} {y2}] leaves page {number}, \
                 whose visible area is [0 0 {width} {height}] as displayed: choose a rectangle \
                 inside it"
            )));
        }
        // A point of the page as displayed, in user space.
        let user = |x: f64, y: f64| match rotate {
            90 => (right - y, bottom + x),
            180 => (right - x, top - y),
            270 => (left + y, top - x),
            _ => (left + x, bottom + y),
        };
        let (a, b) = (user(x1, y1), user(x2, y2));
        Ok(Placement {
            page,
            rect: [a.0.min(b.0), a.1.min(b.1), a.0.max(b.0), a.1.max(b.1)],
            rotate,
        })
    }

    /// Where the stamp goes when it fills the existing widget `widget` (object `widget_id`) of
    /// a signature field: the widget's own rectangle, on its page (its /P, else the page that
    /// lists it among its annotations). The request must not place it elsewhere: moving a
    /// widget changes what earlier signers saw.
    pub fn place_in_widget(
        &self,
        document: &Document,
        widget_id: ObjectId,
        widget: &Dictionary,
        field: &str,
    ) -> Result<Placement, PluginError> {
        if self.appearance.page.is_some() || self.appearance.rect.is_some() {
            return Err(PluginError::bad_request(format!(
                "the signature goes into the existing field {field:?}, whose widget has its own                  page and rectangle: leave `page` and `rect` out of the stamp"
            )));
        }
        let pages = document.get_pages();
        let listed = |page: &ObjectId| {
            crate::fields::deref(
                document,
                document
                    .get_dictionary(*page)
                    .ok()
                    .and_then(|p| p.get(b"Annots").ok()),
            )
            .and_then(|a| a.as_array().ok())
            .is_some_and(|a| a.contains(&Object::Reference(widget_id)))
        };
        let page = widget
            .get(b"P")
            .and_then(Object::as_reference)
            .ok()
            .filter(|p| pages.values().any(|v| v == p))
            .or_else(|| pages.values().copied().find(listed))
            .ok_or_else(|| {
                PluginError::malformed(format!(
                    "the widget of signature field {field:?} is on no page, so a stamp cannot be                      shown there"
                ))
            })?;
        let rect = widget
            .get(b"Rect")
            .ok()
            .and_then(|r| rectangle(document, r))
            .filter(|[x1, y1, x2, y2]| x2 > x1 && y2 > y1)
            .ok_or_else(|| {
                PluginError::bad_request(format!(
                    "signature field {field:?} is invisible (its widget has no area), so it                      cannot show a stamp: sign it without one"
                ))
            })?;
        Ok(Placement {
            page,
            rect,
            rotate: rotation(document, page),
        })
    }

    /// The rectangle as the request gives it, refused when it is empty.
    fn rect(&self) -> Result<[i32; 4], PluginError> {
        let [x1, y1, x2, y2] = self.appearance.rect.ok_or_else(|| {
            PluginError::bad_request(
                "the signature stamp has no `rect`: give [x1 y1 x2 y2] in points, or sign into \
                 an existing signature field, whose widget has its own",
            )
        })?;
        if x2 <= x1 || y2 <= y1 {
            return Err(PluginError::bad_request(format!(
                "the signature stamp's rectangle [{x1} {y1} {x2} {y2}] is empty: give \
                 [x1 y1 x2 y2] in points with x1 < x2 and y1 < y2"
            )));
        }
        Ok([x1, y1, x2, y2])
    }

    /// Writes the appearance stream and its font into `update`, upright in `placement` on its
    /// page as displayed; the form XObject's id.
    pub fn write(
        &self,
        update: &mut Update<'_>,
        placement: &Placement,
    ) -> Result<ObjectId, PluginError> {
        let (width, height) = placement.displayed_size();
        let mut font = SubsetFont::new()?;

        // The largest size up to MAX_SIZE at which the lines, wrapped to the frame's width,
        // fit its height.
        let (inner_width, inner_height) = (width - 2.0 * PADDING, height - 2.0 * PADDING);
        let mut size = MAX_SIZE;
        let lines = loop {
            let mut wrapped = Vec::new();
            for line in self.lines()? {
                wrapped.extend(font.wrap(&line, size, inner_width)?);
            }
            if wrapped.len() as f64 * LEADING * size <= inner_height {
                break wrapped;
            }
            size -= SIZE_STEP;
            if size < MIN_SIZE {
                return Err(PluginError::bad_request(format!(
                    "the signature stamp's rectangle ({width} × {height} points) is too small \
                     for its text: give it at least {:.0} × {:.0} points",
                    width.max(120.0),
                    height.max(60.0)
                )));
            }
        };

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
                    Object::Array([0.0, 0.0, width, height].into_iter().map(number).collect()),
                ),
                // Turned against the page's /Rotate so that the stamp reads upright as the
                // page is displayed (ISO 32000-1 12.5.5: the BBox goes through the Matrix, then
                // onto the widget's /Rect).
                (
                    "Matrix",
                    Object::Array(
                        counter_rotation(placement.rotate)
                            .into_iter()
                            .map(Object::Integer)
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
        let signer = a.signer_name.clone().ok_or_else(|| {
            PluginError::bad_request(
                "the stamp names no signer; give the name the signer's certificate carries",
            )
        })?;
        let mut lines = vec![HEADING.to_owned(), signer];
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

/// `value` as a PDF number: an integer when it is one, as a requested rectangle's sides are.
fn number(value: f64) -> Object {
    if value.fract() == 0.0 && value.abs() < 1e9 {
        Object::Integer(value as i64)
    } else {
        Object::Real(value as f32)
    }
}

/// The page's /Rotate, inherited through the page tree: 0, 90, 180 or 270 degrees clockwise
/// (any other value is taken as 0).
fn rotation(document: &Document, page: ObjectId) -> i64 {
    let rotate = inherited(document, page, b"Rotate")
        .and_then(|r| r.as_i64().ok())
        .unwrap_or(0)
        .rem_euclid(360);
    if [90, 180, 270].contains(&rotate) {
        rotate
    } else {
        0
    }
}

/// The form matrix that turns an appearance by `rotate` degrees counter-clockwise, undoing a
/// page's clockwise /Rotate.
fn counter_rotation(rotate: i64) -> [i64; 6] {
    match rotate {
        90 => [0, 1, -1, 0, 0, 0],
        180 => [-1, 0, 0, -1, 0, 0],
        270 => [0, -1, 1, 0, 0, 0],
        _ => [1, 0, 0, 1, 0, 0],
    }
}

/// The page's CropBox, else its MediaBox, normalised to [left bottom right top]; `None` when
/// neither is readable.
fn visible_box(document: &Document, page: ObjectId) -> Option<[f64; 4]> {
    [b"CropBox".as_slice(), b"MediaBox"]
        .into_iter()
        .find_map(|key| inherited(document, page, key).and_then(|o| rectangle(document, o)))
}

/// The page's `key`, looked up through the page tree as inheritable attributes are (ISO
/// 32000-1 7.7.3.4).
fn inherited<'a>(document: &'a Document, page: ObjectId, key: &[u8]) -> Option<&'a Object> {
    let mut node = document.get_dictionary(page).ok()?;
    for _ in 0..32 {
        if let Ok(value) = node.get(key) {
            return match value {
                Object::Reference(id) => document.get_object(*id).ok(),
                other => Some(other),
            };
        }
        let parent = node.get(b"Parent").and_then(Object::as_reference).ok()?;
        node = document.get_dictionary(parent).ok()?;
    }
    None
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
