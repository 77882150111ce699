//! What changed in the revisions after a signature, and whether the signature permits it
//! (SVR 4.2.7: every change is detected and shown). Each revision is compared with the one
//! before it, so a change undone later is still seen and each change names its revision; each
//! signature judges the revisions after its own. Each change is classified as pyHanko's
//! difference analysis classifies it, by the least permission that allows it:
//!
//! - **validation data**: the /DSS (EN 319 142-1 5.4.2), document timestamps (5.4.3), new
//!   invisible signature fields, and housekeeping no page shows: the catalog's /Version and
//!   /Extensions, the document information and a well-formed XMP metadata stream (pyHanko and
//!   Acrobat rewrite its modification date on every save). Always permitted.
//! - **form filling**: a value (/V) and the appearance of an existing field that is not a
//!   signature field (keys /V, /AP, /AS, /F, /DA, /Q, /Ff, /Type; new appearance streams, or its
//!   own appearance stream rewritten when nothing else uses it), and signing: an empty signature
//!   field signed, a new signature. Permitted after approval signatures and by DocMDP P=2 and 3.
//! - **annotations**: annotations other than widgets added, changed or removed, and a new
//!   visible signature field after a certification signature. Permitted by DocMDP P=3 only
//!   (pyHanko permits no annotation at all).
//! - anything else — page content, pages, fonts, resources, the trailer's /Root, new fields of
//!   other kinds, a field removed, a signed signature field changed, an object deleted — is
//!   never permitted.
//!
//! A field a signature locks (FieldMDP) may not be filled or signed after it.

use std::collections::{BTreeSet, HashMap};

use lopdf::{Dictionary, Document, Object, ObjectId};
use mubadile_plugin_api::DocMdpPermissions;

use crate::docmdp::FieldLock;
use crate::fields::{FormField, FormRole, FormTree, deref, deref_dict};
use crate::read::{SignedPdf, parse};

/// Catalog entries whose change no page shows: the version an update declares (ISO 32000-2
/// 7.2.2 lets the catalog's /Version raise the header's), as pyHanko writes when it signs a PDF
/// 1.7 file with `--use-pades` (/Version /2.0, /Extensions).
const CATALOG_HOUSEKEEPING: &[&[u8]] = &[b"Extensions", b"Version"];
/// Interactive-form entries that filling and signing may change (pyHanko's list).
const FORM_ALLOWED: &[&[u8]] = &[
    b"Fields",
    b"SigFlags",
    b"DR",
    b"DA",
    b"Q",
    b"NeedAppearances",
];
/// Field and widget entries that filling a field (or signing a signature field) may change.
const VALUE_KEYS: &[&[u8]] = &[b"V", b"AP", b"AS", b"F", b"DA", b"Q", b"Ff", b"Type"];

/// The least permission a change needs, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    /// Validation data, document timestamps, housekeeping: always permitted.
    ValidationData,
    /// Form filling and signing.
    FormFilling,
    /// Annotations.
    Annotations,
    /// Never permitted.
    Other,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::ValidationData => "validation data and timestamps",
            Level::FormFilling => "form filling and signing",
            Level::Annotations => "annotations",
            Level::Other => "a change no signature permits",
        }
    }

    /// Whether a signature with DocMDP permissions `p` (`None`: an approval signature)
    /// permits changes of this level after it.
    fn permitted_by(self, p: Option<DocMdpPermissions>) -> bool {
        match self {
            Level::ValidationData => true,
            Level::FormFilling => p != Some(DocMdpPermissions::NoChanges),
            Level::Annotations => p == Some(DocMdpPermissions::Annotations),
            Level::Other => false,
        }
    }
}

/// One change found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Change {
    level: Level,
    /// The level after a certification signature (or an approval signature whose field lock
    /// sets DocMDP permissions): a new visible signature field is an annotation then.
    level_after_certification: Level,
    /// What changed, in words.
    what: String,
    /// The field filled or signed, for field locks.
    field: Option<String>,
}

/// The changes made after a signature: those it permits, to show (SVR 4.2.7), and those it does
/// not, each a reason it fails.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Permitted changes, one message each.
    pub permitted: Vec<String>,
    /// Changes not permitted, one message each.
    pub disallowed: Vec<String>,
}

/// What signature rules govern the changes after a signature: its DocMDP permissions (`None`:
/// an approval signature) and the fields it locks.
pub struct Permissions<'a> {
    /// DocMDP permissions.
    pub docmdp: Option<DocMdpPermissions>,
    /// Locked fields.
    pub lock: &'a FieldLock,
}

