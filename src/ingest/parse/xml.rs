//! Safe XML reading shared by the XML formats: no DTDs or entities, bounded depth and size.
//!
//! [`read_tree`] turns a whole document into an [`Element`] tree, or into one diagnostic that
//! rejects the file. It is deliberately stricter than quick-xml on its own:
//!
//! - A `<!DOCTYPE>` (and so any `<!ENTITY>` declaration) is refused, never skipped: entity
//!   expansion ("billion laughs") and external entities are impossible because nothing is ever
//!   declared. Only the five predefined entities and character references are resolved; any
//!   other `&name;` makes the document malformed (quick-xml would leave it unresolved).
//! - Depth, element count and the amount of text kept are bounded ([`XmlLimits`]), so a hostile
//!   file costs at most a bounded, document-proportional amount of memory.
//! - Well-formedness quick-xml leaves to its caller is checked here: one root element, nothing
//!   but whitespace, comments and processing instructions around it, every element closed,
//!   every prefix declared.
//!
//! Elements are matched by namespace URI and local name, never by prefix: a document is free
//! to call the UBL namespace `x:`, and a prefix `cbc:` bound to another URI must not match.

use std::collections::HashSet;
use std::sync::Arc;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use crate::diagnostic::{Diagnostic, Position, code};

/// Bounds on what one document may cost. The defaults fit the largest real files (a camt.053
/// with tens of thousands of entries has about 40 elements per entry) with a wide margin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XmlLimits {
    /// Deepest element nesting; the root is at depth 1.
    pub max_depth: usize,
    /// Elements in the whole document.
    pub max_elements: usize,
    /// Bytes of character data kept in the tree (whitespace between elements is not kept).
    pub max_text_bytes: usize,
}

impl XmlLimits {
    /// No format read by kravflyt nests deeper than about 12 levels; UBL invoices can embed
    /// attachments of several megabytes as base64 text.
    pub const DEFAULT: XmlLimits = XmlLimits {
        max_depth: 64,
        max_elements: 4_000_000,
        max_text_bytes: 256 << 20,
    };
}

impl Default for XmlLimits {
    fn default() -> Self {
        XmlLimits::DEFAULT
    }
}

/// One attribute: namespace URI (for a prefixed attribute), local name and unescaped value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub namespace: Option<Arc<str>>,
    pub name: Arc<str>,
    pub value: String,
}

/// An element of a document read by [`read_tree`].
///
/// Names and namespace URIs are interned (shared between all elements of one document), so a
/// large document costs little more than its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    namespace: Option<Arc<str>>,
    name: Arc<str>,
    attributes: Vec<Attribute>,
    /// The element's own character data (text and CDATA, references resolved), in document
    /// order; cleared when it is only whitespace between child elements.
    text: String,
    children: Vec<Element>,
    line: u64,
}

impl Element {
    /// The local name (without prefix).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace URI, `None` for an element in no namespace.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// Whether this is `{namespace}name`.
    pub fn is(&self, namespace: &str, name: &str) -> bool {
        *self.name == *name && self.namespace() == Some(namespace)
    }

    /// The 1-based line of the start tag.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The character data as written (references resolved, not trimmed).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The character data trimmed, `None` when empty.
    pub fn value(&self) -> Option<&str> {
        Some(self.text.trim()).filter(|t| !t.is_empty())
    }

    pub fn attributes(&self) -> &[Attribute] {
        &self.attributes
    }

    /// The value of an attribute in no namespace (`Ccy="NOK"`, `schemeID="0192"`).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.namespace.is_none() && *a.name == *name)
            .map(|a| a.value.as_str())
    }

    pub fn children(&self) -> &[Element] {
        &self.children
    }

    /// The first child `{namespace}name`.
    pub fn child(&self, namespace: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(namespace, name))
    }

    /// Every child `{namespace}name`, in document order.
    pub fn children_named<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(namespace, name))
    }

    /// The first element reached by following `path`, each step a `(namespace, name)` child.
    pub fn find(&self, path: &[(&str, &str)]) -> Option<&Element> {
        path.iter().try_fold(self, |element, (namespace, name)| {
            element.child(namespace, name)
        })
    }

    /// [`find`](Self::find) with every step in one namespace.
    pub fn find_in(&self, namespace: &str, path: &[&str]) -> Option<&Element> {
        path.iter()
            .try_fold(self, |element, name| element.child(namespace, name))
    }
}

