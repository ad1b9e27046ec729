//! Helpers that turn a parse-tree element into typed fields, leaving unknown attributes and
//! children aside for preservation.

use crate::error::{ReadError, clip};
use crate::guid::Guid;
use crate::xml::{Child, Node, RawNode};

/// The attributes of one element, consumed one by one; what is left is "unknown".
pub(crate) struct Attrs {
    element: String,
    pos: usize,
    list: Vec<(String, String)>,
}

impl Attrs {
    pub(crate) fn of(node: &mut Node) -> Self {
        Self {
            element: node.name.clone(),
            pos: node.pos,
            list: std::mem::take(&mut node.attrs),
        }
    }

    pub(crate) fn take(&mut self, name: &str) -> Option<String> {
        let i = self.list.iter().position(|(k, _)| k == name)?;
        Some(self.list.remove(i).1)
    }

    pub(crate) fn required(&mut self, name: &'static str) -> Result<String, ReadError> {
        self.take(name).ok_or_else(|| ReadError::MissingAttribute {
            position: self.pos,
            element: self.element.clone(),
            attribute: name,
        })
    }

    pub(crate) fn bad(&self, attribute: &str, value: &str, expected: &'static str) -> ReadError {
        ReadError::BadAttribute {
            position: self.pos,
            element: self.element.clone(),
            attribute: attribute.to_owned(),
            value: clip(value),
            expected,
        }
    }

    /// A `yes`/`no` boolean (docs/vss-restore.md §1.2; `true`/`false`/`1`/`0` accepted, any case).
    pub(crate) fn bool(&mut self, name: &str) -> Result<Option<bool>, ReadError> {
        let Some(v) = self.take(name) else {
            return Ok(None);
        };
        match v.trim().to_ascii_lowercase().as_str() {
            "yes" | "true" | "1" => Ok(Some(true)),
            "no" | "false" | "0" => Ok(Some(false)),
            _ => Err(self.bad(name, &v, "yes or no")),
        }
    }

    /// A decimal unsigned 32-bit number (the bit masks are written in decimal).
    pub(crate) fn u32(&mut self, name: &str) -> Result<Option<u32>, ReadError> {
        let Some(v) = self.take(name) else {
            return Ok(None);
        };
        let t = v.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.bad(name, &v, "a decimal number"));
        }
        t.parse::<u32>()
            .map(Some)
            .map_err(|_| self.bad(name, &v, "a decimal number below 2^32"))
    }

    pub(crate) fn guid(&mut self, name: &str) -> Result<Option<Guid>, ReadError> {
        let Some(v) = self.take(name) else {
            return Ok(None);
        };
        v.parse::<Guid>()
            .map(Some)
            .map_err(|_| self.bad(name, &v, "a GUID (8-4-4-4-12 hex digits)"))
    }

    pub(crate) fn guid_required(&mut self, name: &'static str) -> Result<Guid, ReadError> {
        let v = self.required(name)?;
        v.parse::<Guid>()
            .map_err(|_| self.bad(name, &v, "a GUID (8-4-4-4-12 hex digits)"))
    }

    pub(crate) fn rest(self) -> Vec<(String, String)> {
        self.list
    }
}

/// Child elements of a node, and what is left over (unknown elements and text).
pub(crate) fn split_children(node: &mut Node) -> (Vec<Node>, Vec<RawNode>) {
    // All text of a modelled element is merged into one node, so that writing it back (after
    // the modelled children) and reading it again gives the same model.
    let mut elements = Vec::new();
    let mut text = String::new();
    for c in std::mem::take(&mut node.children) {
        match c {
            Child::Element(n) => elements.push(n),
            Child::Text(t) => text.push_str(&t),
        }
    }
    let other = if text.is_empty() {
        Vec::new()
    } else {
        vec![RawNode::Text(text)]
    };
    (elements, other)
}

/// Sets a once-only child, failing on a second occurrence.
pub(crate) fn once<T>(slot: &mut Option<T>, value: T, node: &Node) -> Result<(), ReadError> {
    if slot.is_some() {
        return Err(ReadError::Duplicate {
            position: node.pos,
            element: node.name.clone(),
        });
    }
    *slot = Some(value);
    Ok(())
}

/// Keeps an element nobody models.
pub(crate) fn keep(other: &mut Vec<RawNode>, node: Node) {
    other.push(RawNode::Element(node.into_raw()));
}

/// Everything below an element whose children are not modelled.
pub(crate) fn leftovers(mut node: Node) -> Vec<RawNode> {
    let (children, mut other) = split_children(&mut node);
    for c in children {
        keep(&mut other, c);
    }
    other
}
