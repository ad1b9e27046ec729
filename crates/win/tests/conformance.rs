//! The `Volume` conformance suite ([`platform::conformance`]) against `WinVolume`: on Windows,
//! or on Linux under Wine through `.ci/wincheck`.
//!
//! Under Wine, the checks of what Wine does not implement are listed as deviations: they still
//! run and must still fail (see [`platform::conformance::Deviation`]); on Windows every check
//! must pass except the restart, which a test cannot do.
#![cfg(windows)]

use platform::conformance::{Deviation, Subject};
use platform::{Error, PendingRename, Volume};
use win::WinVolume;

struct Win {
    _dir: tempfile::TempDir,
    volume: WinVolume,
}

impl Win {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let volume = WinVolume::new(dir.path()).unwrap();
        Self { _dir: dir, volume }
    }
}

impl Subject for Win {
    fn volume(&self) -> &dyn Volume {
        &self.volume
    }

    /// The list goes to the real `PendingFileRenameOperations` value; only Windows' session
    /// manager carries it out, at the next boot.
    fn reboot(&mut self) -> Option<Vec<(PendingRename, Option<Error>)>> {
        None
    }
}

/// Wine installs its own programs in `system32`; Windows has no `wineboot.exe`.
fn under_wine() -> bool {
    let root = std::env::var_os("SystemRoot").unwrap_or_else(|| "C:\\windows".into());
    std::path::Path::new(&root)
        .join("system32")
        .join("wineboot.exe")
        .is_file()
}

const NO_RESTART: Deviation = Deviation {
    check: "pending_renames_at_reboot",
    reason: "a test cannot restart Windows; pending_renames_are_listed checks the recorded list",
    fails_with: "cannot restart in a test",
};

const WINDOWS: &[Deviation] = &[NO_RESTART];

/// What Wine 8 (Debian 12, run as root in CI) does not do as Windows does.
const WINE: &[Deviation] = &[
    NO_RESTART,
    Deviation {
        check: "attributes",
        reason: "Wine reports FILE_ATTRIBUTE_ARCHIVE on every file, even after SetFileInformationByHandle(FileBasicInfo) cleared it",
        fails_with: "derived bits are ignored",
    },
    Deviation {
        check: "read_only_files_refuse_writes",
        reason: "run as root, Wine's CreateFileW grants write access to a FILE_ATTRIBUTE_READONLY file",
        fails_with: "OpenExisting: Ok(",
    },
    Deviation {
        check: "renames_take_the_new_spelling",
        reason: "Wine's MoveFileExW keeps the old spelling when the new name differs only in case, and the replaced file's spelling with MOVEFILE_REPLACE_EXISTING",
        fails_with: "the replacing file takes the new spelling",
    },
    Deviation {
        check: "open_file_blocks_folder_rename",
        reason: "Wine renames a folder while a file in it is open (the Unix rename allows it)",
        fails_with: "a folder was renamed while a file in it is open",
    },
    Deviation {
        check: "sparse_attribute",
        reason: "Wine does not report FILE_ATTRIBUTE_SPARSE_FILE after FSCTL_SET_SPARSE",
        fails_with: "FILE_ATTRIBUTE_SPARSE_FILE after FSCTL_SET_SPARSE",
    },
    Deviation {
        check: "sparse_files",
        reason: "Wine's GetCompressedFileSizeW reports the logical size, holes included",
        fails_with: "allocated 67108864 of 67108864",
    },
    Deviation {
        check: "reparse_point_round_trip",
        reason: "Wine's FSCTL_SET_REPARSE_POINT rejects IO_REPARSE_TAG_DEDUP with ERROR_NOT_SUPPORTED",
        fails_with: "Win32 error 50",
    },
];

fn deviations() -> &'static [Deviation] {
    if under_wine() { WINE } else { WINDOWS }
}

platform::volume_conformance_tests!(Win::new, deviations());
