//! Where a chunk store's files live on a volume, as path strings (this crate does no I/O).
//!
//! `\System Volume Information\Dedup\ChunkStore\{GUID}.ddp\Data\XXXXXXXX.GGGGGGGG.ccc` holds data
//! chunks and `…\Stream\…` holds stream maps (docs/dedup-format.md §2, CONFIRMED on the
//! WS2019 sample and in the public `windedup-extracter` and `ManagedDedup` readers). Paths are
//! volume-root relative with Windows separators; NTFS compares names case-insensitively, so
//! every parser here does too. The engine, the simulator, the CLI and the Windows bridge build
//! and recognise store paths only through this module.

use std::fmt::Display;

/// The folders from the volume root down to the store folders, in order.
pub const CHUNK_STORE_COMPONENTS: [&str; 3] = ["System Volume Information", "Dedup", "ChunkStore"];

/// `\System Volume Information\Dedup\ChunkStore`: the folder holding the `{GUID}.ddp` stores.
pub const CHUNK_STORE_DIR: &str = "\\System Volume Information\\Dedup\\ChunkStore";

/// The extension of a store folder (`{GUID}.ddp`).
const STORE_EXT: &str = ".ddp";
/// The extension of a container file (`XXXXXXXX.GGGGGGGG.ccc`).
const CONTAINER_EXT: &str = ".ccc";

/// Which kind of container, i.e. which folder of a store it lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContainerKind {
    /// `Data\`: data chunks.
    Data,
    /// `Stream\`: stream maps.
    Stream,
}

impl ContainerKind {
    /// The folder name inside `{GUID}.ddp`.
    #[must_use]
    pub fn dir_name(self) -> &'static str {
        match self {
            Self::Data => "Data",
            Self::Stream => "Stream",
        }
    }

    /// The kind whose folder is `name` (any case).
    #[must_use]
    pub fn from_dir_name(name: &str) -> Option<Self> {
        [Self::Data, Self::Stream]
            .into_iter()
            .find(|k| k.dir_name().eq_ignore_ascii_case(name))
    }
}

/// The store folder's name for a GUID shown in its registry form: `{GUID}.ddp`.
#[must_use]
pub fn store_dir_name(guid: &impl Display) -> String {
    format!("{guid}{STORE_EXT}")
}

/// The GUID part (`{…}`, as written) of a store folder name `{GUID}.ddp` (any case), or `None`
/// for any other name. The caller parses the GUID itself.
#[must_use]
pub fn parse_store_dir_name(name: &str) -> Option<&str> {
    strip_ext(name, STORE_EXT).filter(|stem| !stem.is_empty())
}

/// `\System Volume Information\Dedup\ChunkStore\{GUID}.ddp`.
#[must_use]
pub fn store_root(guid: &impl Display) -> String {
    format!("{CHUNK_STORE_DIR}\\{}", store_dir_name(guid))
}

/// `…\{GUID}.ddp\Data` or `…\{GUID}.ddp\Stream`.
#[must_use]
pub fn container_dir(guid: &impl Display, kind: ContainerKind) -> String {
    format!("{}\\{}", store_root(guid), kind.dir_name())
}

/// The full path of container `id`, generation `generation`, of `kind`.
#[must_use]
pub fn container_path(
    guid: &impl Display,
    kind: ContainerKind,
    container_id: u32,
    generation: u32,
) -> String {
    format!(
        "{}\\{}",
        container_dir(guid, kind),
        container_file_name(container_id, generation)
    )
}

/// The container file name for an id and generation: `XXXXXXXX.GGGGGGGG.ccc`, 8 lower-case hex
/// digits each (docs/dedup-format.md §2; NTFS lookups are case-insensitive).
#[must_use]
pub fn container_file_name(container_id: u32, generation: u32) -> String {
    format!("{container_id:08x}.{generation:08x}{CONTAINER_EXT}")
}

/// Parses `XXXXXXXX.GGGGGGGG.ccc` (any case) into `(first, second)` component.
#[must_use]
pub fn parse_container_file_name(name: &str) -> Option<(u32, u32)> {
    let stem = strip_ext(name, CONTAINER_EXT)?;
    let (a, b) = stem.split_once('.')?;
    if a.len() != 8 || b.len() != 8 || !a.bytes().chain(b.bytes()).all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    Some((
        u32::from_str_radix(a, 16).ok()?,
        u32::from_str_radix(b, 16).ok()?,
    ))
}

/// `name` without the extension `ext` compared case-insensitively.
fn strip_ext<'a>(name: &'a str, ext: &str) -> Option<&'a str> {
    name.len()
        .checked_sub(ext.len())
        .filter(|&i| name.is_char_boundary(i) && name[i..].eq_ignore_ascii_case(ext))
        .map(|i| &name[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUID: &str = "{5D1B7BFA-B73E-42A0-95CB-91CE1921CFB2}";

    #[test]
    fn container_names() {
        assert_eq!(container_file_name(1, 0x10000), "00000001.00010000.ccc");
        assert_eq!(
            parse_container_file_name("00010000.00000003.CCC"),
            Some((0x10000, 3))
        );
        assert_eq!(parse_container_file_name("0001000.00000003.ccc"), None);
        assert_eq!(parse_container_file_name("0001000g.00000003.ccc"), None);
        assert_eq!(parse_container_file_name("ccc"), None);
        assert_eq!(parse_container_file_name("é.ccc"), None);
    }

    /// The layout of the WS2019 sample's store (docs/dedup-format.md §2) and the directory
    /// constants agreeing with each other.
    #[test]
    fn store_layout() {
        assert_eq!(
            container_path(&GUID, ContainerKind::Data, 1, 1),
            format!(
                "\\System Volume Information\\Dedup\\ChunkStore\\{GUID}.ddp\\Data\\00000001.00000001.ccc"
            )
        );
        assert_eq!(
            container_dir(&GUID, ContainerKind::Stream),
            format!("{CHUNK_STORE_DIR}\\{GUID}.ddp\\Stream")
        );
        assert_eq!(
            format!("\\{}", CHUNK_STORE_COMPONENTS.join("\\")),
            CHUNK_STORE_DIR
        );
    }

    #[test]
    fn store_and_kind_names_any_case() {
        assert_eq!(parse_store_dir_name(&store_dir_name(&GUID)), Some(GUID));
        assert_eq!(parse_store_dir_name("{x}.DDP"), Some("{x}"));
        assert_eq!(parse_store_dir_name(".ddp"), None);
        assert_eq!(parse_store_dir_name("{x}.ddpx"), None);
        assert_eq!(parse_store_dir_name("é"), None);
        assert_eq!(
            ContainerKind::from_dir_name("sTrEaM"),
            Some(ContainerKind::Stream)
        );
        assert_eq!(
            ContainerKind::from_dir_name("Data"),
            Some(ContainerKind::Data)
        );
        assert_eq!(ContainerKind::from_dir_name("Datum"), None);
    }
}
