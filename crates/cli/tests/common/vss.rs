//! A VSS backup folder for the tests of the `vss` commands: the SQL writer's `master` component
//! (the WMD trimmed from the real `with_sql/WM4.xml`, its restore method left to fill in) and a
//! BCD that selects it, with the component's two small files backed up.

use std::path::Path;

/// The WMD, with `@@M@@` where the restore method goes.
pub const WMD: &str = r#"<WRITER_METADATA xmlns="x-schema:#VssWriterMetadataInfo" version="1.2" backupSchema="881"><IDENTIFICATION writerId="a65faa63-5ea8-4ebc-9dbd-a0c4db26912a" instanceId="dd8d6255-b3bb-4ec1-8249-73cd75c0ee21" instanceName="Microsoft SQL Server 2017:SQLWriter" friendlyName="SqlServerWriter" usage="USER_DATA" dataSource="TRANSACTION_DB" majorVersion="0" minorVersion="0"/><RESTORE_METHOD method="@@M@@" writerRestore="always" rebootRequired="no"/><BACKUP_LOCATIONS><FILE_GROUP logicalPath="WIN2012-SQL17-2" componentName="master" restoreMetadata="no" notifyOnBackupComplete="yes" selectable="yes" selectableForRestore="yes" componentFlags="2"><FILE_LIST path="E:\DATA" filespec="master.mdf" filespecBackupType="3855"/><FILE_LIST path="E:\DATA" filespec="mastlog.ldf" filespecBackupType="3855"/></FILE_GROUP></BACKUP_LOCATIONS></WRITER_METADATA>"#;
/// The BCD selecting the `master` component.
pub const BCD: &str = r#"<BACKUP_COMPONENTS xmlns="x-schema:#VssComponentMetadata" version="1.2" selectComponents="yes" backupType="full" partialFileSupport="no"><WRITER_COMPONENTS instanceId="dd8d6255-b3bb-4ec1-8249-73cd75c0ee21" writerId="a65faa63-5ea8-4ebc-9dbd-a0c4db26912a"><COMPONENT logicalPath="WIN2012-SQL17-2" componentName="master" componentType="filegroup"/></WRITER_COMPONENTS></BACKUP_COMPONENTS>"#;

/// Writes the backup under `dir` with restore method `method`: `meta/WM4.xml`, `BCD.xml` and
/// `backup/E/DATA/{master.mdf,mastlog.ldf}`. Returns the metadata folder, the BCD and the backup
/// folder, as arguments.
pub fn backup(dir: &Path, method: &str) -> [String; 3] {
    let meta = dir.join("meta");
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::write(meta.join("WM4.xml"), WMD.replace("@@M@@", method)).unwrap();
    std::fs::write(dir.join("BCD.xml"), BCD).unwrap();
    let data = dir.join("backup/E/DATA");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("master.mdf"), b"backed-up master").unwrap();
    std::fs::write(data.join("mastlog.ldf"), b"backed-up log").unwrap();
    [
        meta.display().to_string(),
        dir.join("BCD.xml").display().to_string(),
        dir.join("backup").display().to_string(),
    ]
}

/// `rehydrate vss restore` of the backup [`backup`] wrote (its metadata folder, BCD and backup
/// folder), before any other argument.
pub fn restore_args<'a>(meta: &'a str, bcd: &'a str, backup: &'a str) -> [&'a str; 8] {
    [
        "vss",
        "restore",
        "--metadata",
        meta,
        "--bcd",
        bcd,
        "--backup",
        backup,
    ]
}