/// Trims and replaces every run of whitespace (line breaks included) with one space: XML
/// wraps long names and addresses freely, and a line break inside a value means nothing.
pub fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An `xs:decimal` amount as a canonical amount text: `1656.25`, `1200.00`, `25` → `25.00`,
/// `+7.5` → `7.50`, `0100.000` → `100.00`. Text that is not a decimal, or that has more than two
/// significant decimals, is returned trimmed but otherwise as written, so validation reports it
/// in the sender's own words rather than a guess of ours.
pub fn plain_amount(text: &str) -> String {
    let trimmed = text.trim();
    let (negative, unsigned) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, trimmed.get(1..).unwrap_or("")),
        Some(b'+') => (false, trimmed.get(1..).unwrap_or("")),
        _ => (false, trimmed),
    };
    let (int_part, frac_part) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int_part.is_empty() && frac_part.is_empty())
        || !all_digits(int_part)
        || !all_digits(frac_part)
    {
        return trimmed.to_owned();
    }
    let frac = frac_part.trim_end_matches('0');
    if frac.len() > 2 {
        return trimmed.to_owned();
    }
    let int = int_part.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let is_zero = int == "0" && frac.is_empty();
    format!(
        "{}{int}.{frac:0<2}",
        if negative && !is_zero { "-" } else { "" }
    )
}

/// The `[n]` suffix of a path step: always written, so a path names one element even when a
/// sender's file happens to hold just one of them.
pub fn step(name: &str, index: usize) -> String {
    format!("{name}[{index}]")
}

/// Reads a whole document into a tree. `Err` is one diagnostic that rejects the file:
/// `unreadable_file` for a DTD, `malformed_xml` (with the line) for everything else.
pub fn read_tree(text: &str, limits: XmlLimits) -> Result<Element, Diagnostic> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    Builder::new(text, limits).run()
}

/// Builds the tree from quick-xml events: the elements still open, the finished root, and the
/// counts the limits are checked against.
struct Builder<'t> {
    reader: NsReader<&'t [u8]>,
    lines: LineCounter<'t>,
    limits: XmlLimits,
    names: HashSet<Arc<str>>,
    stack: Vec<Element>,
    root: Option<Element>,
    elements: usize,
    text_bytes: usize,
}

impl<'t> Builder<'t> {
    fn new(text: &'t str, limits: XmlLimits) -> Self {
        let mut reader = NsReader::from_str(text);
        let config = reader.config_mut();
        config.trim_text(false);
        config.expand_empty_elements = false;
        config.check_end_names = true;
        config.check_comments = true;
        config.allow_unmatched_ends = false;
        Builder {
            reader,
            lines: LineCounter::new(text),
            limits,
            names: HashSet::new(),
            stack: Vec::new(),
            root: None,
            elements: 0,
            text_bytes: 0,
        }
    }

    fn malformed_at(&mut self, offset: u64, message: impl Into<String>) -> Diagnostic {
        let line = self.lines.line_at(offset);
        Diagnostic::at(Position::Line(line), code::MALFORMED_XML, message)
    }

    fn intern(&mut self, name: &str) -> Arc<str> {
        if let Some(interned) = self.names.get(name) {
            return Arc::clone(interned);
        }
        let interned: Arc<str> = Arc::from(name);
        self.names.insert(Arc::clone(&interned));
        interned
    }

