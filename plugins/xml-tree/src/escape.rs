//! References, line ends and escaping: checking what the reader keeps as written, decoding it,
//! and writing it out escaped as canonical XML requires (C14N 1.0 section 2.3: text escapes
//! `& < >` and CR; attribute values escape `& < "` and TAB, LF, CR), in one pass per value.

use std::borrow::Cow;

/// What is wrong with a reference (`&...;`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReferenceError {
    /// `&` with no `;` after a name.
    Unterminated,
    /// A named entity other than the five predefined ones.
    UnknownEntity(String),
    /// A character reference that is malformed or names a character XML does not allow.
    BadCharacter(String),
}

/// Reads the reference that starts right after an `&`: the character it stands for and how many
/// bytes it takes, `;` included.
pub(crate) fn reference(after_amp: &str) -> Result<(char, usize), ReferenceError> {
    let name_len = after_amp
        .find(|c: char| !is_name_char(c))
        .unwrap_or(after_amp.len());
    if after_amp.as_bytes().get(name_len) != Some(&b';') || name_len == 0 {
        return Err(ReferenceError::Unterminated);
    }
    let name = &after_amp[..name_len];
    let c = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => match name.strip_prefix('#') {
            Some(number) => character_reference(number)
                .ok_or_else(|| ReferenceError::BadCharacter(name.to_owned()))?,
            None => return Err(ReferenceError::UnknownEntity(name.to_owned())),
        },
    };
    Ok((c, name_len + 1))
}

/// `x1F600` or `128512` → the character, if XML allows it (XML 1.0 production [2] Char).
fn character_reference(number: &str) -> Option<char> {
    let value = match number.strip_prefix('x') {
        Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            u32::from_str_radix(hex, 16).ok()?
        }
        None if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) => {
            number.parse().ok()?
        }
        _ => return None,
    };
    char::from_u32(value).filter(|&c| is_xml_char(c))
}

/// XML 1.0 production [2] Char.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '#' | '_' | '-' | '.' | ':')
}