/// The changes each revision of a PDF made, each revision compared with the one before it, so
/// that a change made in one revision and undone in a later one is still seen (SVR 4.2.7) and
/// every change is attributed to the revision that made it. Each revision is parsed once, and
/// only two are held at a time.
pub struct History {
    /// One step per revision read, in file order.
    steps: Vec<Step>,
    /// The revisions (indexes into the file's revisions) that cannot be read on their own, with
    /// why: their changes are attributed to the first readable revision after them.
    unreadable: HashMap<usize, String>,
}

/// The changes of one revision (or of several, when those before it cannot be read on their
/// own), from the last readable revision before it.
struct Step {
    /// The first revision whose changes it holds (an index into the file's revisions).
    first: usize,
    /// The revision it ends with.
    last: usize,
    /// The changes.
    changes: Vec<Change>,
}

impl Step {
    /// Where the changes were made, for a message; revisions are counted from 1, the file as
    /// first written.
    fn revisions(&self) -> String {
        if self.first == self.last {
            format!("in revision {}", self.last + 1)
        } else {
            format!("in revisions {} to {}", self.first + 1, self.last + 1)
        }
    }
}

impl History {
    /// Every revision of `pdf` after revision `from` (an index into `pdf.revisions`) compared
    /// with the one before it.
    pub fn since(pdf: &SignedPdf<'_>, from: usize) -> History {
        let mut history = History {
            steps: Vec::new(),
            unreadable: HashMap::new(),
        };
        let Some(last) = pdf.revisions.len().checked_sub(1) else {
            return history;
        };
        let mut previous: Option<(usize, Document)> = None;
        for index in from..last {
            let end = pdf.revisions[index].end.min(pdf.file.len());
            match parse(&pdf.file[..end]) {
                Ok(document) => {
                    if let Some((before_index, before)) = &previous {
                        history.steps.push(Step {
                            first: before_index + 1,
                            last: index,
                            changes: Comparison::new(before, &document).changes(),
                        });
                    }
                    previous = Some((index, document));
                }
                Err(e) => {
                    history.unreadable.insert(index, e.message);
                }
            }
        }
        if let Some((before_index, before)) = &previous {
            history.steps.push(Step {
                first: before_index + 1,
                last,
                changes: Comparison::new(before, &pdf.document).changes(),
            });
        }
        history
    }

    /// Every change made after revision `revision` (an index into the file's revisions, one
    /// the history was made from or after), judged by the permissions of the signature that
    /// revision holds, each naming the revision that made it.
    pub fn after(&self, revision: usize, permissions: &Permissions<'_>) -> Verdict {
        if let Some(e) = self.unreadable.get(&revision) {
            return Verdict {
                permitted: Vec::new(),
                disallowed: vec![format!(
                    "the signed revision cannot be read on its own ({e}), so later changes cannot be told apart (SVR 4.2.7)"
                )],
            };
        }
        let by = match permissions.docmdp {
            Some(p) => format!("the certification's DocMDP permissions {p}"),
            None => "this approval signature".to_string(),
        };
        let mut verdict = Verdict::default();
        for step in self.steps.iter().filter(|step| step.first > revision) {
            let when = step.revisions();
            for change in &step.changes {
                let level = match permissions.docmdp {
                    Some(_) => change.level_after_certification,
                    None => change.level,
                };
                let locked = change
                    .field
                    .as_deref()
                    .filter(|name| level == Level::FormFilling && permissions.lock.locks(name));
                if let Some(name) = locked {
                    verdict.disallowed.push(format!(
                        "{} after this signature, {when}: this signature locks field {name:?} (FieldMDP, ISO 32000-1 12.8.2.4), so what the signer saw may differ from what is shown now (SVR 4.2.7)",
                        change.what
                    ));
                } else if level.permitted_by(permissions.docmdp) {
                    verdict.permitted.push(format!(
                        "{} after this signature, {when} ({}, permitted by {by}; SVR 4.2.7)",
                        change.what,
                        level.name()
                    ));
                } else {
                    verdict.disallowed.push(format!(
                        "{} after this signature, {when} ({}, not permitted by {by}): what the signer saw may differ from what is shown now (SVR 4.2.7)",
                        change.what,
                        level.name()
                    ));
                }
            }
        }
        verdict
    }
}

