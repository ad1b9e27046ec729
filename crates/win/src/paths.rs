//! Pure-Rust pieces of the Win32 volume: `CreateFileW` arguments, long (`\\?\`) paths, reparse
//! buffer checks and the `PendingFileRenameOperations` registry value.
//!
//! No FFI: compiled and tested on every target. Flag values are from Microsoft's `winnt.h` /
//! `fileapi.h` / `winbase.h` (mirrored by `windows-sys`; a Windows-only test compares them).

use platform::{Access, Disposition, OpenOptions, PendingRename, ShareMode, WinPath, reparse};

/// Win32 flag values used to build `CreateFileW` and `MoveFileExW` calls.
pub mod flag {
    /// `GENERIC_READ`.
    pub const GENERIC_READ: u32 = 0x8000_0000;
    /// `GENERIC_WRITE`.
    pub const GENERIC_WRITE: u32 = 0x4000_0000;
    /// `DELETE` (standard right: delete or rename the file).
    pub const DELETE: u32 = 0x0001_0000;
    /// `FILE_READ_ATTRIBUTES` (always requested, so an open with no data access still works).
    pub const FILE_READ_ATTRIBUTES: u32 = 0x0000_0080;
    /// `FILE_SHARE_READ`.
    pub const FILE_SHARE_READ: u32 = 0x1;
    /// `FILE_SHARE_WRITE`.
    pub const FILE_SHARE_WRITE: u32 = 0x2;
    /// `FILE_SHARE_DELETE`.
    pub const FILE_SHARE_DELETE: u32 = 0x4;
    /// `CREATE_NEW`.
    pub const CREATE_NEW: u32 = 1;
    /// `CREATE_ALWAYS` (create, or overwrite an existing file).
    pub const CREATE_ALWAYS: u32 = 2;
    /// `OPEN_EXISTING`.
    pub const OPEN_EXISTING: u32 = 3;
    /// `OPEN_ALWAYS`.
    pub const OPEN_ALWAYS: u32 = 4;
    /// `TRUNCATE_EXISTING`.
    pub const TRUNCATE_EXISTING: u32 = 5;
    /// `FILE_ATTRIBUTE_NORMAL`.
    pub const FILE_ATTRIBUTE_NORMAL: u32 = 0x80;
    /// `FILE_FLAG_OPEN_REPARSE_POINT`: open the reparse point itself, not its target.
    pub const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;
    /// `FILE_FLAG_BACKUP_SEMANTICS`: use backup/restore privileges when held; needed for
    /// directories.
    pub const FILE_FLAG_BACKUP_SEMANTICS: u32 = 0x0200_0000;
    /// `MOVEFILE_REPLACE_EXISTING`.
    pub const MOVEFILE_REPLACE_EXISTING: u32 = 0x1;
    /// `MOVEFILE_DELAY_UNTIL_REBOOT`.
    pub const MOVEFILE_DELAY_UNTIL_REBOOT: u32 = 0x4;
}

/// The arguments of one `CreateFileW` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateFileArgs {
    /// `dwDesiredAccess`.
    pub desired_access: u32,
    /// `dwShareMode`.
    pub share_mode: u32,
    /// `dwCreationDisposition`.
    pub creation_disposition: u32,
    /// `dwFlagsAndAttributes`.
    pub flags_and_attributes: u32,
}

