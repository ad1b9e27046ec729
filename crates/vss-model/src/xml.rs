//! A small element tree over quick-xml, used by both document readers, plus the writer side.
//!
//! Why a tree first: child order in real documents is not fixed (docs/vss-restore.md §1.2: the WMI writer puts
//! `RESTORE_METHOD` after `BACKUP_LOCATIONS`), and unknown elements must be kept verbatim.
//! Whitespace-only text is layout (the real files are sometimes one line, sometimes
//! indented) and is dropped; comments and processing instructions are dropped; other text and
//! CDATA are kept as [`RawNode::Text`].

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::error::{ReadError, clip};

/// Deepest element nesting the reader accepts. Real documents nest 5 levels.
pub const MAX_DEPTH: usize = 128;

/// An element kept as it was read (used for elements this crate does not model).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct RawElement {
    /// Element name as written (prefix included).
    pub name: String,
    /// Attributes in document order, values unescaped.
    pub attributes: Vec<(String, String)>,
    /// Children in document order.
    pub children: Vec<RawNode>,
}

/// A child of a [`RawElement`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum RawNode {
    /// A child element.
    Element(RawElement),
    /// Non-blank text (or CDATA), unescaped.
    Text(String),
}

/// An element of the parse tree, with its position for error messages.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) name: String,
    pub(crate) pos: usize,
    pub(crate) attrs: Vec<(String, String)>,
    pub(crate) children: Vec<Child>,
}

#[derive(Debug, Clone)]
pub(crate) enum Child {
    Element(Node),
    Text(String),
}

impl Node {
    pub(crate) fn into_raw(self) -> RawElement {
        RawElement {
            name: self.name,
            attributes: self.attrs,
            children: self
                .children
                .into_iter()
                .map(|c| match c {
                    Child::Element(n) => RawNode::Element(n.into_raw()),
                    Child::Text(t) => RawNode::Text(t),
                })
                .collect(),
        }
    }
}

fn xml_err(reader: &Reader<&[u8]>, e: &dyn std::fmt::Display) -> ReadError {
    ReadError::Xml {
        position: usize::try_from(reader.error_position()).unwrap_or(usize::MAX),
        message: e.to_string(),
    }
}

fn open(reader: &Reader<&[u8]>, start: &BytesStart<'_>, pos: usize) -> Result<Node, ReadError> {
    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
    // quick-xml reads `<` followed by white space as an element with an empty name, which
    // could not be written back: only an XML name is an element.
    if !is_xml_name(&name) {
        return Err(ReadError::Xml {
            position: pos,
            message: format!(
                "`<{}` does not start an element with a valid name",
                clip(&name)
            ),
        });
    }
    let mut attrs = Vec::new();
    // quick-xml's own duplicate check compares each attribute with every earlier one (a
    // document with 200,000 attributes took 34 s); a set of the names seen keeps it linear.
    let mut seen = std::collections::HashSet::new();
    for attr in start.attributes().with_checks(false) {
        let attr = attr.map_err(|e| xml_err(reader, &e))?;
        let raw_key: &[u8] = attr.key.into_inner();
        let key = String::from_utf8_lossy(raw_key).into_owned();
        // quick-xml without its (quadratic) checks takes any bytes up to `=` as a name: only
        // an XML name is an attribute (it must also be writable back).
        if !is_xml_name(&key) {
            return Err(ReadError::Xml {
                position: pos,
                message: format!("<{name}>: `{key}` is not a valid attribute name"),
            });
        }
        // The names as they are in the document: no copy per attribute.
        if !seen.insert(raw_key) {
            return Err(ReadError::Xml {
                position: pos,
                message: format!("<{name}>: duplicate attribute `{key}`"),
            });
        }
        let value = attr.unescape_value().map_err(|e| ReadError::Xml {
            position: pos,
            message: format!("<{name}> attribute `{key}`: {e}"),
        })?;
        attrs.push((key, value.into_owned()));
    }
    Ok(Node {
        name,
        pos,
        attrs,
        children: Vec::new(),
    })
}

