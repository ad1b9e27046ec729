//! VSS requester-side metadata: the Writer Metadata Document (WMD) and the Backup Components
//! Document (BCD) as Windows writes them, partial-file ranges, and restore-set generation.
//!
//! A format crate: no I/O. Everything takes `&[u8]` / `&str` and returns typed values or typed
//! errors; nothing panics on any input. The specification is `docs/vss-restore.md`
//! (section numbers are cited beside the structures); the real documents under
//! `fixtures/vss` are the ground truth the tests check against.
//!
//! * [`WriterMetadata`] / [`BackupComponents`]: read ([`WriterMetadata::from_bytes`] sniffs
//!   UTF-8 / UTF-16), model, write back ([`WriterMetadata::to_xml`]); unknown elements and
//!   attributes are preserved.
//! * [`ranges`]: the `AddPartialFile` range string and the binary ranges file.
//! * [`restore_set`]: which backed-up file goes where, per writer and component.
//!
//! Names that are **ours** (not attested in any public document) are flagged in the docs of
//! the items that use them and listed in the crate README.

mod attrs;
pub mod bcd;
pub mod encoding;
pub mod enums;
pub mod error;
pub mod flags;
pub mod guid;
pub mod ranges;
pub mod restore_set;
pub mod wildcard;
pub mod wmd;
pub mod xml;

pub use bcd::{BackupComponents, BcdComponent, RestoreState, WriterComponents};
pub use enums::{
    BackupType, ComponentType, DataSource, FileRestoreStatus, RestoreMethod, RestoreTarget, Usage,
    WriterRestore,
};
pub use error::ReadError;
pub use flags::{BackupSchema, ComponentFlags, FileSpecBackupType};
pub use guid::Guid;
pub use wmd::{Component, FileSet, WriteOptions, WriterMetadata};

/// Either kind of VSS document, told apart by the root element.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Document {
    /// A Writer Metadata Document.
    Writer(Box<WriterMetadata>),
    /// A Backup Components Document.
    Components(BackupComponents),
}

impl Document {
    /// Reads either document from saved bytes (encoding sniffed).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ReadError> {
        let (text, _) = encoding::decode_document(bytes)?;
        Self::from_xml(&text)
    }

    /// Reads either document from text.
    pub fn from_xml(text: &str) -> Result<Self, ReadError> {
        let root = xml::parse_any(text, "WRITER_METADATA or BACKUP_COMPONENTS")?;
        if root.name == bcd::BCD_ROOT {
            BackupComponents::from_node(root).map(Self::Components)
        } else if root.name == wmd::WMD_ROOT {
            WriterMetadata::from_node(root).map(|w| Self::Writer(Box::new(w)))
        } else {
            Err(ReadError::WrongRoot {
                position: root.pos,
                found: error::clip(&root.name),
                expected: "WRITER_METADATA or BACKUP_COMPONENTS",
            })
        }
    }

    /// Writes the document back as XML text.
    #[must_use]
    pub fn to_xml(&self, options: WriteOptions) -> String {
        match self {
            Self::Writer(w) => w.to_xml(options),
            Self::Components(b) => b.to_xml(options),
        }
    }
}
