//! Writing PDF objects (ISO 32000-1 7.3) for incremental updates: lopdf reads, this writes, so
//! that every byte offset the signature needs is known.

use lopdf::Object;
use mubadile_plugin_api::PluginError;

/// Appends the PDF syntax of `object` to `out`. Strings are written in hexadecimal so that their
/// bytes survive unchanged; streams are not written this way (the plugin never rewrites one).
pub fn write(out: &mut Vec<u8>, object: &Object) -> Result<(), PluginError> {
    match object {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Object::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Object::Real(r) => {
            let r = if r.is_finite() { *r } else { 0.0 };
            out.extend_from_slice(format!("{r}").as_bytes());
        }
        Object::Name(name) => write_name(out, name),
        Object::String(bytes, _) => {
            out.push(b'<');
            out.extend(bytes.iter().flat_map(|b| format!("{b:02X}").into_bytes()));
            out.push(b'>');
        }
        Object::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write(out, item)?;
            }
            out.push(b']');
        }
        Object::Dictionary(dict) => {
            out.extend_from_slice(b"<<");
            for (key, value) in dict.iter() {
                write_name(out, key);
                out.push(b' ');
                write(out, value)?;
            }
            out.extend_from_slice(b">>");
        }
        Object::Reference((number, generation)) => {
            out.extend_from_slice(format!("{number} {generation} R").as_bytes());
        }
        Object::Stream(_) => {
            return Err(PluginError::unsupported(
                "a stream would have to be rewritten to sign this PDF (e.g. a page or form stored as a stream); this is not supported",
            ));
        }
    }
    Ok(())
}

/// A name with the bytes that may not appear literally written as `#xx` (ISO 32000-1 7.3.5).
fn write_name(out: &mut Vec<u8>, name: &[u8]) {
    out.push(b'/');
    for b in name {
        let delimiter = b"()<>[]{}/%#".contains(b);
        if (b'!'..=b'~').contains(b) && !delimiter {
            out.push(*b);
        } else {
            out.extend_from_slice(format!("#{b:02X}").as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use lopdf::{Dictionary, StringFormat};

    use super::*;

    #[test]
    fn objects_are_written_as_pdf_reads_them() {
        let mut dict = Dictionary::new();
        dict.set("Type", Object::Name(b"A B#".to_vec()));
        dict.set(
            "K",
            Object::Array(vec![
                Object::Integer(-3),
                Object::Real(1.5),
                Object::Reference((7, 0)),
                Object::String(b"(x)".to_vec(), StringFormat::Literal),
                Object::Null,
                Object::Boolean(true),
            ]),
        );
        let mut out = Vec::new();
        write(&mut out, &Object::Dictionary(dict)).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<</Type /A#20B#23/K [-3 1.5 7 0 R <287829> null true]>>"
        );
    }
}