/// A revision and the next one read side by side.
struct Comparison<'a> {
    before: &'a Document,
    after: &'a Document,
    old_form: FormTree,
    new_form: FormTree,
    catalog: Option<ObjectId>,
    /// The page objects of the signed revision, numbered from 1.
    pages: HashMap<ObjectId, u32>,
    /// Each page's /Annots array, when it is an object of its own, by page number.
    annots_arrays: HashMap<ObjectId, u32>,
    /// The objects of the DSS of the signed revision.
    dss: BTreeSet<ObjectId>,
    /// The appearance dictionaries and streams of each field's widgets, and the field values
    /// that are objects of their own, by the field's name.
    field_parts: HashMap<ObjectId, String>,
    /// The annotations other than widgets, by page number.
    annotations: HashMap<ObjectId, u32>,
}

impl<'a> Comparison<'a> {
    fn new(before: &'a Document, after: &'a Document) -> Comparison<'a> {
        let old_form = FormTree::read(before);
        let new_form = FormTree::read(after);
        let pages: HashMap<ObjectId, u32> = before
            .get_pages()
            .into_iter()
            .map(|(number, id)| (id, number))
            .collect();
        let mut annots_arrays = HashMap::new();
        let mut annotations = HashMap::new();
        for (id, number) in &pages {
            let Some(page) = before.get_dictionary(*id).ok() else {
                continue;
            };
            if let Ok(Object::Reference(array)) = page.get(b"Annots") {
                annots_arrays.insert(*array, *number);
            }
            for annotation in items(before, page.get(b"Annots").ok()) {
                if let Object::Reference(annotation) = annotation
                    && !old_form.roles.contains_key(&annotation)
                {
                    annotations.insert(annotation, *number);
                }
            }
        }
        let mut field_parts = HashMap::new();
        for field in &old_form.fields {
            let mut part = |object: Option<&Object>| {
                if let Some(Object::Reference(id)) = object {
                    field_parts.insert(*id, field.name.clone());
                }
            };
            if !field.is_signature() {
                part(field.dict.get(b"V").ok());
            }
            for (_, widget) in &field.widgets {
                let ap = widget.get(b"AP").ok();
                part(ap);
                for key in [&b"N"[..], b"R", b"D"] {
                    let Some(entry) = deref_dict(before, ap).and_then(|ap| ap.get(key).ok()) else {
                        continue;
                    };
                    part(Some(entry));
                    // An appearance with states (check boxes): one stream per state.
                    if let Some(states) = deref_dict(before, Some(entry)) {
                        for (_, state) in states.iter() {
                            part(Some(state));
                        }
                    }
                }
            }
        }
        let catalog = before
            .trailer
            .get(b"Root")
            .and_then(Object::as_reference)
            .ok();
        let mut dss = BTreeSet::new();
        if let Some(entry) = before.catalog().ok().and_then(|c| c.get(b"DSS").ok()) {
            collect_references(before, entry, 3, &mut dss);
        }
        Comparison {
            before,
            after,
            old_form,
            new_form,
            catalog,
            pages,
            annots_arrays,
            dss,
            field_parts,
            annotations,
        }
    }

    /// Every change, each once, in a stable order.
    fn changes(&self) -> Vec<Change> {
        let mut found = BTreeSet::new();
        // A new catalog is a new document: its objects are all new, so none of the signed
        // objects shows a change (the incremental saving and shadow hide-and-replace attacks).
        let root = |d: &Document| d.trailer.get(b"Root").and_then(Object::as_reference).ok();
        if let (Some(old), new) = (root(self.before), root(self.after))
            && Some(old) != new
        {
            let new = new.map_or("none".to_string(), |n| format!("object {} {}", n.0, n.1));
            found.insert(other(format!(
                "the trailer's /Root was changed from object {} {} to {new}: another document catalog, so every page may differ from the signed ones",
                old.0, old.1
            )));
        }
        for (id, old) in &self.before.objects {
            let Some(new) = self.after.objects.get(id) else {
                if !is_structure(old) {
                    found.insert(other(format!("object {} {} was deleted", id.0, id.1)));
                }
                continue;
            };
            if same(old, new) {
                continue;
            }
            found.extend(self.changed(*id, old, new));
        }
        found.into_iter().collect()
    }

    /// The changes object `id` shows, changed from `old` to `new`.
    fn changed(&self, id: ObjectId, old: &Object, new: &Object) -> Vec<Change> {
        let (before, after) = (self.before, self.after);
        let metadata = before
            .catalog()
            .ok()
            .and_then(|c| c.get(b"Metadata").ok())
            .and_then(|m| m.as_reference().ok());
        let info = before
            .trailer
            .get(b"Info")
            .and_then(Object::as_reference)
            .ok();
        let form_id = before
            .catalog()
            .ok()
            .and_then(|c| c.get(b"AcroForm").ok())
            .and_then(|f| f.as_reference().ok());
        let fields_id = deref_dict(
            before,
            before.catalog().ok().and_then(|c| c.get(b"AcroForm").ok()),
        )
        .and_then(|f| f.get(b"Fields").ok())
        .and_then(|f| f.as_reference().ok());
        match (old, new) {
            (Object::Dictionary(o), Object::Dictionary(n)) if Some(id) == self.catalog => {
                self.catalog_changed(o, n)
            }
            (_, new) if Some(id) == metadata => vec![metadata_change(after, new)],
            _ if Some(id) == info => vec![housekeeping("the document information (/Info) updated")],
            _ if self.dss.contains(&id) => vec![validation_data()],
            (Object::Dictionary(o), Object::Dictionary(n)) if Some(id) == form_id => {
                self.form_changed(o, n)
            }
            (Object::Array(o), Object::Array(n)) if Some(id) == fields_id => {
                self.fields_changed(o, n)
            }
            (Object::Dictionary(o), Object::Dictionary(n)) if self.pages.contains_key(&id) => {
                let number = self.pages[&id];
                let mut changes = Vec::new();
                if !only_keys_changed(o, n, &[b"Annots"]) {
                    changes.push(other(format!("page {number} was changed")));
                }
                if !o
                    .get(b"Annots")
                    .ok()
                    .zip(n.get(b"Annots").ok())
                    .is_some_and(|(a, b)| same(a, b))
                {
                    changes.extend(self.annots_changed(
                        number,
                        &items(before, o.get(b"Annots").ok()),
                        &items(after, n.get(b"Annots").ok()),
                    ));
                }
                changes
            }
            (Object::Array(o), Object::Array(n)) if self.annots_arrays.contains_key(&id) => {
                self.annots_changed(self.annots_arrays[&id], o, n)
            }
            (Object::Dictionary(o), Object::Dictionary(n))
                if self.old_form.roles.contains_key(&id) =>
            {
                self.field_object_changed(id, o, n)
            }
            _ if self.field_parts.contains_key(&id) => {
                let name = &self.field_parts[&id];
                if self.used_elsewhere(id) {
                    vec![other(format!(
                        "an appearance of field {name:?} that other objects use too was rewritten"
                    ))]
                } else {
                    vec![filling(
                        name,
                        format!("field {name:?} filled (its appearance rewritten)"),
                    )]
                }
            }
            (Object::Dictionary(_), Object::Dictionary(_))
                if self.annotations.contains_key(&id) =>
            {
                vec![annotation(format!(
                    "an annotation on page {} changed",
                    self.annotations[&id]
                ))]
            }
            _ => vec![other(format!(
                "object {} {} ({}) was changed",
                id.0,
                id.1,
                kind(old)
            ))],
        }
    }

    fn catalog_changed(&self, old: &Dictionary, new: &Dictionary) -> Vec<Change> {
        let mut changes = Vec::new();
        for key in changed_keys(old, new) {
            match key.as_slice() {
                b"DSS" => changes.push(validation_data()),
                b"Metadata" => match new.get(b"Metadata") {
                    Ok(metadata) => changes.push(metadata_change(self.after, metadata)),
                    Err(_) => changes.push(other("the document's XMP metadata was removed".into())),
                },
                b"AcroForm" => {
                    match (
                        deref_dict(self.before, old.get(b"AcroForm").ok()),
                        deref_dict(self.after, new.get(b"AcroForm").ok()),
                    ) {
                        (Some(o), Some(n)) => changes.extend(self.form_changed(o, n)),
                        (None, Some(n)) => changes.extend(self.form_changed(&Dictionary::new(), n)),
                        _ => changes.push(other("the interactive form was removed".into())),
                    }
                }
                key if CATALOG_HOUSEKEEPING.contains(&key) => {
                    changes.push(housekeeping("the PDF version the document declares raised"));
                }
                key => changes.push(other(format!(
                    "the document catalog's /{} was changed",
                    String::from_utf8_lossy(key)
                ))),
            }
        }
        changes
    }

    fn form_changed(&self, old: &Dictionary, new: &Dictionary) -> Vec<Change> {
        let mut changes = Vec::new();
        if !only_keys_changed(old, new, FORM_ALLOWED) {
            changes.push(other("the interactive form's settings were changed".into()));
        }
        let (o, n) = (
            items(self.before, old.get(b"Fields").ok()),
            items(self.after, new.get(b"Fields").ok()),
        );
        if o != n {
            changes.extend(self.fields_changed(&o, &n));
        }
        changes
    }

    /// The form's /Fields from `old` to `new`: only new signature fields may join, none leave.
    fn fields_changed(&self, old: &[Object], new: &[Object]) -> Vec<Change> {
        let mut changes = Vec::new();
        if !old.iter().all(|item| new.contains(item)) {
            changes.push(other("a form field was removed".into()));
        }
        let added: Vec<ObjectId> = new
            .iter()
            .filter(|item| !old.contains(item))
            .filter_map(|item| item.as_reference().ok())
            .collect();
        for id in added {
            let fields: Vec<&FormField> = self
                .new_form
                .fields
                .iter()
                .filter(|f| f.id == Some(id) || self.descends_from(f, id))
                .collect();
            if fields.is_empty() {
                changes.push(other(format!(
                    "object {} {} was added to the form's fields",
                    id.0, id.1
                )));
            }
            for field in fields {
                changes.push(self.new_field(field));
            }
        }
        changes
    }

    /// Whether `field` sits under the field tree node `node` in the latest revision.
    fn descends_from(&self, field: &FormField, node: ObjectId) -> bool {
        match self.new_form.roles.get(&node) {
            Some(FormRole::Parent(name)) => field.name.starts_with(&format!("{name}.")),
            _ => false,
        }
    }

    /// A field added after the signature.
    fn new_field(&self, field: &FormField) -> Change {
        let name = &field.name;
        if !field.is_signature() {
            return other(format!("a new form field {name:?} was added"));
        }
        let visible = field.is_visible();
        let timestamp = deref_dict(self.after, field.dict.get(b"V").ok()).is_some_and(|v| {
            v.get(b"Type").and_then(Object::as_name).ok() == Some(b"DocTimeStamp")
        });
        let what = match (field.is_filled(), timestamp) {
            (true, true) => format!("document timestamp {name:?} added"),
            (true, false) => format!("signature {name:?} added in a new field"),
            (false, _) => format!("empty signature field {name:?} added"),
        };
        let level = match (visible, field.is_filled() && !timestamp) {
            (true, _) | (false, true) => Level::FormFilling,
            (false, false) => Level::ValidationData,
        };
        Change {
            level,
            // pyHanko: a new visible signature field is a new annotation after a
            // certification signature.
            level_after_certification: if visible { Level::Annotations } else { level },
            what: if visible {
                format!("{what}, visible")
            } else {
                what
            },
            field: Some(name.clone()),
        }
    }

    /// Page `number`'s annotations from `old` to `new`.
    fn annots_changed(&self, number: u32, old: &[Object], new: &[Object]) -> Vec<Change> {
        let mut changes = Vec::new();
        for removed in old.iter().filter(|item| !new.contains(item)) {
            let id = removed.as_reference().ok();
            changes.push(match id.and_then(|id| self.old_form.field_of(id)) {
                Some(field) => other(format!(
                    "the widget of field {:?} was removed from page {number}",
                    field.name
                )),
                None => annotation(format!("an annotation was removed from page {number}")),
            });
        }
        for added in new.iter().filter(|item| !old.contains(item)) {
            let id = added.as_reference().ok();
            if let Some(field) = id.and_then(|id| self.new_form.field_of(id)) {
                if self.old_form.field(&field.name).is_none() {
                    // A new field's widget: judged with the field.
                    continue;
                }
                changes.push(other(format!(
                    "a widget of the existing field {:?} was added to page {number}",
                    field.name
                )));
                continue;
            }
            let subtype = deref_dict(self.after, Some(added))
                .and_then(|a| a.get(b"Subtype").and_then(Object::as_name).ok())
                .map(|s| String::from_utf8_lossy(s).into_owned());
            changes.push(match subtype.as_deref() {
                Some("Widget") | None => other(format!(
                    "a widget outside the form was added to page {number}"
                )),
                Some(subtype) => {
                    annotation(format!("a {subtype} annotation was added to page {number}"))
                }
            });
        }
        changes
    }

    /// A field dictionary or widget of the signed revision's form, from `old` to `new`.
    fn field_object_changed(
        &self,
        id: ObjectId,
        old: &Dictionary,
        new: &Dictionary,
    ) -> Vec<Change> {
        let Some(role) = self.old_form.roles.get(&id) else {
            return Vec::new();
        };
        let (name, is_field) = match role {
            FormRole::Parent(name) => {
                return vec![other(format!("the form field group {name:?} was changed"))];
            }
            FormRole::Field(name) => (name, true),
            FormRole::Widget(name) => (name, false),
        };
        let Some(field) = self.old_form.field(name) else {
            return Vec::new();
        };
        let beyond: Vec<String> = changed_keys(old, new)
            .into_iter()
            .filter(|key| !VALUE_KEYS.contains(&key.as_slice()))
            .map(|key| format!("/{}", String::from_utf8_lossy(&key)))
            .collect();
        if !beyond.is_empty() {
            return vec![other(format!(
                "field {name:?} was changed beyond its value and appearance ({})",
                beyond.join(", ")
            ))];
        }
        let value_changed = changed_keys(old, new).iter().any(|k| k.as_slice() == b"V");
        if !field.is_signature() {
            let what = if value_changed {
                format!("field {name:?} filled")
            } else {
                format!("field {name:?} filled (its appearance updated)")
            };
            return vec![filling(name, what)];
        }
        // A signature field: only an empty one may be signed (its /V and appearance set).
        let signed_now = is_field && !old.has(b"V") && new.has(b"V");
        match (field.is_filled(), signed_now, value_changed) {
            (false, true, _) => {
                let timestamp = deref_dict(self.after, new.get(b"V").ok()).is_some_and(|v| {
                    v.get(b"Type").and_then(Object::as_name).ok() == Some(b"DocTimeStamp")
                });
                if timestamp && !field.is_visible() {
                    vec![Change {
                        level: Level::ValidationData,
                        level_after_certification: Level::ValidationData,
                        what: format!("document timestamp in the empty signature field {name:?}"),
                        field: Some(name.clone()),
                    }]
                } else {
                    vec![filling(
                        name,
                        format!("empty signature field {name:?} signed"),
                    )]
                }
            }
            (false, false, false) => vec![filling(
                name,
                format!("empty signature field {name:?}'s appearance updated"),
            )],
            _ => vec![other(format!(
                "the signed signature field {name:?} was changed"
            ))],
        }
    }

    /// Whether object `id` is used by more than one object of the signed revision (an
    /// appearance stream shared with a page, say, may not be rewritten as form filling).
    fn used_elsewhere(&self, id: ObjectId) -> bool {
        let target = Object::Reference(id);
        let users = self
            .before
            .objects
            .values()
            .filter(|object| refers_to(object, &target, 8))
            .count();
        users > 1
    }
}

