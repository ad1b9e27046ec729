//! Shared set-up: the SQL Server writer's `master` component (trimmed from the real
//! `with_sql/WM4.xml` of `fixtures/vss`), a simulated volume `E:`, a memory backup.

#![allow(dead_code, unreachable_pub)]

use platform::{ComponentRef, PendingRename, Volume, WinPath};
use vss_model::restore_set::Environment;
use vss_model::wmd::AlternateMapping;
use vss_model::{BackupComponents, RestoreMethod, WriterMetadata, WriterRestore};
use vss_restore::{Host, MemoryBackup, RestoreOptions, RestoreReport, RestoreSpec};
use winsim::SimVolume;
use winsim::vss::SimVss;

/// The real SQL writer WMD (WM4.xml, with_sql capture), cut down to its `master` component.
pub const SQL_WMD: &str = r#"<WRITER_METADATA xmlns="x-schema:#VssWriterMetadataInfo" version="1.2" backupSchema="881"><IDENTIFICATION writerId="a65faa63-5ea8-4ebc-9dbd-a0c4db26912a" instanceId="dd8d6255-b3bb-4ec1-8249-73cd75c0ee21" instanceName="Microsoft SQL Server 2017:SQLWriter" friendlyName="SqlServerWriter" usage="USER_DATA" dataSource="TRANSACTION_DB" majorVersion="0" minorVersion="0"/><RESTORE_METHOD method="RESTORE_IF_CAN_BE_REPLACED" writerRestore="always" rebootRequired="no"/><BACKUP_LOCATIONS><FILE_GROUP logicalPath="WIN2012-SQL17-2" componentName="master" restoreMetadata="no" notifyOnBackupComplete="yes" selectable="yes" selectableForRestore="yes" componentFlags="2"><FILE_LIST path="E:\MSSQL14.MSSQLSERVER\MSSQL\DATA" filespec="master.mdf" filespecBackupType="3855"/><FILE_LIST path="E:\MSSQL14.MSSQLSERVER\MSSQL\DATA" filespec="mastlog.ldf" filespecBackupType="3855"/></FILE_GROUP></BACKUP_LOCATIONS></WRITER_METADATA>"#;

/// A BCD holding the `master` component of that writer instance.
pub const SQL_BCD: &str = r#"<BACKUP_COMPONENTS xmlns="x-schema:#VssComponentMetadata" version="1.2" bootableSystemStateBackup="no" selectComponents="yes" backupType="full" partialFileSupport="yes" snapshotSetId="4ad2e8b1-faf2-4aca-a010-2c3f939cef62"><WRITER_COMPONENTS instanceId="dd8d6255-b3bb-4ec1-8249-73cd75c0ee21" writerId="a65faa63-5ea8-4ebc-9dbd-a0c4db26912a" backupSchema="881"><COMPONENT logicalPath="WIN2012-SQL17-2" componentName="master" componentType="filegroup"></COMPONENT></WRITER_COMPONENTS></BACKUP_COMPONENTS>"#;

pub const WRITER_ID: &str = "a65faa63-5ea8-4ebc-9dbd-a0c4db26912a";
pub const DATA: &str = r"E:\MSSQL14.MSSQLSERVER\MSSQL\DATA";
pub const ALT: &str = r"E:\Restored\DATA";
pub const SERVICE: &str = "MSSQLSERVER";

pub fn master() -> ComponentRef {
    ComponentRef::new(WRITER_ID, "WIN2012-SQL17-2", "master")
}

pub fn p(s: &str) -> WinPath {
    WinPath::new(s).unwrap()
}

/// `E:\a\b` → `\a\b`.
pub fn vp(s: &str) -> WinPath {
    WinPath::new(&s[2..]).unwrap()
}

