//! Destination paths: from the Windows path a restore set names to a path on the volume being
//! restored, refusing anything that would write outside it (spec §3.6; issue point 6).

use platform::{Volume, WinPath};

use crate::backup::split_drive;

/// Reparse tags with this bit are name surrogates: junctions (mount points) and symbolic links
/// (`IsReparseTagNameSurrogate`, winnt.h).
const NAME_SURROGATE: u32 = 0x2000_0000;

/// Turns `raw` (`C:\dir\file`, `\dir\file`, `\\?\C:\dir\file`) into a path on the volume that
/// holds drive `drive`, refusing: another drive, UNC paths, relative paths, `.` / `..`
/// components, names Windows forbids, and any existing component of the path that is a
/// junction or symbolic link (or a reparse point standing where a directory should be).
pub(crate) fn resolve(volume: &dyn Volume, drive: &str, raw: &str) -> Result<WinPath, String> {
    let mut p = raw.trim();
    for prefix in [r"\\?\", r"\??\"] {
        if let Some(r) = p.strip_prefix(prefix) {
            p = r;
            break;
        }
    }
    let unc_prefixed =
        p.len() != raw.trim().len() && p.get(..4).is_some_and(|h| h.eq_ignore_ascii_case(r"UNC\"));
    if unc_prefixed || p.starts_with(r"\\") || p.starts_with("//") {
        return Err(format!("{raw}: UNC and device paths are not restored to"));
    }
    let rest = match split_drive(p) {
        Some((d, rest)) => {
            if !d.eq_ignore_ascii_case(drive.trim_end_matches('\\')) {
                return Err(format!(
                    "{raw}: outside the volume being restored ({drive})"
                ));
            }
            rest
        }
        None if p.starts_with(['\\', '/']) => p,
        None => return Err(format!("{raw}: not an absolute path")),
    };
    let mut segs = Vec::new();
    for s in rest.split(['\\', '/']) {
        match s {
            "" => {}
            "." | ".." => {
                return Err(format!(
                    "{raw}: `{s}` component refused (would leave the target directory)"
                ));
            }
            s => segs.push(s),
        }
    }
    if segs.is_empty() {
        return Err(format!("{raw}: names the volume root, not a file"));
    }
    let path = WinPath::new(&segs.join("\\")).map_err(|e| format!("{raw}: {e}"))?;
    check_no_links(volume, &path).map_err(|e| format!("{raw}: {e}"))?;
    Ok(path)
}

/// Refuses a path any existing component of which is a name-surrogate reparse point (junction,
/// symbolic link), or a reparse point of any kind where a directory is needed.
pub(crate) fn check_no_links(volume: &dyn Volume, path: &WinPath) -> Result<(), String> {
    let mut cur = WinPath::root();
    let n = path.components().len();
    for (i, c) in path.components().enumerate() {
        cur = cur.join(c).map_err(|e| e.to_string())?;
        let md = match volume.metadata(&cur) {
            Ok(m) => m,
            Err(platform::Error::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e.to_string()),
        };
        let last = i + 1 == n;
        if !md.is_reparse_point() {
            if !last && !md.is_dir() {
                return Err(format!("{cur} is a file, not a directory"));
            }
            continue;
        }
        let tag = volume.reparse_point(&cur).ok().and_then(|b| {
            b.get(..4)
                .map(|t| u32::from_le_bytes([t[0], t[1], t[2], t[3]]))
        });
        match tag {
            Some(t) if t & NAME_SURROGATE == 0 && last => {}
            Some(t) if t & NAME_SURROGATE != 0 => {
                return Err(format!(
                    "{cur} is a junction or symbolic link (reparse tag {t:#010x}); not written through"
                ));
            }
            _ => {
                return Err(format!(
                    "{cur} is a reparse point on the way to the file; not written through"
                ));
            }
        }
    }
    Ok(())
}

/// `X:\path` for display.
pub(crate) fn display(drive: &str, p: &WinPath) -> String {
    format!("{}{p}", drive.trim_end_matches('\\'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use winsim::SimVolume;

    #[test]
    fn resolves_drive_and_volume_relative_paths() {
        let v = SimVolume::new(1);
        assert_eq!(
            resolve(&v, "C:", r"c:\Dir\File.txt").unwrap(),
            WinPath::new(r"\Dir\File.txt").unwrap()
        );
        assert_eq!(
            resolve(&v, "C:", r"\\?\C:\Dir\f").unwrap(),
            WinPath::new(r"\Dir\f").unwrap()
        );
        assert_eq!(
            resolve(&v, "C:", r"\Dir\\f").unwrap(),
            WinPath::new(r"\Dir\f").unwrap()
        );
    }

    #[test]
    fn refuses_escapes() {
        let v = SimVolume::new(1);
        for (raw, why) in [
            (r"C:\a\..\..\b", "`..`"),
            (r"C:\a\.\b", "`.`"),
            (r"D:\a", "outside the volume"),
            (r"\\srv\share\a", "UNC and device"),
            (r"\\?\UNC\srv\share\a", "UNC and device"),
            (r"a\b", "not an absolute path"),
            (r"C:\", "volume root"),
            (r"C:\a\b:stream", "not allowed"),
        ] {
            let e = resolve(&v, "C:", raw).unwrap_err();
            assert!(e.contains(why) && e.contains(raw), "{raw}: {e}");
        }
    }

    #[test]
    fn a_file_where_a_directory_is_needed_is_refused() {
        let v = SimVolume::new(1);
        v.write_file(&WinPath::new(r"\a").unwrap(), b"x").unwrap();
        let e = resolve(&v, "C:", r"C:\a\b").unwrap_err();
        assert!(e.contains("not a directory"), "{e}");
    }
}