fn other(what: String) -> Change {
    Change {
        level: Level::Other,
        level_after_certification: Level::Other,
        what,
        field: None,
    }
}

fn annotation(what: String) -> Change {
    Change {
        level: Level::Annotations,
        level_after_certification: Level::Annotations,
        what,
        field: None,
    }
}

fn filling(name: &str, what: String) -> Change {
    Change {
        level: Level::FormFilling,
        level_after_certification: Level::FormFilling,
        what,
        field: Some(name.to_string()),
    }
}

fn housekeeping(what: &str) -> Change {
    Change {
        level: Level::ValidationData,
        level_after_certification: Level::ValidationData,
        what: what.to_string(),
        field: None,
    }
}

fn validation_data() -> Change {
    housekeeping("validation data (the /DSS) added or updated")
}

/// The catalog's /Metadata changed to `metadata`: permitted when it is well-formed XMP.
fn metadata_change(document: &Document, metadata: &Object) -> Change {
    if is_xmp(document, metadata) {
        housekeeping("the document's XMP metadata updated")
    } else {
        other(
            "the document's XMP metadata was replaced by something that is not well-formed XMP"
                .into(),
        )
    }
}

/// Whether `object` is what every revision has of its own (a cross-reference stream or an
/// object stream): its going away is no change to the document.
fn is_structure(object: &Object) -> bool {
    object
        .as_stream()
        .is_ok_and(|s| s.dict.has_type(b"XRef") || s.dict.has_type(b"ObjStm"))
}