    fn run(mut self) -> Result<Element, Diagnostic> {
        loop {
            let start = self.reader.buffer_position();
            let (resolved, event) = match self.reader.read_resolved_event() {
                Ok((resolved, event)) => (owned_namespace(&resolved), event),
                Err(e) => {
                    let at = self.reader.error_position();
                    // quick-xml quotes tag names: keep a hostile one from flooding the receipt.
                    let reason: String = e.to_string().chars().take(200).collect();
                    return Err(
                        self.malformed_at(at, format!("the XML is not well-formed: {reason}"))
                    );
                }
            };
            match event {
                Event::DocType(_) => {
                    let line = self.lines.line_at(start);
                    return Err(Diagnostic::at(
                        Position::Line(line),
                        code::UNREADABLE_FILE,
                        "the document declares a DTD (<!DOCTYPE>); kravflyt never reads DTDs or entity declarations: send the document without it",
                    ));
                }
                Event::Decl(_) if self.root.is_some() || !self.stack.is_empty() => {
                    return Err(self.malformed_at(
                        start,
                        "an XML declaration after the start of the document",
                    ));
                }
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
                Event::Start(e) => {
                    let element = self.open(start, resolved, &e)?;
                    self.stack.push(element);
                }
                Event::Empty(e) => {
                    let element = self.open(start, resolved, &e)?;
                    self.close(element);
                }
                Event::End(_) => match self.stack.pop() {
                    Some(mut element) => {
                        if !element.children.is_empty() && element.text.trim().is_empty() {
                            self.text_bytes = self.text_bytes.saturating_sub(element.text.len());
                            element.text = String::new();
                        }
                        element.children.shrink_to_fit();
                        self.close(element);
                    }
                    None => {
                        return Err(
                            self.malformed_at(start, "a closing tag without an opening tag")
                        );
                    }
                },
                Event::Text(t) => {
                    let content = match t.xml10_content() {
                        Ok(content) => content,
                        Err(e) => {
                            return Err(self.malformed_at(start, format!("unreadable text: {e}")));
                        }
                    };
                    // A problem in text is reported on the line where its first character is.
                    let lead = t.iter().take_while(|b| b.is_ascii_whitespace()).count();
                    self.append(start + lead as u64, &content, "text")?;
                }
                Event::CData(t) => {
                    let content = match t.xml10_content() {
                        Ok(content) => content,
                        Err(e) => {
                            return Err(self.malformed_at(start, format!("unreadable CDATA: {e}")));
                        }
                    };
                    if self.stack.is_empty() {
                        return Err(
                            self.malformed_at(start, "a CDATA section outside the root element")
                        );
                    }
                    self.append(start, &content, "CDATA")?;
                }
                Event::GeneralRef(r) => {
                    let name = String::from_utf8_lossy(&r).into_owned();
                    let resolved = if r.is_char_ref() {
                        r.resolve_char_ref()
                            .ok()
                            .flatten()
                            .filter(|c| is_xml_char(*c))
                    } else {
                        predefined_entity(&name)
                    };
                    let Some(c) = resolved else {
                        let shown: String = name.chars().take(40).collect();
                        return Err(self.malformed_at(
                            start,
                            format!(
                                "`&{shown};` is not a character reference or one of the predefined entities (&lt; &gt; &amp; &apos; &quot;); kravflyt does not read entity declarations: write the character itself"
                            ),
                        ));
                    };
                    self.append(start, c.encode_utf8(&mut [0; 4]), "a reference")?;
                }
                Event::Eof => {
                    if let Some(open) = self.stack.last() {
                        let message = format!(
                            "the document ends inside element `{}` opened on line {}: the file is cut off or a closing tag is missing",
                            short(&open.name),
                            open.line
                        );
                        let end = self.reader.buffer_position();
                        return Err(self.malformed_at(end, message));
                    }
                    return match self.root.take() {
                        Some(root) => Ok(root),
                        None => Err(self.malformed_at(start, "the document has no root element")),
                    };
                }
            }
        }
    }

