//! Destination paths: from the Windows path a restore set names to a path on the volume being
//! restored, refusing anything that would write outside it (docs/vss-restore.md §3.6; issue point 6).

use std::sync::Arc;

use platform::{Volume, WinPath};

use crate::backup::split_drive;
use crate::error::{LinkError, PathError};

/// Reparse tags with this bit are name surrogates: junctions (mount points) and symbolic links
/// (`IsReparseTagNameSurrogate`, winnt.h).
const NAME_SURROGATE: u32 = 0x2000_0000;

/// Turns `raw` (`C:\dir\file`, `\dir\file`, `\\?\C:\dir\file`) into a path on the volume that
/// holds drive `drive`, refusing: another drive, UNC paths, relative paths, `.` / `..`
/// components, names Windows forbids, and any existing component of the path that is a
/// junction or symbolic link (or a reparse point standing where a directory should be).
pub(crate) fn resolve(volume: &dyn Volume, drive: &str, raw: &str) -> Result<WinPath, PathError> {
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
        return Err(PathError::Unc {
            raw: raw.to_owned(),
        });
    }
    let rest = match split_drive(p) {
        Some((d, rest)) => {
            if !d.eq_ignore_ascii_case(drive.trim_end_matches('\\')) {
                return Err(PathError::OtherVolume {
                    raw: raw.to_owned(),
                    drive: drive.to_owned(),
                });
            }
            rest
        }
        None if p.starts_with(['\\', '/']) => p,
        None => {
            return Err(PathError::NotAbsolute {
                raw: raw.to_owned(),
            });
        }
    };
    let mut segs = Vec::new();
    for s in rest.split(['\\', '/']) {
        match s {
            "" => {}
            "." | ".." => {
                return Err(PathError::DotComponent {
                    raw: raw.to_owned(),
                    component: s.to_owned(),
                });
            }
            s => segs.push(s),
        }
    }
    if segs.is_empty() {
        return Err(PathError::VolumeRoot {
            raw: raw.to_owned(),
        });
    }
    let path = WinPath::new(&segs.join("\\")).map_err(|e| PathError::BadName {
        raw: raw.to_owned(),
        source: Arc::new(e),
    })?;
    check_no_links(volume, &path).map_err(|e| PathError::NotWrittenThrough {
        raw: raw.to_owned(),
        source: e,
    })?;
    Ok(path)
}

/// Refuses a path any existing component of which is a name-surrogate reparse point (junction,
/// symbolic link), or a reparse point of any kind where a directory is needed.
pub(crate) fn check_no_links(volume: &dyn Volume, path: &WinPath) -> Result<(), LinkError> {
    let mut cur = WinPath::root();
    let n = path.components().len();
    for (i, c) in path.components().enumerate() {
        cur = cur.join(c).map_err(|e| LinkError::Volume(Arc::new(e)))?;
        let md = match volume.metadata(&cur) {
            Ok(m) => m,
            Err(platform::Error::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(LinkError::Volume(Arc::new(e))),
        };
        let last = i + 1 == n;
        if !md.is_reparse_point() {
            if !last && !md.is_dir() {
                return Err(LinkError::NotADirectory { path: cur });
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
                return Err(LinkError::Link { path: cur, tag: t });
            }
            _ => {
                return Err(LinkError::ReparsePoint { path: cur });
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
            let e = resolve(&v, "C:", raw).unwrap_err().to_string();
            assert!(e.contains(why) && e.contains(raw), "{raw}: {e}");
        }
    }

    #[test]
    fn a_file_where_a_directory_is_needed_is_refused() {
        let v = SimVolume::new(1);
        v.write_file(&WinPath::new(r"\a").unwrap(), b"x").unwrap();
        let e = resolve(&v, "C:", r"C:\a\b").unwrap_err().to_string();
        assert!(e.contains("not a directory"), "{e}");
    }
}
