//! Where new PDF objects are written: an incremental update of an existing file
//! ([`crate::incremental::Update`]) or a file made from nothing ([`crate::protocol`]).

use lopdf::{Dictionary, Object, ObjectId};
use mubadile_plugin_api::PluginError;

use crate::serialize;

/// A place that takes new objects by number.
pub trait ObjectSink {
    /// A new object number.
    fn new_id(&mut self) -> ObjectId;

    /// Writes object `id` as the bytes `body`, already in PDF syntax.
    fn put_raw(&mut self, id: ObjectId, body: Vec<u8>);

    /// Writes `object` as object `id` (new, or a new version of an existing one).
    fn put(&mut self, id: ObjectId, object: &Object) -> Result<(), PluginError> {
        let mut body = Vec::new();
        serialize::write(&mut body, object)?;
        self.put_raw(id, body);
        Ok(())
    }

    /// Writes a stream object `id`: `dictionary` with its /Length set, then `data` unfiltered.
    fn put_stream(
        &mut self,
        id: ObjectId,
        mut dictionary: Dictionary,
        data: &[u8],
    ) -> Result<(), PluginError> {
        let length = i64::try_from(data.len())
            .map_err(|_| PluginError::unsupported("a stream is too large to write"))?;
        dictionary.set("Length", Object::Integer(length));
        let mut body = Vec::new();
        serialize::write(&mut body, &Object::Dictionary(dictionary))?;
        body.extend_from_slice(b"\nstream\n");
        body.extend_from_slice(data);
        body.extend_from_slice(b"\nendstream");
        self.put_raw(id, body);
        Ok(())
    }
}