    /// A new element from its start tag, checked against the limits.
    fn open(
        &mut self,
        start: u64,
        namespace: Result<Option<String>, String>,
        tag: &BytesStart<'_>,
    ) -> Result<Element, Diagnostic> {
        let local = tag.local_name();
        let local = String::from_utf8_lossy(local.as_ref()).into_owned();
        let shown = short(&local);
        if let Some(root) = &self.root {
            let message = format!(
                "a second root element `{shown}` after the root element `{}`: a document has exactly one",
                short(&root.name)
            );
            return Err(self.malformed_at(start, message));
        }
        if self.stack.len() >= self.limits.max_depth {
            let message = format!(
                "elements are nested more than {} deep, more than any format kravflyt reads",
                self.limits.max_depth
            );
            return Err(self.malformed_at(start, message));
        }
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            let message = format!(
                "the document has more than {} elements; split it into smaller files",
                self.limits.max_elements
            );
            return Err(self.malformed_at(start, message));
        }
        let namespace = match namespace {
            Ok(ns) => ns.map(|ns| self.intern(&ns)),
            Err(prefix) => {
                let message = format!(
                    "the prefix `{}` of element `{shown}` is not declared",
                    short(&prefix)
                );
                return Err(self.malformed_at(start, message));
            }
        };
        let mut attributes = Vec::new();
        // Duplicates are found with a set: quick-xml's own check compares every attribute with
        // every earlier one, which takes minutes for a start tag of 200 000 attributes.
        let mut names = HashSet::new();
        for attribute in tag.attributes().with_checks(false) {
            let attribute = match attribute {
                Ok(a) => a,
                Err(e) => {
                    let message = format!("a malformed attribute in element `{shown}`: {e}");
                    return Err(self.malformed_at(start, message));
                }
            };
            let key = attribute.key;
            if !names.insert(key.into_inner()) {
                let message = format!(
                    "attribute `{}` appears twice in element `{shown}`",
                    short(&String::from_utf8_lossy(key.as_ref()))
                );
                return Err(self.malformed_at(start, message));
            }
            if key.as_namespace_binding().is_some() {
                continue;
            }
            let (resolved, attribute_local) = self.reader.resolve_attribute(key);
            let attribute_namespace = owned_namespace(&resolved);
            let attribute_local = String::from_utf8_lossy(attribute_local.as_ref()).into_owned();
            let attribute_namespace = match attribute_namespace {
                Ok(ns) => ns.map(|ns| self.intern(&ns)),
                Err(prefix) => {
                    let message = format!(
                        "the prefix `{}` of attribute `{}` is not declared",
                        short(&prefix),
                        short(&attribute_local)
                    );
                    return Err(self.malformed_at(start, message));
                }
            };
            let value = match attribute.decode_and_unescape_value(self.reader.decoder()) {
                Ok(v) => v.into_owned(),
                Err(e) => {
                    let message = format!(
                        "attribute `{}` of element `{shown}` cannot be read: {e}; kravflyt resolves only character references and the predefined entities",
                        short(&attribute_local)
                    );
                    return Err(self.malformed_at(start, message));
                }
            };
            self.count_text(start, value.len())?;
            let name = self.intern(&attribute_local);
            attributes.push(Attribute {
                namespace: attribute_namespace,
                name,
                value,
            });
        }
        // Indentation before the first child is not kept either.
        if let Some(parent) = self.stack.last_mut()
            && parent.children.is_empty()
            && !parent.text.is_empty()
            && parent.text.trim().is_empty()
        {
            self.text_bytes = self.text_bytes.saturating_sub(parent.text.len());
            parent.text = String::new();
        }
        let name = self.intern(&local);
        let line = self.lines.line_at(start);
        Ok(Element {
            namespace,
            name,
            attributes,
            text: String::new(),
            children: Vec::new(),
            line,
        })
    }

    /// Attaches a finished element to its parent, or makes it the root.
    fn close(&mut self, element: Element) {
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(element),
            None => self.root = Some(element),
        }
    }

    fn append(&mut self, start: u64, content: &str, what: &str) -> Result<(), Diagnostic> {
        if self.stack.is_empty() {
            if content.trim().is_empty() {
                return Ok(());
            }
            let message = if self.root.is_some() {
                format!("{what} after the root element has closed")
            } else {
                format!("{what} before the root element")
            };
            return Err(self.malformed_at(start, message));
        }
        let keep = match self.stack.last() {
            // Indentation between child elements is not kept.
            Some(open) => open.children.is_empty() || !content.trim().is_empty(),
            None => false,
        };
        if keep {
            self.count_text(start, content.len())?;
            if let Some(open) = self.stack.last_mut() {
                open.text.push_str(content);
            }
        }
        Ok(())
    }

    fn count_text(&mut self, start: u64, bytes: usize) -> Result<(), Diagnostic> {
        self.text_bytes = self.text_bytes.saturating_add(bytes);
        if self.text_bytes > self.limits.max_text_bytes {
            let message = format!(
                "the document holds more than {} bytes of text; split it into smaller files",
                self.limits.max_text_bytes
            );
            return Err(self.malformed_at(start, message));
        }
        Ok(())
    }
}