/// `CreateFileW` arguments for [`OpenOptions`]: the access and share bits, the disposition, and
/// always `FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS` (a dedup stub must be
/// opened as itself, and backup semantics let an elevated restore bypass file ACLs).
#[must_use]
pub fn create_file_args(options: OpenOptions) -> CreateFileArgs {
    let Access {
        read,
        write,
        delete,
    } = options.access;
    let mut desired_access = flag::FILE_READ_ATTRIBUTES;
    if read {
        desired_access |= flag::GENERIC_READ;
    }
    if write {
        desired_access |= flag::GENERIC_WRITE;
    }
    if delete {
        desired_access |= flag::DELETE;
    }
    CreateFileArgs {
        desired_access,
        share_mode: share_mode(options.share),
        creation_disposition: match options.disposition {
            Disposition::CreateNew => flag::CREATE_NEW,
            Disposition::OpenExisting => flag::OPEN_EXISTING,
            Disposition::OpenAlways => flag::OPEN_ALWAYS,
            Disposition::TruncateExisting => flag::TRUNCATE_EXISTING,
            Disposition::CreateAlways => flag::CREATE_ALWAYS,
        },
        flags_and_attributes: flag::FILE_ATTRIBUTE_NORMAL
            | flag::FILE_FLAG_OPEN_REPARSE_POINT
            | flag::FILE_FLAG_BACKUP_SEMANTICS,
    }
}

/// `FILE_SHARE_*` bits of a share mode.
#[must_use]
pub fn share_mode(share: ShareMode) -> u32 {
    let mut bits = 0;
    if share.read {
        bits |= flag::FILE_SHARE_READ;
    }
    if share.write {
        bits |= flag::FILE_SHARE_WRITE;
    }
    if share.delete {
        bits |= flag::FILE_SHARE_DELETE;
    }
    bits
}

/// Why a volume root was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRoot(pub &'static str);

