//! Associated signature containers (ETSI EN 319 162-1): ZIP files whose first entry, `mimetype`,
//! is stored uncompressed without extra fields and names the container's type. ASiC-E carries
//! the envelopes ([`super::envelope`]); ASiC-S carries signed receipts ([`super::receipt`]).

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};

use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

use crate::{Error, Result};

/// The most a container may hold, uncompressed: a guard against ZIP bombs.
pub const MAX_CONTENT: u64 = 256 * 1024 * 1024;

/// A container of `media_type` holding `entries` (path, bytes) in that order.
pub fn write(media_type: &str, entries: &[(&str, &[u8])]) -> Result<Vec<u8>> {
    let zip_error = |e: zip::result::ZipError| Error::Io(std::io::Error::other(e));
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    // ETSI EN 319 162-1 A.1: `mimetype` first, uncompressed, without extra fields.
    zip.start_file(
        "mimetype",
        SimpleFileOptions::default().compression_method(CompressionMethod::Stored),
    )
    .map_err(zip_error)?;
    zip.write_all(media_type.as_bytes())?;
    let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (path, content) in entries {
        zip.start_file(*path, deflated).map_err(zip_error)?;
        zip.write_all(content)?;
    }
    Ok(zip.finish().map_err(zip_error)?.into_inner())
}

/// Whether `bytes` are a container of `media_type`, judged by the stored `mimetype` entry that
/// must come first (ETSI EN 319 162-1 A.1), without reading the rest.
pub fn is_container(bytes: &[u8], media_type: &str) -> bool {
    let field = |at: usize| {
        bytes
            .get(at..at + 2)
            .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
    };
    let (Some(name_len), Some(extra_len)) = (field(26), field(28)) else {
        return false;
    };
    let data = 30 + name_len + extra_len;
    bytes.starts_with(b"PK\x03\x04")
        && bytes.get(30..30 + name_len) == Some(b"mimetype".as_slice())
        && bytes.get(data..data + media_type.len()) == Some(media_type.as_bytes())
}

/// Every file of a container of `media_type`, `mimetype` left out; `what` names the container
/// in errors ("envelope", "receipt").
pub fn read(
    bytes: &[u8],
    media_type: &str,
    what: &'static str,
) -> Result<BTreeMap<String, Vec<u8>>> {
    let bad = |reason: String| Error::invalid(what, reason);
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        bad(format!(
            "not a ZIP container ({e}); send an {media_type} container"
        ))
    })?;
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut total = 0_u64;
    for index in 0..archive.len() {
        let mut file = archive
            .by_index(index)
            .map_err(|e| bad(format!("entry {index} cannot be read: {e}")))?;
        if file.is_dir() {
            continue;
        }
        let name = file
            .name()
            .map_err(|e| bad(format!("entry {index} has an unreadable name: {e}")))?
            .to_string();
        if index == 0 && name != "mimetype" {
            return Err(bad(
                "the first entry must be `mimetype` (ETSI EN 319 162-1 A.1)".into(),
            ));
        }
        total = total.saturating_add(file.size());
        if total > MAX_CONTENT {
            return Err(bad(format!(
                "it holds more than {} MiB uncompressed",
                MAX_CONTENT / 1024 / 1024
            )));
        }
        let mut content = Vec::new();
        file.by_ref()
            .take(MAX_CONTENT + 1)
            .read_to_end(&mut content)
            .map_err(|e| bad(format!("{name} cannot be decompressed: {e}")))?;
        if files.insert(name.clone(), content).is_some() {
            return Err(bad(format!("{name} appears twice")));
        }
    }
    if files.remove("mimetype").as_deref() != Some(media_type.as_bytes()) {
        return Err(bad(format!("`mimetype` must hold {media_type}")));
    }
    Ok(files)
}