/// A resolved namespace as an owned URI: `Ok(None)` for no namespace, `Err(prefix)` for a
/// prefix that is not declared.
fn owned_namespace(resolved: &ResolveResult<'_>) -> Result<Option<String>, String> {
    match resolved {
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Bound(ns) => Ok(Some(String::from_utf8_lossy(ns.as_ref()).into_owned())),
        ResolveResult::Unknown(prefix) => Err(String::from_utf8_lossy(prefix).into_owned()),
    }
}

/// A name as shown in a message: a hostile file must not flood the receipt.
fn short(name: &str) -> String {
    const MAX: usize = 40;
    if name.chars().count() <= MAX {
        name.to_owned()
    } else {
        let mut short: String = name.chars().take(MAX).collect();
        short.push('…');
        short
    }
}

fn predefined_entity(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "apos" => Some('\''),
        "quot" => Some('"'),
        _ => None,
    }
}

/// The characters XML 1.0 allows in a document (`Char` production).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Byte offset → 1-based line, counting forward; offsets only grow while a document is read,
/// so the whole document is scanned once. An earlier offset is counted from the start again.
struct LineCounter<'t> {
    text: &'t [u8],
    offset: usize,
    line: u64,
}

impl<'t> LineCounter<'t> {
    fn new(text: &'t str) -> Self {
        LineCounter {
            text: text.as_bytes(),
            offset: 0,
            line: 1,
        }
    }

    fn line_at(&mut self, offset: u64) -> u64 {
        let offset = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        if offset < self.offset {
            self.offset = 0;
            self.line = 1;
        }
        let newlines = self
            .text
            .get(self.offset..offset)
            .map_or(0, |s| s.iter().filter(|b| **b == b'\n').count());
        self.line += newlines as u64;
        self.offset = offset;
        self.line
    }
}

