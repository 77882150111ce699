"""Canonical forms of one XML file as libxml2 makes them, through lxml: the reference the
interoperability tests compare the Rust canonicalizer with, for what `xmllint` cannot do
(dropping comments, an InclusiveNamespaces PrefixList, an element subset).

usage: libxml2_c14n.py FILE PREFIXES...
prints one line per case: KEY <tab> HEX OF THE CANONICAL BYTES (or "ERROR message").
"""
import sys

from lxml import etree

XML_NS = "{http://www.w3.org/XML/1998/namespace}"


def emit(key, make):
    try:
        print(key + "\t" + make().hex())
    except Exception as e:  # noqa: BLE001 - the test shows libxml2's refusal as it is
        print(key + "\tERROR " + str(e).replace("\n", " "))


def main():
    path = sys.argv[1]
    # lxml keeps only prefixes it finds in the document's dictionary, so "#default" would be
    # dropped silently: libxml2 takes "" for the default namespace as well.
    prefixes = ["" if p == "#default" else p for p in sys.argv[2:]]
    parser = etree.XMLParser(resolve_entities=False, remove_blank_text=False, no_network=True)
    tree = etree.parse(path, parser)
    for comments in (0, 1):
        c = bool(comments)
        emit(f"doc c14n {comments}", lambda: etree.tostring(tree, method="c14n", with_comments=c))
        emit(f"doc exc {comments}", lambda: etree.tostring(
            tree, method="c14n", exclusive=True, with_comments=c))
        emit(f"doc exc-prefixes {comments}", lambda: etree.tostring(
            tree, method="c14n", exclusive=True, with_comments=c, inclusive_ns_prefixes=prefixes))
        for i, element in enumerate(tree.iter(tag=etree.Element)):
            # For a subset, lxml copies the ancestors' namespace declarations onto the element (a
            # stand-in document), which libxml2 then mishandles in two cases: inclusive
            # canonicalization (an inherited default namespace comes out as xmlns="" on
            # descendants) and a PrefixList (an inherited namespace it names is not rendered).
            # lxml also drops the xml:* attributes inclusive canonicalization inherits. Those
            # cases are compared only where the ancestors declare and carry nothing, so the subset
            # is a document of its own; the others are hand-checked in src/c14n/tests.rs.
            ancestors = list(element.iterancestors())
            inherits = any(k.startswith(XML_NS) for a in ancestors for k in a.attrib)
            declares = any(len(a.nsmap) > 0 for a in ancestors)
            emit(f"element {i} exc {comments}", lambda: etree.tostring(
                element, method="c14n", exclusive=True, with_comments=c))
            if declares or inherits:
                continue
            emit(f"element {i} exc-prefixes {comments}", lambda: etree.tostring(
                element, method="c14n", exclusive=True, with_comments=c,
                inclusive_ns_prefixes=prefixes))
            emit(f"element {i} c14n {comments}", lambda: etree.tostring(
                element, method="c14n", with_comments=c))


main()
