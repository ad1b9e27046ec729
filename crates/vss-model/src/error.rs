//! Errors of reading a VSS document (WMD or BCD).

use thiserror::Error;

/// Why a Writer Metadata Document or Backup Components Document could not be read.
///
/// Every variant names where the problem is: a byte offset into the *decoded* text (for a
/// UTF-16 input that is an offset into the UTF-8 re-encoding, which is what the reader
/// works on) and, where there is one, the element concerned.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReadError {
    /// The bytes are not text in an encoding we recognise (UTF-8/ASCII, UTF-16LE/BE with or
    /// without BOM).
    #[error("not a text document: {reason}")]
    Encoding {
        /// What was wrong with the bytes.
        reason: String,
    },
    /// The XML itself is malformed (quick-xml's diagnosis).
    #[error("malformed XML at byte {position:#x}: {message}")]
    Xml {
        /// Offset into the decoded text.
        position: usize,
        /// quick-xml's message.
        message: String,
    },
    /// Elements are nested deeper than this reader accepts (a guard against hostile input).
    #[error("elements nested deeper than {limit} at byte {position:#x}")]
    TooDeep {
        /// Offset into the decoded text.
        position: usize,
        /// The nesting limit.
        limit: usize,
    },
    /// The document has no root element.
    #[error("no root element: expected <{expected}>")]
    NoRoot {
        /// The root element that was expected.
        expected: &'static str,
    },
    /// The root element is not the one this reader reads.
    #[error("root element at byte {position:#x} is <{found}>, expected <{expected}>")]
    WrongRoot {
        /// Offset into the decoded text.
        position: usize,
        /// The element found.
        found: String,
        /// The element expected.
        expected: &'static str,
    },
    /// A required child element is missing.
    #[error("<{element}> at byte {position:#x} has no <{child}> child")]
    MissingChild {
        /// Offset of the parent element.
        position: usize,
        /// The parent element.
        element: String,
        /// The missing child.
        child: &'static str,
    },
    /// A required attribute is missing.
    #[error("<{element}> at byte {position:#x} has no `{attribute}` attribute")]
    MissingAttribute {
        /// Offset of the element.
        position: usize,
        /// The element.
        element: String,
        /// The missing attribute.
        attribute: &'static str,
    },
    /// An attribute value does not have the expected form.
    #[error(
        "<{element}> at byte {position:#x}: attribute `{attribute}` is {value:?}, expected {expected}"
    )]
    BadAttribute {
        /// Offset of the element.
        position: usize,
        /// The element.
        element: String,
        /// The attribute.
        attribute: String,
        /// The value found (possibly truncated to 80 characters).
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// An element that may occur once occurs again.
    #[error("<{element}> at byte {position:#x} occurs more than once in its parent")]
    Duplicate {
        /// Offset of the second occurrence.
        position: usize,
        /// The element.
        element: String,
    },
}

/// Shortens an offending value for an error message.
pub(crate) fn clip(value: &str) -> String {
    const MAX: usize = 80;
    if value.chars().count() <= MAX {
        value.to_owned()
    } else {
        let mut s: String = value.chars().take(MAX).collect();
        s.push('…');
        s
    }
}