/// Whether `s` is an XML name (XML 1.0 `Name`, with any non-ASCII character allowed): a
/// letter, `_` or `:` first, then letters, digits, `_`, `:`, `-`, `.`.
fn is_xml_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || c == ':' || !c.is_ascii())
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | ':' | '-' | '.') || !c.is_ascii())
}

/// Parses text into the root element tree and checks the root's name.
pub(crate) fn parse_tree(text: &str, expected_root: &'static str) -> Result<Node, ReadError> {
    let root = parse_any(text, expected_root)?;
    if root.name != expected_root {
        return Err(ReadError::WrongRoot {
            position: root.pos,
            found: clip(&root.name),
            expected: expected_root,
        });
    }
    Ok(root)
}

/// Parses text into the root element tree, whatever the root is (`expected_root` only names
/// what was hoped for in the "no root" error).
pub(crate) fn parse_any(text: &str, expected_root: &'static str) -> Result<Node, ReadError> {
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.trim_text(false);
    config.check_end_names = true;
    config.expand_empty_elements = false;

    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    // Text of the current element, gathered across Text/GeneralRef/CData events.
    let mut text = String::new();

    loop {
        let pos = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader.read_event().map_err(|e| xml_err(&reader, &e))?;
        match event {
            Event::Start(start) | Event::Empty(start) if root.is_some() => {
                let _ = start;
                return Err(ReadError::Xml {
                    position: pos,
                    message: "content after the root element".into(),
                });
            }
            Event::Start(start) => {
                flush_text(&mut stack, &mut text);
                if stack.len() >= MAX_DEPTH {
                    return Err(ReadError::TooDeep {
                        position: pos,
                        limit: MAX_DEPTH,
                    });
                }
                let node = open(&reader, &start, pos)?;
                stack.push(node);
            }
            Event::Empty(start) => {
                flush_text(&mut stack, &mut text);
                let node = open(&reader, &start, pos)?;
                close(&mut stack, &mut root, node);
            }
            Event::End(_) => {
                flush_text(&mut stack, &mut text);
                if let Some(node) = stack.pop() {
                    close(&mut stack, &mut root, node);
                } else {
                    return Err(ReadError::Xml {
                        position: pos,
                        message: "end tag without start tag".into(),
                    });
                }
            }
            Event::Text(t) => {
                let s = t.decode().map_err(|e| xml_err(&reader, &e))?;
                if stack.is_empty() {
                    if !s.trim().is_empty() {
                        return Err(ReadError::Xml {
                            position: pos,
                            message: format!("text outside the root element: {:?}", clip(&s)),
                        });
                    }
                } else {
                    text.push_str(&s);
                }
            }
            Event::CData(c) => {
                if stack.is_empty() {
                    return Err(ReadError::Xml {
                        position: pos,
                        message: "CDATA outside the root element".into(),
                    });
                }
                let s = c.decode().map_err(|e| xml_err(&reader, &e))?;
                text.push_str(&s);
            }
            Event::GeneralRef(r) => {
                let c = if let Some(c) = r.resolve_char_ref().map_err(|e| xml_err(&reader, &e))? {
                    c
                } else {
                    {
                        let name = r.decode().map_err(|e| xml_err(&reader, &e))?;
                        match name.as_ref() {
                            "lt" => '<',
                            "gt" => '>',
                            "amp" => '&',
                            "apos" => '\'',
                            "quot" => '"',
                            other => {
                                return Err(ReadError::Xml {
                                    position: pos,
                                    message: format!("unknown entity &{};", clip(other)),
                                });
                            }
                        }
                    }
                };
                if stack.is_empty() {
                    return Err(ReadError::Xml {
                        position: pos,
                        message: "reference outside the root element".into(),
                    });
                }
                text.push(c);
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(ReadError::Xml {
            position: open.pos,
            message: format!("<{}> is never closed", open.name),
        });
    }
    root.ok_or(ReadError::NoRoot {
        expected: expected_root,
    })
}

fn flush_text(stack: &mut [Node], text: &mut String) {
    if text.is_empty() {
        return;
    }
    let t = std::mem::take(text);
    if t.trim().is_empty() {
        return;
    }
    if let Some(top) = stack.last_mut() {
        top.children.push(Child::Text(t));
    }
}

fn close(stack: &mut [Node], root: &mut Option<Node>, node: Node) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(Child::Element(node)),
        None => *root = Some(node),
    }
}