/// What kind of object `object` is, for a message.
fn kind(object: &Object) -> String {
    let dict = match object {
        Object::Dictionary(d) => Some(d),
        Object::Stream(s) => Some(&s.dict),
        _ => None,
    };
    let name = |key: &[u8]| {
        dict.and_then(|d| d.get(key).and_then(Object::as_name).ok())
            .map(|n| String::from_utf8_lossy(n).into_owned())
    };
    match (name(b"Type"), name(b"Subtype"), object) {
        (Some(t), Some(s), _) => format!("{t} {s}"),
        (Some(t), None, _) | (None, Some(t), _) => t,
        (None, None, Object::Stream(_)) => "a stream, e.g. page content".into(),
        (None, None, o) => o.enum_variant().to_lowercase(),
    }
}

/// Collects the objects `object` refers to, `depth` levels down, into `into`.
fn collect_references(
    document: &Document,
    object: &Object,
    depth: usize,
    into: &mut BTreeSet<ObjectId>,
) {
    match object {
        Object::Reference(id) => {
            if into.insert(*id)
                && depth > 0
                && let Ok(target) = document.get_object(*id)
            {
                collect_references(document, target, depth - 1, into);
            }
        }
        Object::Array(items) => {
            for item in items {
                collect_references(document, item, depth, into);
            }
        }
        Object::Dictionary(dict) => {
            for (_, value) in dict.iter() {
                collect_references(document, value, depth, into);
            }
        }
        _ => {}
    }
}