/// Test support for the XML parsers' property tests.
#[cfg(test)]
pub(crate) mod testing {
    /// `text` with `delete` characters at character `at` (both taken modulo the text's length)
    /// replaced by `insert`: a small random edit of a valid document.
    pub(crate) fn mutate(text: &str, at: usize, delete: usize, insert: &str) -> String {
        let chars: Vec<char> = text.chars().collect();
        let at = at % (chars.len() + 1);
        let end = at.saturating_add(delete % 16).min(chars.len());
        let mut out: String = chars.get(..at).unwrap_or(&[]).iter().collect();
        out.push_str(insert);
        out.extend(chars.get(end..).unwrap_or(&[]).iter());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NS: &str = "urn:example:a";

    fn read(text: &str) -> Result<Element, Diagnostic> {
        read_tree(text, XmlLimits::DEFAULT)
    }

    fn malformed_line(text: &str) -> u64 {
        let error = read(text).unwrap_err();
        assert_eq!(error.code, code::MALFORMED_XML, "{error}");
        match error.position {
            Position::Line(n) => n,
            other => panic!("no line: {other:?}"),
        }
    }

    #[test]
    fn builds_a_tree_with_namespaces_attributes_and_lines() {
        let text = "\u{feff}<?xml version=\"1.0\"?>\n<!-- hello -->\n<r xmlns=\"urn:example:a\" xmlns:b=\"urn:example:b\">\n  <b:x id=\"7\" b:y=\"z\">  one &amp; two &#x41;&#66; <![CDATA[<raw>]]> </b:x>\n  <x>plain</x><e/>\n</r>\n<?pi after?>\n";
        let root = read(text).unwrap();
        assert!(root.is(NS, "r"));
        assert_eq!(root.line(), 3);
        assert_eq!(root.text(), "");
        assert_eq!(root.children().len(), 3);
        let bx = root.child("urn:example:b", "x").unwrap();
        assert_eq!(bx.text(), "  one & two AB <raw> ");
        assert_eq!(bx.value(), Some("one & two AB <raw>"));
        assert_eq!(bx.attribute("id"), Some("7"));
        assert_eq!(
            bx.attribute("y"),
            None,
            "a namespaced attribute is not a plain one"
        );
        assert_eq!(bx.line(), 4);
        assert_eq!(root.child(NS, "x").unwrap().value(), Some("plain"));
        assert_eq!(root.find_in(NS, &["e"]).unwrap().value(), None);
        assert_eq!(root.children_named(NS, "x").count(), 1);
        assert_eq!(root.child(NS, "e").unwrap().line(), 5);
    }

    #[test]
    fn names_match_by_namespace_uri_never_by_prefix() {
        let spoofed = r#"<cbc:ID xmlns:cbc="urn:example:evil">1</cbc:ID>"#;
        let root = read(spoofed).unwrap();
        assert!(!root.is("urn:example:real", "ID"));
        assert!(root.is("urn:example:evil", "ID"));
        let renamed = r#"<q:ID xmlns:q="urn:example:real">1</q:ID>"#;
        assert!(read(renamed).unwrap().is("urn:example:real", "ID"));
        let none = "<ID>1</ID>";
        assert_eq!(read(none).unwrap().namespace(), None);
        // A default namespace undeclared on a child puts it in no namespace.
        let undeclared = r#"<a xmlns="urn:example:a"><b xmlns="">1</b></a>"#;
        let root = read(undeclared).unwrap();
        assert_eq!(root.children()[0].namespace(), None);
    }

    #[test]
    fn dtds_and_entities_are_refused() {
        let dtd = "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY a \"b\">]>\n<r>&a;</r>";
        let error = read(dtd).unwrap_err();
        assert_eq!(error.code, code::UNREADABLE_FILE);
        assert_eq!(error.position, Position::Line(2));
        let external = "<!DOCTYPE r SYSTEM \"file:///etc/passwd\"><r/>";
        assert_eq!(read(external).unwrap_err().code, code::UNREADABLE_FILE);
        assert_eq!(malformed_line("<r>\n&foo;</r>"), 2);
        assert_eq!(malformed_line("<r a=\"&foo;\"/>"), 1);
        assert_eq!(malformed_line("<r>&#0;</r>"), 1);
        assert_eq!(malformed_line("<r>&#1;</r>"), 1);
        assert!(read("<!ENTITY a \"b\"><r/>").is_err());
    }

    #[test]
    fn not_well_formed_documents_are_refused_with_the_line() {
        assert_eq!(malformed_line("<r>\n<a>\n</b>\n</r>"), 3);
        assert_eq!(malformed_line("<r>\n<a>x</a>\n"), 3);
        assert_eq!(malformed_line("<r/>\ntext"), 2);
        assert_eq!(malformed_line("<r/>\n<r/>"), 2);
        assert_eq!(malformed_line("text<r/>"), 1);
        assert_eq!(malformed_line("<r>\n<p:a/></r>"), 2);
        assert_eq!(malformed_line("</r>"), 1);
        assert_eq!(malformed_line(""), 1);
        assert_eq!(malformed_line("  \n<!-- only a comment -->"), 2);
        assert_eq!(malformed_line("<r a=\"1\" a=\"2\"/>"), 1);
        assert_eq!(malformed_line("<r>a & b</r>"), 1);
        assert_eq!(malformed_line("<r><![CDATA[x</r>"), 1);
        assert_eq!(malformed_line("<r/><![CDATA[x]]>"), 1);
        assert!(read("<r><a></r>").is_err());
        assert!(read("<r/><?xml version=\"1.0\"?>").is_err());
    }

    #[test]
    fn limits_are_enforced() {
        let deep = format!("{}{}", "<a>".repeat(65), "</a>".repeat(65));
        assert!(read(&deep).is_err());
        let ok = format!("{}{}", "<a>".repeat(64), "</a>".repeat(64));
        assert!(read(&ok).is_ok());
        let small = XmlLimits {
            max_depth: 64,
            max_elements: 3,
            max_text_bytes: 10,
        };
        assert!(read_tree("<r><a/><b/></r>", small).is_ok());
        let error = read_tree("<r><a/><b/><c/></r>", small).unwrap_err();
        assert_eq!(error.code, code::MALFORMED_XML);
        assert!(error.message.contains("more than 3 elements"), "{error}");
        assert!(read_tree("<r>0123456789</r>", small).is_ok());
        assert!(read_tree("<r>0123456789a</r>", small).is_err());
        assert!(read_tree("<r a=\"0123456789a\"/>", small).is_err());
        // Whitespace between elements is not kept, so it does not use up the budget for long.
        let spaced = format!("<r>{}<a/>{}<b/></r>", " ".repeat(9), " ".repeat(9));
        assert!(read_tree(&spaced, small).is_ok());
    }

    #[test]
    fn a_large_document_reads_in_linear_time() {
        let mut text = String::from("<r xmlns=\"urn:example:a\">\n");
        for i in 0..20_000 {
            text.push_str(&format!("<e n=\"{i}\"><v>{i}</v></e>\n"));
        }
        text.push_str("</r>");
        let root = read(&text).unwrap();
        assert_eq!(root.children().len(), 20_000);
        let last = root.children().last().unwrap();
        assert_eq!(last.line(), 20_001);
        assert_eq!(last.find_in(NS, &["v"]).unwrap().value(), Some("19999"));
    }

    #[test]
    fn amounts_become_plain_two_decimal_text() {
        for (raw, plain) in [
            ("1656.25", "1656.25"),
            ("25", "25.00"),
            (" 1200.00 ", "1200.00"),
            ("+7.5", "7.50"),
            ("0100.000", "100.00"),
            (".5", "0.50"),
            ("5.", "5.00"),
            ("-250", "-250.00"),
            ("-0.00", "0.00"),
            ("0", "0.00"),
        ] {
            assert_eq!(plain_amount(raw), plain, "{raw}");
        }
        for odd in ["1.005", "1,5", "abc", "", "-", ".", "1.2.3", "1 000"] {
            assert_eq!(plain_amount(odd), odd.trim(), "{odd}");
        }
    }

    #[test]
    fn whitespace_collapses() {
        assert_eq!(collapse_whitespace("  Ola \n\t Nordmann  "), "Ola Nordmann");
        assert_eq!(collapse_whitespace(" \n "), "");
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(text in "\\PC{0,200}") {
            let _ = read(&text);
        }

        #[test]
        fn never_panics_on_xml_like_text(text in "[<>/a-c:=\"' &;#x0-9!\\[\\]?-]{0,120}") {
            let _ = read(&text);
        }
    }
}