/// Escapes text for an attribute value (double-quoted). Line breaks and tabs become character
/// references so that they survive attribute-value normalisation of other XML readers.
pub(crate) fn escape_attr(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
}

fn escape_text(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// Builder for one element on output.
pub(crate) struct ElementWriter {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Out>,
}

pub(crate) enum Out {
    Element(ElementWriter),
    Text(String),
}

impl ElementWriter {
    pub(crate) fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Adds an attribute.
    pub(crate) fn attr(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.attrs.push((key.to_owned(), value.into()));
        self
    }

    /// Adds an attribute when present.
    pub(crate) fn opt(&mut self, key: &str, value: Option<impl Into<String>>) -> &mut Self {
        if let Some(v) = value {
            self.attrs.push((key.to_owned(), v.into()));
        }
        self
    }

    /// Adds a yes/no attribute when present.
    pub(crate) fn opt_bool(&mut self, key: &str, value: Option<bool>) -> &mut Self {
        self.opt(key, value.map(yes_no))
    }

    /// Adds preserved attributes.
    pub(crate) fn extra(&mut self, attrs: &[(String, String)]) -> &mut Self {
        self.attrs.extend(attrs.iter().cloned());
        self
    }

    /// Adds a child element.
    pub(crate) fn child(&mut self, child: ElementWriter) -> &mut Self {
        self.children.push(Out::Element(child));
        self
    }

    /// Adds preserved raw children.
    pub(crate) fn raw_children(&mut self, nodes: &[RawNode]) -> &mut Self {
        for n in nodes {
            self.children.push(match n {
                RawNode::Element(e) => Out::Element(Self::from_raw(e)),
                RawNode::Text(t) => Out::Text(t.clone()),
            });
        }
        self
    }

    fn from_raw(e: &RawElement) -> Self {
        let mut w = Self::new(&e.name);
        w.extra(&e.attributes);
        w.raw_children(&e.children);
        w
    }

    /// Serialises into `out`, indenting with two spaces per level when `indent` is set.
    pub(crate) fn write(&self, out: &mut String, indent: Option<usize>) {
        if let Some(level) = indent {
            for _ in 0..level {
                out.push_str("  ");
            }
        }
        out.push('<');
        out.push_str(&self.name);
        for (k, v) in &self.attrs {
            out.push(' ');
            out.push_str(k);
            out.push_str("=\"");
            escape_attr(out, v);
            out.push('"');
        }
        if self.children.is_empty() {
            out.push_str("/>");
            if indent.is_some() {
                out.push('\n');
            }
            return;
        }
        out.push('>');
        let has_text = self.children.iter().any(|c| matches!(c, Out::Text(_)));
        // Mixed content is written without indentation so that no blank text is invented.
        let child_indent = if has_text {
            None
        } else {
            indent.map(|l| l + 1)
        };
        if child_indent.is_some() {
            out.push('\n');
        }
        for c in &self.children {
            match c {
                Out::Element(e) => e.write(out, child_indent),
                Out::Text(t) => escape_text(out, t),
            }
        }
        if let (Some(level), Some(_)) = (indent, child_indent) {
            for _ in 0..level {
                out.push_str("  ");
            }
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
        if indent.is_some() {
            out.push('\n');
        }
    }
}

/// `yes` / `no`, the boolean spelling of the real documents (docs/vss-restore.md §1.2).
pub(crate) fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