/// Whether `object` holds `target` (a reference), `depth` levels of direct objects down.
fn refers_to(object: &Object, target: &Object, depth: usize) -> bool {
    if object == target {
        return true;
    }
    if depth == 0 {
        return false;
    }
    match object {
        Object::Array(items) => items.iter().any(|i| refers_to(i, target, depth - 1)),
        Object::Dictionary(d) => d.iter().any(|(_, v)| refers_to(v, target, depth - 1)),
        Object::Stream(s) => s.dict.iter().any(|(_, v)| refers_to(v, target, depth - 1)),
        _ => false,
    }
}

/// The items of array `object` (direct or by reference); none if it is not an array.
fn items(document: &Document, object: Option<&Object>) -> Vec<Object> {
    match deref(document, object) {
        Some(Object::Array(items)) => items.clone(),
        _ => Vec::new(),
    }
}

/// Whether `object` (direct or by reference) is an XMP metadata stream (ISO 32000-1 14.3.2) whose
/// packet is well-formed XML.
fn is_xmp(document: &Document, object: &Object) -> bool {
    let stream = match object {
        Object::Reference(id) => document.get_object(*id).and_then(Object::as_stream),
        other => other.as_stream(),
    };
    let Ok(stream) = stream else {
        return false;
    };
    let name = |key: &[u8]| stream.dict.get(key).and_then(Object::as_name).ok();
    if name(b"Type") != Some(b"Metadata") || name(b"Subtype") != Some(b"XML") {
        return false;
    }
    let Ok(packet) = stream.decompressed_content_with_limit(MAX_XMP) else {
        return false;
    };
    well_formed_xml(&packet)
}

