//! The XML declaration (XML 1.0 production [23] XMLDecl), read strictly: quick-xml hands it over
//! without checking its syntax.

/// What an XML declaration says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct XmlDeclaration<'a> {
    pub version: &'a str,
    pub encoding: Option<&'a str>,
}

/// Reads `raw`, the whole declaration from `<?xml` to `?>`:
/// `<?xml S version Eq "1.0" (S encoding Eq "name")? (S standalone Eq "yes"|"no")? S? ?>`.
pub(crate) fn read(raw: &str) -> Result<XmlDeclaration<'_>, String> {
    let body = raw
        .strip_prefix("<?xml")
        .and_then(|r| r.strip_suffix("?>"))
        .ok_or("the XML declaration is not closed by ?>")?;
    let mut rest = body;
    let mut version = None;
    let mut encoding = None;
    let mut standalone = None;
    loop {
        let trimmed = rest.trim_start_matches(is_space);
        if trimmed.is_empty() {
            break;
        }
        if trimmed.len() == rest.len() {
            return Err(format!(
                "white space is missing before {:?} in the XML declaration",
                shown(trimmed)
            ));
        }
        let name_end = trimmed
            .find(|c: char| c == '=' || is_space(c))
            .unwrap_or(trimmed.len());
        let name = &trimmed[..name_end];
        let after = trimmed[name_end..].trim_start_matches(is_space);
        let after = after
            .strip_prefix('=')
            .ok_or_else(|| format!("{name:?} in the XML declaration has no '='"))?
            .trim_start_matches(is_space);
        let quote = after
            .chars()
            .next()
            .filter(|&c| c == '"' || c == '\'')
            .ok_or_else(|| format!("the value of {name:?} in the XML declaration is not quoted"))?;
        let inner = &after[1..];
        let close = inner
            .find(quote)
            .ok_or_else(|| format!("the value of {name:?} in the XML declaration is not closed"))?;
        let value = &inner[..close];
        rest = &inner[close + 1..];
        let slot = match name {
            "version" if version.is_none() && encoding.is_none() && standalone.is_none() => {
                &mut version
            }
            "encoding" if version.is_some() && encoding.is_none() && standalone.is_none() => {
                &mut encoding
            }
            "standalone" if version.is_some() && standalone.is_none() => {
                if value != "yes" && value != "no" {
                    return Err(format!("standalone=\"{value}\" must be yes or no"));
                }
                &mut standalone
            }
            _ => {
                return Err(format!(
                    "{:?} is out of place in the XML declaration (version, encoding, standalone, in that order)",
                    shown(name)
                ));
            }
        };
        *slot = Some(value);
    }
    Ok(XmlDeclaration {
        version: version.ok_or("the XML declaration has no version")?,
        encoding,
    })
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn shown(s: &str) -> String {
    s.chars().take(20).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_are_read_strictly() {
        assert_eq!(
            read("<?xml version='1.0' encoding=\"UTF-8\" standalone='yes' ?>"),
            Ok(XmlDeclaration {
                version: "1.0",
                encoding: Some("UTF-8")
            })
        );
        assert!(read("<?xml version = \"1.0\"?>").is_ok());
        for bad in [
            "<?xml?>",
            "<?xml version=\"1.0\"encoding=\"UTF-8\"?>",
            "<?xml version=\"1.0\" standalone=\"maybe\"?>",
            "<?xml encoding=\"UTF-8\" version=\"1.0\"?>",
            "<?xml version=\"1.0\" encoding=\"utf-8\" <a>standalone=\"yes\"?>",
            "<?xml version=1.0?>",
            "<?xml version=\"1.0?>",
            "<?xml version=\"1.0\" version=\"1.0\"?>",
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }
}