/// Checks an attribute value as written: no `<`, every `&` a known reference. On error, the
/// byte offset within `raw` and what is wrong.
pub(crate) fn check_attribute_value(raw: &str) -> Result<(), (usize, ReferenceError)> {
    for (i, b) in raw.bytes().enumerate() {
        match b {
            b'<' => {
                return Err((
                    i,
                    ReferenceError::BadCharacter("a literal < in an attribute value".into()),
                ));
            }
            b'&' => {
                reference(raw.get(i + 1..).unwrap_or("")).map_err(|e| (i, e))?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// An attribute value as written, decoded: line ends normalised, white space characters written
/// literally turned into spaces (XML 1.0 section 3.3.3, attribute type CDATA), references
/// replaced.
pub(crate) fn decode_attribute(raw: &str) -> Cow<'_, str> {
    if !raw
        .bytes()
        .any(|b| matches!(b, b'&' | b'\t' | b'\n' | b'\r'))
    {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\r' => {
                if chars.peek().map(|&(_, n)| n) == Some('\n') {
                    chars.next();
                }
                out.push(' ');
            }
            '\t' | '\n' => out.push(' '),
            '&' => match reference(raw.get(i + 1..).unwrap_or("")) {
                Ok((decoded, len)) => {
                    out.push(decoded);
                    for _ in 0..len {
                        chars.next();
                    }
                }
                Err(_) => out.push('&'),
            },
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Character data as written, decoded: line ends normalised, references replaced.
pub(crate) fn decode_text(raw: &str) -> Cow<'_, str> {
    if !raw.bytes().any(|b| matches!(b, b'&' | b'\r')) {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find(['&', '\r']) {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if rest.as_bytes()[i] == b'\r' {
            out.push('\n');
            rest = after.strip_prefix('\n').unwrap_or(after);
        } else if let Ok((c, len)) = reference(after) {
            out.push(c);
            rest = after.get(len..).unwrap_or("");
        } else {
            out.push('&');
            rest = after;
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// `raw` with CR LF and lone CR turned into LF (XML 1.0 section 2.11).
pub(crate) fn normalize_line_ends(raw: &str) -> Cow<'_, str> {
    if !raw.contains('\r') {
        return Cow::Borrowed(raw);
    }
    Cow::Owned(raw.replace("\r\n", "\n").replace('\r', "\n"))
}

/// How a value is written out.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Character data as written: references are decoded, line ends normalised.
    Text,
    /// The content of a CDATA section: line ends normalised, `&` is a plain character.
    CData,
    /// An attribute value as written: references decoded, line ends normalised, literal white
    /// space turned into spaces.
    Attribute,
    /// An already decoded attribute value (a namespace URI).
    DecodedAttribute,
    /// A comment or processing instruction: line ends normalised, nothing escaped.
    Markup,
}

const fn table(specials: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < specials.len() {
        t[specials[i] as usize] = true;
        i += 1;
    }
    t
}

static TEXT_SPECIAL: [bool; 256] = table(b"&<>\r");
static ATTRIBUTE_SPECIAL: [bool; 256] = table(b"&<\"\t\n\r");
static MARKUP_SPECIAL: [bool; 256] = table(b"\r");

/// Writes `raw` from `source` to `out` escaped as canonical XML requires.
pub fn write_escaped(out: &mut Vec<u8>, raw: &str, source: Source) {
    let specials = match source {
        Source::Text | Source::CData => &TEXT_SPECIAL,
        Source::Attribute | Source::DecodedAttribute => &ATTRIBUTE_SPECIAL,
        Source::Markup => &MARKUP_SPECIAL,
    };
    let in_attribute = matches!(source, Source::Attribute | Source::DecodedAttribute);
    let bytes = raw.as_bytes();
    let mut from = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !specials[b as usize] {
            i += 1;
            continue;
        }
        out.extend_from_slice(&bytes[from..i]);
        i += 1;
        match b {
            b'&' if matches!(source, Source::Text | Source::Attribute) => {
                match reference(raw.get(i..).unwrap_or("")) {
                    Ok((c, len)) => {
                        if in_attribute {
                            escape_attribute_char(out, c);
                        } else {
                            escape_text_char(out, c);
                        }
                        i += len;
                    }
                    // The reader refuses bad references; written as a plain `&` all the same.
                    Err(_) => out.extend_from_slice(b"&amp;"),
                }
            }
            b'\r' if source != Source::DecodedAttribute => {
                if bytes.get(i) == Some(&b'\n') {
                    i += 1;
                }
                out.push(match source {
                    Source::Attribute => b' ',
                    _ => b'\n',
                });
            }
            b'\t' | b'\n' if source == Source::Attribute => out.push(b' '),
            _ => {
                if in_attribute {
                    escape_attribute_char(out, b as char);
                } else {
                    escape_text_char(out, b as char);
                }
            }
        }
        from = i;
    }
    out.extend_from_slice(&bytes[from..]);
}

/// `raw` escaped as character data, for a document written by hand (the XML plugin's trust
/// lists).
pub fn escape_text(raw: &str) -> String {
    let mut out = Vec::with_capacity(raw.len());
    for c in raw.chars() {
        escape_text_char(&mut out, c);
    }
    // Only ASCII escapes were inserted between whole UTF-8 characters.
    String::from_utf8(out).unwrap_or_default()
}

fn escape_text_char(out: &mut Vec<u8>, c: char) {
    match c {
        '&' => out.extend_from_slice(b"&amp;"),
        '<' => out.extend_from_slice(b"&lt;"),
        '>' => out.extend_from_slice(b"&gt;"),
        '\r' => out.extend_from_slice(b"&#xD;"),
        c => push_char(out, c),
    }
}

fn escape_attribute_char(out: &mut Vec<u8>, c: char) {
    match c {
        '&' => out.extend_from_slice(b"&amp;"),
        '<' => out.extend_from_slice(b"&lt;"),
        '"' => out.extend_from_slice(b"&quot;"),
        '\t' => out.extend_from_slice(b"&#x9;"),
        '\n' => out.extend_from_slice(b"&#xA;"),
        '\r' => out.extend_from_slice(b"&#xD;"),
        c => push_char(out, c),
    }
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut buffer = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(raw: &str, source: Source) -> String {
        let mut out = Vec::new();
        write_escaped(&mut out, raw, source);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_escapes_amp_lt_gt_and_cr_and_decodes_references() {
        assert_eq!(
            escaped(
                "a&amp;b&lt;&gt;>&#xD;\r\nc\rd&#65;&quot;&apos;",
                Source::Text
            ),
            "a&amp;b&lt;&gt;&gt;&#xD;\nc\ndA\"'"
        );
    }

    #[test]
    fn attribute_values_escape_quote_and_white_space_references_only() {
        assert_eq!(
            escaped("a\tb\nc\r\nd&#9;&#10;&#13;&quot;'>&lt;", Source::Attribute),
            "a b c d&#x9;&#xA;&#xD;&quot;'>&lt;"
        );
    }

    #[test]
    fn cdata_content_is_text_with_a_plain_ampersand() {
        assert_eq!(
            escaped("<x>&amp;\r\n", Source::CData),
            "&lt;x&gt;&amp;amp;\n"
        );
    }

    #[test]
    fn references_outside_the_five_and_bad_characters_are_refused() {
        assert_eq!(
            reference("lol;"),
            Err(ReferenceError::UnknownEntity("lol".into()))
        );
        assert!(matches!(
            reference("#0;"),
            Err(ReferenceError::BadCharacter(_))
        ));
        assert!(matches!(
            reference("#xD800;"),
            Err(ReferenceError::BadCharacter(_))
        ));
        assert!(matches!(
            reference("#x;"),
            Err(ReferenceError::BadCharacter(_))
        ));
        assert_eq!(reference("amp"), Err(ReferenceError::Unterminated));
        assert_eq!(reference("#x1F600;"), Ok(('\u{1F600}', 8)));
    }

    #[test]
    fn decoding_normalises_attribute_white_space_but_keeps_referenced_characters() {
        assert_eq!(decode_attribute("a\r\nb\tc&#10;&amp;"), "a b c\n&");
        assert_eq!(decode_text("a\r\nb\rc&lt;&#13;"), "a\nb\nc<\r");
    }
}
