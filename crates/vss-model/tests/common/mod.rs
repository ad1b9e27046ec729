//! Locating the real documents (`fixtures`), shared by the integration tests.

#![allow(dead_code)]

use std::path::PathBuf;

/// The committed samples folder, `fixtures/` (see `fixtures/README.md`).
pub(crate) fn realdata() -> PathBuf {
    test_support::fixtures()
}

/// Reads a file under `realdata/vss/kevingoode-vssbackup/` or `realdata/vss/`.
pub(crate) fn read(base: &std::path::Path, rel: &str) -> Vec<u8> {
    let p = base.join("vss").join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The 22 real WMDs: (relative path, friendly name expected).
pub(crate) const WMDS: &[(&str, &str)] = &[
    (
        "kevingoode-vssbackup/no_sql/WM0.xml",
        "Task Scheduler Writer",
    ),
    (
        "kevingoode-vssbackup/no_sql/WM1.xml",
        "VSS Metadata Store Writer",
    ),
    (
        "kevingoode-vssbackup/no_sql/WM2.xml",
        "Performance Counters Writer",
    ),
    ("kevingoode-vssbackup/no_sql/WM3.xml", "System Writer"),
    ("kevingoode-vssbackup/no_sql/WM4.xml", "ASR Writer"),
    ("kevingoode-vssbackup/no_sql/WM5.xml", "SqlServerWriter"),
    (
        "kevingoode-vssbackup/no_sql/WM6.xml",
        "Shadow Copy Optimization Writer",
    ),
    ("kevingoode-vssbackup/no_sql/WM7.xml", "BITS Writer"),
    ("kevingoode-vssbackup/no_sql/WM8.xml", "WMI Writer"),
    ("kevingoode-vssbackup/no_sql/WM9.xml", "Registry Writer"),
    ("kevingoode-vssbackup/no_sql/WM10.xml", "COM+ REGDB Writer"),
    (
        "kevingoode-vssbackup/with_sql/WM0.xml",
        "Task Scheduler Writer",
    ),
    (
        "kevingoode-vssbackup/with_sql/WM1.xml",
        "VSS Metadata Store Writer",
    ),
    (
        "kevingoode-vssbackup/with_sql/WM2.xml",
        "Performance Counters Writer",
    ),
    ("kevingoode-vssbackup/with_sql/WM3.xml", "System Writer"),
    ("kevingoode-vssbackup/with_sql/WM6.xml", "ASR Writer"),
    ("kevingoode-vssbackup/with_sql/WM4.xml", "SqlServerWriter"),
    (
        "kevingoode-vssbackup/with_sql/WM5.xml",
        "Shadow Copy Optimization Writer",
    ),
    ("kevingoode-vssbackup/with_sql/WM8.xml", "BITS Writer"),
    ("kevingoode-vssbackup/with_sql/WM10.xml", "WMI Writer"),
    ("kevingoode-vssbackup/with_sql/WM7.xml", "Registry Writer"),
    ("kevingoode-vssbackup/with_sql/WM9.xml", "COM+ REGDB Writer"),
];

/// The two real BCDs.
pub(crate) const BCDS: &[&str] = &[
    "kevingoode-vssbackup/no_sql/BCDocument.xml",
    "kevingoode-vssbackup/with_sql/BCDocument.xml",
];

/// The two published fragments (BACKUP_LOCATIONS subtrees).
pub(crate) const FRAGMENTS: &[&str] = &[
    "msdocs-fragments/ntds-backup-locations.fragment.xml",
    "msdocs-fragments/adam-lds-backup-locations.fragment.xml",
];

/// Wraps a fragment in a `WRITER_METADATA` root, as the realdata README says to.
pub(crate) fn wrap_fragment(bytes: &[u8]) -> String {
    let text = std::str::from_utf8(bytes).expect("fragment is UTF-8");
    format!(
        "<WRITER_METADATA xmlns=\"x-schema:#VssWriterMetadataInfo\" version=\"1.2\">{text}</WRITER_METADATA>"
    )
}
