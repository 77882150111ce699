//! The examples of the specifications, with their published output, and the subset cases the
//! libxml2 comparison (tests/libxml2.rs) cannot reach: inherited namespaces and `xml:*`
//! attributes at an apex, and an excluded (enveloped) signature.

use super::*;
use crate::parse;

fn c14n(input: &str, algorithm: &str, subset: impl Fn(&Document<'_>) -> Subset<'static>) -> String {
    c14n_with_prefixes(input, algorithm, subset, &[])
}

fn c14n_with_prefixes(
    input: &str,
    algorithm: &str,
    subset: impl Fn(&Document<'_>) -> Subset<'static>,
    prefixes: &[&str],
) -> String {
    let doc = parse(input.as_bytes()).unwrap();
    let out = canonicalize_with_uri(&doc, algorithm, subset(&doc), prefixes).unwrap();
    String::from_utf8(out).unwrap()
}

fn whole(_: &Document<'_>) -> Subset<'static> {
    Subset::document()
}

/// The subset of the element whose local name is `name` (the first in document order).
fn element(doc: &Document<'_>, name: &str) -> NodeId {
    doc.elements()
        .find(|&e| doc.local_name(e) == Some(name))
        .unwrap()
}

fn corpus(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn algorithm_uris_round_trip_and_unknown_ones_are_named() {
    for uri in URIS.map(|(u, _)| u) {
        assert_eq!(Algorithm::from_uri(uri).unwrap().uri(), uri);
    }
    let e = Algorithm::from_uri("http://www.w3.org/2010/xml-c14n2").unwrap_err();
    assert!(e.to_string().contains("xml-c14n2"), "{e}");
}

#[test]
fn c14n_spec_3_1_pis_comments_and_outside_of_document_element() {
    // The spec's input less its DOCTYPE (which only names an external DTD; this reader refuses
    // any DOCTYPE).
    let input = corpus("spec-3.1-pis-comments-outside.xml");
    assert_eq!(
        c14n(&input, C14N_10, whole),
        "<?xml-stylesheet href=\"doc.xsl\"\n   type=\"text/xsl\"   ?>\n<doc>Hello, world!</doc>\n<?pi-without-data?>"
    );
    assert_eq!(
        c14n(&input, C14N_10_WITH_COMMENTS, whole),
        "<?xml-stylesheet href=\"doc.xsl\"\n   type=\"text/xsl\"   ?>\n<doc>Hello, world!<!-- Comment 1 --></doc>\n<?pi-without-data?>\n<!-- Comment 2 -->\n<!-- Comment 3 -->"
    );
}

#[test]
fn c14n_spec_3_2_whitespace_in_document_content_is_kept() {
    let input = corpus("spec-3.2-whitespace.xml");
    assert_eq!(c14n(&input, C14N_10, whole), input.trim_end());
}

#[test]
fn c14n_spec_3_3_start_and_end_tags() {
    // The spec's e9 gets attr="default" from its DTD; without a DTD it has none.
    let expected = "<doc>
   <e1></e1>
   <e2></e2>
   <e3 id=\"elem3\" name=\"elem3\"></e3>
   <e4 id=\"elem4\" name=\"elem4\"></e4>
   <e5 xmlns=\"http://example.org\" xmlns:a=\"http://www.w3.org\" xmlns:b=\"http://www.ietf.org\" attr=\"I'm\" attr2=\"all\" b:attr=\"sorted\" a:attr=\"out\"></e5>
   <e6 xmlns:a=\"http://www.w3.org\">
      <e7 xmlns=\"http://www.ietf.org\">
         <e8 xmlns=\"\">
            <e9 xmlns:a=\"http://www.ietf.org\"></e9>
         </e8>
      </e7>
   </e6>
</doc>";
    assert_eq!(
        c14n(&corpus("spec-3.3-start-end-tags.xml"), C14N_10, whole),
        expected
    );
}

#[test]
fn c14n_spec_3_4_character_modifications_and_character_references() {
    // normNames and normId are NMTOKENS and ID in the spec's DTD, which normalises their
    // values; without a DTD they are CDATA and keep their spaces.
    let expected = "<doc>
   <text>First line&#xD;
Second line</text>
   <value>2</value>
   <compute>value&gt;\"0\" &amp;&amp; value&lt;\"10\" ?\"valid\":\"error\"</compute>
   <compute expr=\"value>&quot;0&quot; &amp;&amp; value&lt;&quot;10&quot; ?&quot;valid&quot;:&quot;error&quot;\">valid</compute>
   <norm attr=\" '    &#xD;&#xA;&#x9;   ' \"></norm>
   <normNames attr=\"   A    &#xD;&#xA;&#x9;   B   \"></normNames>
   <normId id=\" '    &#xD;&#xA;&#x9;   ' \"></normId>
</doc>";
    assert_eq!(
        c14n(
            &corpus("spec-3.4-character-modifications.xml"),
            C14N_10,
            whole
        ),
        expected
    );
}

#[test]
fn c14n_spec_3_5_entity_references_are_refused_not_expanded() {
    let input = "<!DOCTYPE doc [<!ENTITY ent1 \"Hello\">]><doc>&ent1;</doc>";
    assert!(matches!(
        parse(input.as_bytes()),
        Err(XmlError::Doctype { .. })
    ));
}

#[test]
fn c14n_spec_3_6_utf8_output() {
    assert_eq!(
        c14n(&corpus("spec-3.6-utf8.xml"), C14N_10, whole),
        "<doc>\u{A9}</doc>"
    );
}

#[test]
fn c14n_subset_apex_takes_namespaces_and_xml_attributes_from_its_ancestors() {
    // After C14N 1.0 section 3.7: e1 as apex inherits both namespaces; e2 undeclares the default.
    let input = corpus("spec-3.7-subset-context.xml");
    let e1 = |d: &Document<'_>| Subset::element(element(d, "e1"));
    assert_eq!(
        c14n(&input, C14N_10, e1),
        "<e1 xmlns=\"http://www.ietf.org\" xmlns:w3c=\"http://www.w3.org\">
      <e2 xmlns=\"\" xml:space=\"preserve\">
         <e3 id=\"E3\"></e3>
      </e2>
   </e1>"
    );
    // e3 as apex: the default namespace is undeclared above it, w3c is in scope, xml:space is
    // inherited (1.0 and 1.1) but not by exclusive canonicalization.
    let e3 = |d: &Document<'_>| Subset::element(element(d, "e3"));
    let inclusive = "<e3 xmlns:w3c=\"http://www.w3.org\" id=\"E3\" xml:space=\"preserve\"></e3>";
    assert_eq!(c14n(&input, C14N_10, e3), inclusive);
    assert_eq!(c14n(&input, C14N_11, e3), inclusive);
    assert_eq!(c14n(&input, EXC_C14N, e3), "<e3 id=\"E3\"></e3>");
}

#[test]
fn exc_c14n_spec_2_2_examples() {
    for file in ["exc-spec-2.2-a.xml", "exc-spec-2.2-b.xml"] {
        let input = corpus(file);
        let elem2 = |d: &Document<'_>| Subset::element(element(d, "elem2"));
        assert_eq!(
            c14n(&input, EXC_C14N, elem2),
            "<n1:elem2 xmlns:n1=\"http://example.net\" xml:lang=\"en\">
    <n3:stuff xmlns:n3=\"ftp://example.org\"></n3:stuff>
  </n1:elem2>",
            "{file}"
        );
    }
    let elem2 = |d: &Document<'_>| Subset::element(element(d, "elem2"));
    assert_eq!(
        c14n(&corpus("exc-spec-2.2-a.xml"), C14N_10, elem2),
        "<n1:elem2 xmlns:n0=\"foo:bar\" xmlns:n1=\"http://example.net\" xmlns:n3=\"ftp://example.org\" xml:lang=\"en\">
    <n3:stuff></n3:stuff>
  </n1:elem2>"
    );
    assert_eq!(
        c14n(&corpus("exc-spec-2.2-b.xml"), C14N_10, elem2),
        "<n1:elem2 xmlns:n1=\"http://example.net\" xmlns:n2=\"http://foo.example\" xml:lang=\"en\" xml:space=\"retain\">
    <n3:stuff xmlns:n3=\"ftp://example.org\"></n3:stuff>
  </n1:elem2>"
    );
}

#[test]
fn exc_c14n_prefix_list_renders_inherited_namespaces_at_the_apex() {
    let input = corpus("exc-spec-2.2-b.xml");
    let stuff = |d: &Document<'_>| Subset::element(element(d, "stuff"));
    assert_eq!(
        c14n_with_prefixes(&input, EXC_C14N, stuff, &["n2", "n1", "absent"]),
        "<n3:stuff xmlns:n1=\"http://example.net\" xmlns:n2=\"http://foo.example\" xmlns:n3=\"ftp://example.org\"></n3:stuff>"
    );
    let input = "<a xmlns='urn:d' xmlns:p='urn:p'><p:b><p:c/></p:b></a>";
    let b = |d: &Document<'_>| Subset::element(element(d, "b"));
    assert_eq!(
        c14n_with_prefixes(input, EXC_C14N, b, &["#default"]),
        "<p:b xmlns=\"urn:d\" xmlns:p=\"urn:p\"><p:c></p:c></p:b>"
    );
}

#[test]
fn c14n_11_does_not_inherit_xml_id_or_xml_base() {
    let input = corpus("xml-space-lang.xml");
    let c = |d: &Document<'_>| Subset::element(element(d, "c"));
    assert_eq!(
        c14n(&input, C14N_10, c),
        "<c xml:base=\"sub/\" xml:id=\"top\" xml:lang=\"en\" xml:space=\"default\">text</c>"
    );
    assert_eq!(
        c14n(&input, C14N_11, c),
        "<c xml:base=\"sub/\" xml:lang=\"en\" xml:space=\"default\">text</c>"
    );
    let e = |d: &Document<'_>| Subset::element(element(d, "e"));
    assert_eq!(
        c14n(&input, C14N_11, e),
        "<e xml:lang=\"\" xml:space=\"preserve\"></e>"
    );
}

#[test]
fn an_enveloped_signature_is_left_out_of_the_document() {
    let input = "<doc xmlns='urn:d'>\n  <data Id='d1'>x</data>\n  <ds:Signature xmlns:ds='http://www.w3.org/2000/09/xmldsig#'><ds:SignedInfo/></ds:Signature>\n<!-- c --></doc>";
    let enveloped = |d: &Document<'_>| Subset::document().excluding(element(d, "Signature"));
    // XMLDSig URI="" with the enveloped-signature transform: no comments, no signature, the
    // white space around it kept.
    assert_eq!(
        c14n(input, C14N_10, enveloped),
        "<doc xmlns=\"urn:d\">\n  <data Id=\"d1\">x</data>\n  \n</doc>"
    );
    assert_eq!(
        c14n(input, EXC_C14N_WITH_COMMENTS, enveloped),
        "<doc xmlns=\"urn:d\">\n  <data Id=\"d1\">x</data>\n  \n<!-- c --></doc>"
    );
    let doc = parse(input.as_bytes()).unwrap();
    let within = Subset::element(doc.root()).excluding(element(&doc, "Signature"));
    assert_eq!(
        canonicalize(&doc, Algorithm::from_uri(C14N_11).unwrap(), within, &[]).unwrap(),
        b"<doc xmlns=\"urn:d\">\n  <data Id=\"d1\">x</data>\n  \n</doc>"
    );
    assert_eq!(doc.element_by_id("d1"), Some(element(&doc, "data")));
}

#[test]
fn bad_requests_are_refused_with_a_reason() {
    let doc = parse(b"<a xmlns:p='urn:p'><p:b/>text</a>").unwrap();
    let e = canonicalize_with_uri(&doc, C14N_10, Subset::document(), &["p"]).unwrap_err();
    assert!(e.to_string().contains("PrefixList"), "{e}");
    let text_node = NodeId(doc.nodes().len() as u32 - 1);
    let e = canonicalize_with_uri(&doc, EXC_C14N, Subset::element(text_node), &[]).unwrap_err();
    assert!(e.to_string().contains("not an element"), "{e}");
    let relative = parse(b"<a xmlns='rel/ative'/>").unwrap();
    let e = canonicalize_with_uri(&relative, EXC_C14N, Subset::document(), &[]).unwrap_err();
    assert!(matches!(e, XmlError::RelativeNamespace { .. }), "{e}");
}