pub fn old_mdf() -> Vec<u8> {
    b"OLD master.mdf contents ".repeat(300)
}
pub fn old_ldf() -> Vec<u8> {
    b"OLD log ".repeat(50)
}
pub fn new_mdf() -> Vec<u8> {
    (0..70_000u32).map(|i| (i * 7 % 251) as u8).collect()
}
pub fn new_ldf() -> Vec<u8> {
    b"NEW mastlog.ldf ".repeat(123)
}

/// The SQL WMD with `method`, `writer_restore`, the service (for the stop methods) and an
/// alternate location mapping for each file set (to [`ALT`]) when `mappings`.
pub fn sql_wmd(
    method: RestoreMethod,
    writer_restore: WriterRestore,
    mappings: bool,
) -> WriterMetadata {
    let mut w = WriterMetadata::from_xml(SQL_WMD).unwrap();
    let rm = w.restore_method.as_mut().unwrap();
    rm.method = method;
    rm.writer_restore = writer_restore;
    rm.service = Some(SERVICE.to_owned());
    if mappings {
        for spec in ["master.mdf", "mastlog.ldf"] {
            w.alternate_mappings.push(AlternateMapping {
                path: DATA.to_owned(),
                filespec: spec.to_owned(),
                recursive: Some(false),
                alternate_path: ALT.to_owned(),
                other_attributes: Vec::new(),
                other_children: Vec::new(),
            });
        }
    }
    w
}

pub fn sql_bcd() -> BackupComponents {
    BackupComponents::from_xml(SQL_BCD).unwrap()
}

pub fn sql_backup() -> MemoryBackup {
    let mut b = MemoryBackup::new();
    b.insert(&format!(r"{DATA}\master.mdf"), new_mdf());
    b.insert(&format!(r"{DATA}\mastlog.ldf"), new_ldf());
    b
}

/// Every file on the volume with its bytes.
pub fn snapshot(v: &SimVolume) -> Vec<(String, Vec<u8>)> {
    v.all_files()
        .into_iter()
        .map(|f| {
            let b = read_wp(v, &f).unwrap();
            (f.to_string(), b)
        })
        .collect()
}

/// The bytes of `path` (`E:\\...`), read sharing everything (files may be held by a service).
pub fn read(v: &SimVolume, path: &str) -> Option<Vec<u8>> {
    read_wp(v, &vp(path))
}

pub fn read_wp(v: &SimVolume, path: &WinPath) -> Option<Vec<u8>> {
    use platform::{Access, Disposition, OpenOptions, ShareMode};
    match v.open(
        path,
        OpenOptions::new(Access::READ, ShareMode::ALL, Disposition::OpenExisting),
    ) {
        Ok(h) => {
            let mut b = vec![0u8; usize::try_from(h.len().unwrap()).unwrap()];
            h.read_exact_at(0, &mut b).unwrap();
            Some(b)
        }
        Err(platform::Error::NotFound { .. }) => None,
        Err(e) => panic!("{path}: {e}"),
    }
}

pub fn pending(v: &SimVolume) -> Vec<PendingRename> {
    v.pending_renames().unwrap()
}

/// Runs a restore of everything in `bcd` on `vol` (drive `E:`).
pub fn run(
    vol: &SimVolume,
    sim: &SimVss,
    wmds: &[WriterMetadata],
    bcd: &BackupComponents,
    backup: &MemoryBackup,
    opts: &RestoreOptions,
) -> RestoreReport {
    let env = Environment::new();
    let host = Host {
        volume: vol,
        drive: "E:",
        backup,
        chunk_store: None,
        writers: sim,
        services: sim,
    };
    let spec = RestoreSpec {
        writers: wmds,
        bcd,
        selection: &[],
        env: &env,
        volumes: &[],
        catalog: None,
    };
    vss_restore::restore(&host, &spec, opts).unwrap()
}

/// (length, FNV-1a hash) of some bytes: compact in assertion messages.
pub fn digest(b: Option<&[u8]>) -> Option<(usize, u64)> {
    b.map(|b| {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &x in b {
            h = (h ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3);
        }
        (b.len(), h)
    })
}