/// The largest XMP packet read when judging a metadata update.
const MAX_XMP: usize = 4 << 20;

fn well_formed_xml(packet: &[u8]) -> bool {
    let mut reader = quick_xml::Reader::from_reader(packet);
    let mut buf = Vec::new();
    let mut depth = 0usize;
    let mut elements = 0usize;
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Start(_)) => {
                depth += 1;
                elements += 1;
            }
            Ok(quick_xml::events::Event::Empty(_)) => elements += 1,
            Ok(quick_xml::events::Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(quick_xml::events::Event::Eof) => return depth == 0 && elements > 0,
            Ok(_) => {}
            Err(_) => return false,
        }
        buf.clear();
    }
}

/// The keys whose entries differ between `old` and `new`.
fn changed_keys(old: &Dictionary, new: &Dictionary) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = old
        .iter()
        .chain(new.iter())
        .map(|(key, _)| key.clone())
        .filter(|key| match (old.get(key).ok(), new.get(key).ok()) {
            (Some(o), Some(n)) => !same(o, n),
            _ => true,
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Whether the entries of `old` and `new` differ only under `keys`.
fn only_keys_changed(old: &Dictionary, new: &Dictionary, keys: &[&[u8]]) -> bool {
    changed_keys(old, new)
        .iter()
        .all(|key| keys.contains(&key.as_slice()))
}

/// Whether two versions of an object are the same: the same values, however they are written.
/// A string written as `(en-US)` or `<656E2D5553>` is one string (ISO 32000-1 7.3.4): a
/// writer that rewrites an object may choose either (pyHanko rewrites the catalog's /Lang that
/// this plugin wrote in hexadecimal as a literal). So is a text string in UTF-16 and the same
/// text in ASCII (7.9.2.2): pyHanko rewrites LibreOffice's empty `/DV <FEFF>` as `()`. Streams
/// by dictionary and bytes only.
fn same(old: &Object, new: &Object) -> bool {
    match (old, new) {
        (Object::String(o, _), Object::String(n, _)) => o == n || same_text(o, n),
        (Object::Array(o), Object::Array(n)) => {
            o.len() == n.len() && o.iter().zip(n).all(|(o, n)| same(o, n))
        }
        (Object::Dictionary(o), Object::Dictionary(n)) => same_entries(o, n),
        (Object::Stream(o), Object::Stream(n)) => {
            same_entries(&o.dict, &n.dict) && o.content == n.content
        }
        _ => old == new,
    }
}

/// Whether two strings are one text: either is UTF-16BE with its byte order mark, the other
/// UTF-16BE too or plain ASCII, and they read the same.
fn same_text(old: &[u8], new: &[u8]) -> bool {
    const BOM: &[u8] = &[0xFE, 0xFF];
    let text = |bytes: &[u8]| {
        (bytes.starts_with(BOM) || bytes.is_ascii()).then(|| crate::fields::text_string(bytes))
    };
    (old.starts_with(BOM) || new.starts_with(BOM))
        && text(old).is_some_and(|o| text(new).is_some_and(|n| o == n))
}

fn same_entries(old: &Dictionary, new: &Dictionary) -> bool {
    old.len() == new.len()
        && old
            .iter()
            .all(|(key, o)| new.get(key).is_ok_and(|n| same(o, n)))
}

#[cfg(test)]
mod tests {
    use lopdf::StringFormat;

    use super::*;

    #[test]
    fn a_string_rewritten_in_hexadecimal_is_the_same_and_another_string_is_not() {
        let literal = |s: &[u8]| Object::String(s.to_vec(), StringFormat::Literal);
        let hex = |s: &[u8]| Object::String(s.to_vec(), StringFormat::Hexadecimal);
        let catalog = |lang: Object| {
            Object::Dictionary(Dictionary::from_iter([
                ("Lang", lang),
                ("Names", Object::Array(vec![hex(b"a"), Object::Integer(1)])),
            ]))
        };
        assert!(same(&catalog(literal(b"en-US")), &catalog(hex(b"en-US"))));
        assert!(!same(&catalog(literal(b"en-US")), &catalog(hex(b"az-AZ"))));
        let mut more = catalog(literal(b"en-US"));
        more.as_dict_mut()
            .unwrap()
            .set("Version", Object::Name(b"2.0".to_vec()));
        assert!(!same(&catalog(literal(b"en-US")), &more));
        // The empty text in UTF-16 is the empty text; other text is not.
        assert!(same(&hex(&[0xFE, 0xFF]), &literal(b"")));
        assert!(same(&hex(&[0xFE, 0xFF, 0, b'a']), &literal(b"a")));
        assert!(!same(&hex(&[0xFE, 0xFF, 0, b'a']), &literal(b"b")));
        assert!(!same(&literal(&[0xE9]), &literal(&[0xE8])));
    }

    #[test]
    fn each_docmdp_level_permits_what_iso_32000_table_254_says() {
        use DocMdpPermissions::*;
        for p in [None, Some(NoChanges), Some(FormFilling), Some(Annotations)] {
            assert!(Level::ValidationData.permitted_by(p));
            assert!(!Level::Other.permitted_by(p));
        }
        assert!(Level::FormFilling.permitted_by(None));
        assert!(!Level::FormFilling.permitted_by(Some(NoChanges)));
        assert!(Level::FormFilling.permitted_by(Some(FormFilling)));
        assert!(!Level::Annotations.permitted_by(None));
        assert!(!Level::Annotations.permitted_by(Some(FormFilling)));
        assert!(Level::Annotations.permitted_by(Some(Annotations)));
    }
}