/// Normalizes an absolute Windows directory (`C:\data`, `C:/data/`, `\\server\share\x`,
/// `\\?\C:\data`, `\\?\UNC\server\share`, `\\?\Volume{…}\`) to its `\\?\` long-path form
/// without a trailing separator (except a bare drive root, which keeps its `\`).
pub fn long_root(root: &str) -> Result<String, BadRoot> {
    let r = root.replace('/', "\\");
    let (prefix, rest) = if let Some(rest) = r.strip_prefix(r"\\?\UNC\") {
        (r"\\?\UNC\", rest.to_owned())
    } else if let Some(rest) = r.strip_prefix(r"\\?\").or_else(|| r.strip_prefix(r"\\.\")) {
        (r"\\?\", rest.to_owned())
    } else if let Some(rest) = r.strip_prefix(r"\\") {
        (r"\\?\UNC\", rest.to_owned())
    } else {
        let b = r.as_bytes();
        if b.len() < 2 || !b[0].is_ascii_alphabetic() || b[1] != b':' {
            return Err(BadRoot(
                "not an absolute Windows path (need C:\\..., \\\\server\\share\\... or \\\\?\\...)",
            ));
        }
        if b.len() > 2 && b[2] != b'\\' {
            return Err(BadRoot("drive-relative path (C:dir) is not absolute"));
        }
        (r"\\?\", r)
    };
    let trimmed = rest.trim_end_matches('\\');
    if trimmed.is_empty() {
        return Err(BadRoot("empty path after the prefix"));
    }
    if trimmed
        .split('\\')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(BadRoot(
            "empty, `.` or `..` components are not allowed in a \\\\?\\ path",
        ));
    }
    let is_drive = trimmed.len() == 2 && trimmed.as_bytes()[1] == b':';
    let is_volume_guid =
        prefix == r"\\?\" && trimmed.starts_with("Volume{") && !trimmed.contains('\\');
    Ok(if is_drive || is_volume_guid {
        format!("{prefix}{trimmed}\\")
    } else {
        format!("{prefix}{trimmed}")
    })
}

/// The long path of `path` under a root produced by [`long_root`].
#[must_use]
pub fn join_long(long_root: &str, path: &WinPath) -> String {
    if path.is_root() {
        return long_root.to_owned();
    }
    let mut s = long_root.trim_end_matches('\\').to_owned();
    for c in path.components() {
        s.push('\\');
        s.push_str(c);
    }
    s
}

/// The ordinary (DOS) spelling of a long path: `\\?\C:\a` → `C:\a`, `\\?\UNC\s\h` → `\\s\h`
/// (what `IDedupBackupSupport::RestoreFiles` is documented to take: "full paths").
#[must_use]
pub fn dos_path(long: &str) -> String {
    if let Some(rest) = long.strip_prefix(r"\\?\UNC\") {
        format!(r"\\{rest}")
    } else if let Some(rest) = long.strip_prefix(r"\\?\") {
        if rest.starts_with("Volume{") {
            long.to_owned()
        } else {
            rest.to_owned()
        }
    } else {
        long.to_owned()
    }
}

/// NUL-terminated UTF-16.
#[must_use]
pub fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

/// Strips `long_root` (case-insensitively) from an absolute path reported by Windows
/// (`GetFinalPathNameByHandleW`, the registry), giving the volume-relative path.
#[must_use]
pub fn relative_to(long_root: &str, absolute: &str) -> Option<WinPath> {
    let root = dos_path(long_root);
    let abs = absolute
        .strip_prefix(r"\??\")
        .map_or_else(|| dos_path(absolute), str::to_owned);
    let root = root.trim_end_matches('\\');
    let head = abs.get(..root.len())?;
    if !platform::eq_name(head, root) {
        return None;
    }
    let rest = &abs[root.len()..];
    if !rest.is_empty() && !rest.starts_with('\\') {
        return None;
    }
    WinPath::new(rest).ok()
}

/// A `REPARSE_DATA_BUFFER` check before `FSCTL_SET_REPARSE_POINT`: Windows' rules as
/// [`platform::reparse::validate_buffer`] defines them (header, 16 KiB, reserved tags, the
/// 24-byte GUID header of a non-Microsoft tag, `ReparseDataLength`). Returns the tag.
pub fn check_reparse_buffer(buffer: &[u8]) -> Result<u32, &'static str> {
    reparse::validate_buffer(buffer).map_err(reparse::InvalidReparse::reason)
}

/// The input of `FSCTL_DELETE_REPARSE_POINT` for a file whose current reparse buffer is
/// `existing`: the header alone, with `ReparseDataLength` 0 (8 bytes for a Microsoft tag, 24 with
/// the GUID for another tag), as the FSCTL documentation requires.
pub fn delete_reparse_input(existing: &[u8]) -> Result<Vec<u8>, &'static str> {
    let tag = check_reparse_buffer(existing)?;
    let header = reparse::header_len(tag);
    let mut out = Vec::with_capacity(header);
    out.extend_from_slice(&tag.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&existing[reparse::HEADER_LEN..header]);
    Ok(out)
}

/// One raw entry of `PendingFileRenameOperations` (a `REG_MULTI_SZ` of source/destination
/// pairs; an empty destination means delete; a destination prefixed with `!` means
/// `MOVEFILE_REPLACE_EXISTING`). Paths are as stored, usually `\??\C:\…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawPendingRename {
    /// Source, as stored.
    pub source: String,
    /// Destination without the `!`, or `None` for a delete.
    pub destination: Option<String>,
    /// The `!` prefix was present.
    pub replace_existing: bool,
}

/// Parses the UTF-16 data of a `REG_MULTI_SZ` `PendingFileRenameOperations` value. Trailing
/// NULs and a dangling source without a destination string are tolerated.
#[must_use]
pub fn parse_pending_renames(data: &[u16]) -> Vec<RawPendingRename> {
    // Split on NUL, keeping empty strings: an empty destination is meaningful. The list ends
    // with an extra NUL, which yields empty strings at source positions; Windows never writes
    // an empty source, so pairs with one are padding.
    let strings: Vec<String> = data
        .split(|&u| u == 0)
        .map(String::from_utf16_lossy)
        .collect();
    strings
        .chunks(2)
        .filter(|pair| !pair[0].is_empty())
        .map(|pair| {
            let dest = pair.get(1).map_or("", String::as_str);
            let (replace_existing, dest) = match dest.strip_prefix('!') {
                Some(d) => (true, d),
                None => (false, dest),
            };
            RawPendingRename {
                source: pair[0].clone(),
                destination: (!dest.is_empty()).then(|| dest.to_owned()),
                replace_existing,
            }
        })
        .collect()
}

/// The entries of a parsed `PendingFileRenameOperations` list that lie on the volume rooted at
/// `long_root` (a source elsewhere is another volume's business and left out; a destination
/// elsewhere cannot be expressed as a [`WinPath`] and also leaves the entry out).
#[must_use]
pub fn pending_on_volume(long_root: &str, raw: &[RawPendingRename]) -> Vec<PendingRename> {
    raw.iter()
        .filter_map(|r| {
            let source = relative_to(long_root, &r.source)?;
            let destination = match &r.destination {
                Some(d) => Some(relative_to(long_root, d)?),
                None => None,
            };
            Some(PendingRename {
                source,
                destination,
                replace_existing: r.replace_existing,
            })
        })
        .collect()
}

/// `MoveFileExW` flags that stage `op` for the next boot.
#[must_use]
pub fn move_file_flags(op: &PendingRename) -> u32 {
    let mut flags = flag::MOVEFILE_DELAY_UNTIL_REBOOT;
    if op.replace_existing && op.destination.is_some() {
        flags |= flag::MOVEFILE_REPLACE_EXISTING;
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wp(s: &str) -> WinPath {
        WinPath::new(s).unwrap()
    }

    #[test]
    fn create_file_arguments() {
        let a = create_file_args(OpenOptions::READ_EXISTING);
        assert_eq!(a.desired_access, 0x8000_0080);
        assert_eq!(a.share_mode, 1);
        assert_eq!(a.creation_disposition, 3);
        assert_eq!(a.flags_and_attributes, 0x0220_0080);
        let a = create_file_args(OpenOptions::new(
            Access::ALL,
            ShareMode::NONE,
            Disposition::CreateNew,
        ));
        assert_eq!(a.desired_access, 0xC001_0080);
        assert_eq!(a.share_mode, 0);
        assert_eq!(a.creation_disposition, 1);
        let d = |disposition| {
            create_file_args(OpenOptions::new(
                Access::READ_WRITE,
                ShareMode::ALL,
                disposition,
            ))
            .creation_disposition
        };
        assert_eq!(d(Disposition::OpenAlways), 4);
        assert_eq!(d(Disposition::CreateAlways), 2);
        assert_eq!(d(Disposition::TruncateExisting), 5);
        assert_eq!(share_mode(ShareMode::ALL), 7);
        assert_eq!(share_mode(ShareMode::READ_WRITE), 3);
    }

    #[test]
    fn long_roots() {
        assert_eq!(long_root(r"C:\data\vol\").unwrap(), r"\\?\C:\data\vol");
        assert_eq!(long_root("C:/data/vol").unwrap(), r"\\?\C:\data\vol");
        assert_eq!(long_root("C:").unwrap(), r"\\?\C:\");
        assert_eq!(long_root(r"D:\").unwrap(), r"\\?\D:\");
        assert_eq!(long_root(r"\\srv\share\x").unwrap(), r"\\?\UNC\srv\share\x");
        assert_eq!(long_root(r"\\?\C:\a").unwrap(), r"\\?\C:\a");
        assert_eq!(
            long_root(r"\\?\UNC\srv\share").unwrap(),
            r"\\?\UNC\srv\share"
        );
        assert_eq!(
            long_root(r"\\?\Volume{0b7f5a5b-eb60-4baf-86af-d9101f3b482c}").unwrap(),
            r"\\?\Volume{0b7f5a5b-eb60-4baf-86af-d9101f3b482c}\"
        );
        assert!(long_root("relative\\dir").is_err());
        assert!(long_root("C:dir").is_err());
        assert!(long_root(r"C:\a\..\b").is_err());
        assert!(long_root(r"C:\a\\b").is_err());
    }

    #[test]
    fn joining_and_dos_form() {
        let root = long_root(r"C:\vol").unwrap();
        assert_eq!(join_long(&root, &wp(r"a\b.txt")), r"\\?\C:\vol\a\b.txt");
        assert_eq!(join_long(&root, &WinPath::root()), r"\\?\C:\vol");
        let drive = long_root("E:").unwrap();
        assert_eq!(join_long(&drive, &wp("x")), r"\\?\E:\x");
        assert_eq!(join_long(&drive, &WinPath::root()), r"\\?\E:\");
        assert_eq!(dos_path(r"\\?\C:\vol\a"), r"C:\vol\a");
        assert_eq!(dos_path(r"\\?\UNC\s\h\a"), r"\\s\h\a");
        // A path longer than MAX_PATH stays one string; the \\?\ prefix is what makes it legal.
        let deep = (0..40)
            .map(|i| format!("dir{i:03}"))
            .collect::<Vec<_>>()
            .join("\\");
        let long = join_long(&root, &wp(&deep));
        assert!(long.len() > 260 && long.starts_with(r"\\?\C:\vol\dir000\"));
        assert_eq!(wide("ab"), vec![0x61, 0x62, 0]);
    }

    #[test]
    fn relative_paths_from_windows_spellings() {
        let root = long_root(r"C:\Vol").unwrap();
        assert_eq!(relative_to(&root, r"\\?\C:\Vol\a\b"), Some(wp(r"a\b")));
        assert_eq!(relative_to(&root, r"\??\c:\vol\A"), Some(wp("A")));
        assert_eq!(relative_to(&root, r"C:\VOL"), Some(WinPath::root()));
        assert_eq!(relative_to(&root, r"C:\Volume\a"), None);
        assert_eq!(relative_to(&root, r"D:\Vol\a"), None);
        let drive = long_root("C:").unwrap();
        assert_eq!(relative_to(&drive, r"\??\C:\x\y"), Some(wp(r"x\y")));
    }

    #[test]
    fn reparse_buffers() {
        // IO_REPARSE_TAG_DEDUP (0x80000013) with 4 data bytes.
        let mut b = vec![0x13, 0, 0, 0x80, 4, 0, 0, 0, 1, 2, 3, 4];
        assert_eq!(check_reparse_buffer(&b), Ok(0x8000_0013));
        assert_eq!(
            delete_reparse_input(&b).unwrap(),
            vec![0x13, 0, 0, 0x80, 0, 0, 0, 0]
        );
        b[4] = 5;
        assert!(check_reparse_buffer(&b).is_err());
        assert!(check_reparse_buffer(&[0; 7]).is_err());
        assert!(check_reparse_buffer(&vec![0; 16 * 1024 + 1]).is_err());
        // A third-party tag carries a GUID: delete needs the 24-byte header with that GUID.
        let mut g = vec![0x07, 0, 0, 0x00, 2, 0, 0, 0];
        g.extend(1..=16u8);
        g.extend([9, 9]);
        assert_eq!(check_reparse_buffer(&g), Ok(7));
        let del = delete_reparse_input(&g).unwrap();
        assert_eq!(del.len(), 24);
        assert_eq!(&del[4..8], &[0, 0, 0, 0]);
        assert_eq!(&del[8..24], &(1..=16u8).collect::<Vec<_>>()[..]);
        assert!(check_reparse_buffer(&[0x07, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }

    fn multi_sz(parts: &[&str]) -> Vec<u16> {
        let mut v = Vec::new();
        for p in parts {
            v.extend(p.encode_utf16());
            v.push(0);
        }
        v.push(0);
        v
    }

    #[test]
    fn pending_rename_value() {
        let data = multi_sz(&[
            r"\??\C:\vol\new.tmp",
            r"!\??\C:\vol\target.dat",
            r"\??\C:\vol\old.dat",
            "",
            r"\??\D:\other\x",
            r"\??\D:\other\y",
        ]);
        let raw = parse_pending_renames(&data);
        assert_eq!(raw.len(), 3);
        assert_eq!(
            raw[0],
            RawPendingRename {
                source: r"\??\C:\vol\new.tmp".into(),
                destination: Some(r"\??\C:\vol\target.dat".into()),
                replace_existing: true,
            }
        );
        assert_eq!(raw[1].destination, None);
        assert!(!raw[1].replace_existing);
        let root = long_root(r"C:\Vol").unwrap();
        let ours = pending_on_volume(&root, &raw);
        assert_eq!(
            ours,
            vec![
                PendingRename {
                    source: wp("new.tmp"),
                    destination: Some(wp("target.dat")),
                    replace_existing: true,
                },
                PendingRename {
                    source: wp("old.dat"),
                    destination: None,
                    replace_existing: false,
                },
            ]
        );
        // Empty value, value without the final extra NUL.
        assert!(parse_pending_renames(&[]).is_empty());
        assert!(parse_pending_renames(&[0]).is_empty());
        let mut no_final = multi_sz(&[r"\??\C:\a", ""]);
        no_final.pop();
        assert_eq!(parse_pending_renames(&no_final).len(), 1);
    }

    #[test]
    fn move_flags() {
        let mut op = PendingRename {
            source: wp("a"),
            destination: Some(wp("b")),
            replace_existing: true,
        };
        assert_eq!(move_file_flags(&op), 5);
        op.replace_existing = false;
        assert_eq!(move_file_flags(&op), 4);
        op.destination = None;
        op.replace_existing = true;
        assert_eq!(move_file_flags(&op), 4);
    }

    /// The hand-written values agree with `windows-sys`.
    #[cfg(windows)]
    #[test]
    fn flags_match_windows_sys() {
        use windows_sys::Win32::Foundation::{GENERIC_READ, GENERIC_WRITE};
        use windows_sys::Win32::Storage::FileSystem as F;
        assert_eq!(flag::GENERIC_READ, GENERIC_READ);
        assert_eq!(flag::GENERIC_WRITE, GENERIC_WRITE);
        assert_eq!(flag::DELETE, F::DELETE);
        assert_eq!(flag::FILE_READ_ATTRIBUTES, F::FILE_READ_ATTRIBUTES);
        assert_eq!(flag::FILE_SHARE_READ, F::FILE_SHARE_READ);
        assert_eq!(flag::FILE_SHARE_WRITE, F::FILE_SHARE_WRITE);
        assert_eq!(flag::FILE_SHARE_DELETE, F::FILE_SHARE_DELETE);
        assert_eq!(flag::CREATE_NEW, F::CREATE_NEW);
        assert_eq!(flag::CREATE_ALWAYS, F::CREATE_ALWAYS);
        assert_eq!(flag::OPEN_EXISTING, F::OPEN_EXISTING);
        assert_eq!(flag::OPEN_ALWAYS, F::OPEN_ALWAYS);
        assert_eq!(flag::TRUNCATE_EXISTING, F::TRUNCATE_EXISTING);
        assert_eq!(flag::FILE_ATTRIBUTE_NORMAL, F::FILE_ATTRIBUTE_NORMAL);
        assert_eq!(
            flag::FILE_FLAG_OPEN_REPARSE_POINT,
            F::FILE_FLAG_OPEN_REPARSE_POINT
        );
        assert_eq!(
            flag::FILE_FLAG_BACKUP_SEMANTICS,
            F::FILE_FLAG_BACKUP_SEMANTICS
        );
        assert_eq!(
            flag::MOVEFILE_REPLACE_EXISTING,
            F::MOVEFILE_REPLACE_EXISTING
        );
        assert_eq!(
            flag::MOVEFILE_DELAY_UNTIL_REBOOT,
            F::MOVEFILE_DELAY_UNTIL_REBOOT
        );
    }
}
