//! The real documents of `fixtures/vss` parse, and concrete facts about them hold.

mod common;

use vss_model::bcd::BackupComponents;
use vss_model::encoding::{TextEncoding, decode_document, encode_utf16le};
use vss_model::enums::{DataSource, RestoreMethod, Usage, WriterRestore};
use vss_model::flags::{BackupSchema, ComponentFlags, FileSpecBackupType};
use vss_model::wmd::{ComponentKind, FileSetKind};
use vss_model::{Document, Guid, WriteOptions, WriterMetadata};

fn wmd(base: &std::path::Path, rel: &str) -> WriterMetadata {
    WriterMetadata::from_bytes(&common::read(base, rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn all_22_wmds_parse_with_their_friendly_name() {
    let base = common::realdata();
    assert_eq!(common::WMDS.len(), 22);
    for (rel, name) in common::WMDS {
        let doc = wmd(&base, rel);
        let id = doc.identification.as_ref().expect("IDENTIFICATION");
        assert_eq!(id.friendly_name.as_deref(), Some(*name), "{rel}");
        assert_eq!(
            doc.xmlns.as_deref(),
            Some("x-schema:#VssWriterMetadataInfo")
        );
        assert_eq!(doc.version.as_deref(), Some("1.2"));
        assert!(id.instance_id.is_some(), "{rel}");
    }
}

#[test]
fn each_writer_has_its_restore_method_and_writer_restore() {
    use RestoreMethod as M;
    use WriterRestore as W;
    type Expected = (M, W, bool);
    let base = common::realdata();
    // From the realdata README table.
    let expected: &[(&str, Option<Expected>)] = &[
        (
            "Task Scheduler Writer",
            Some((M::RestoreAtRebootIfCannotReplace, W::Never, false)),
        ),
        (
            "VSS Metadata Store Writer",
            Some((M::RestoreAtRebootIfCannotReplace, W::Never, false)),
        ),
        (
            "Performance Counters Writer",
            Some((M::RestoreAtRebootIfCannotReplace, W::Never, false)),
        ),
        (
            "System Writer",
            Some((M::RestoreAtRebootIfCannotReplace, W::Never, true)),
        ),
        ("ASR Writer", Some((M::RestoreIfCanReplace, W::Never, true))),
        (
            "SqlServerWriter",
            Some((M::RestoreIfCanReplace, W::Always, false)),
        ),
        ("Shadow Copy Optimization Writer", None),
        ("BITS Writer", None),
        ("WMI Writer", Some((M::RestoreAtReboot, W::Never, true))),
        (
            "Registry Writer",
            Some((M::RestoreAtRebootIfCannotReplace, W::Never, true)),
        ),
        (
            "COM+ REGDB Writer",
            Some((M::RestoreAtRebootIfCannotReplace, W::Never, false)),
        ),
    ];
    for (rel, name) in common::WMDS {
        let doc = wmd(&base, rel);
        let (_, want) = expected.iter().find(|(n, _)| n == name).unwrap();
        match (want, &doc.restore_method) {
            (None, None) => assert_eq!(doc.method(), M::Undefined),
            (Some((m, w, reboot)), Some(rm)) => {
                assert_eq!(&rm.method, m, "{rel}");
                assert_eq!(&rm.writer_restore, w, "{rel}");
                assert_eq!(rm.reboot_required, Some(*reboot), "{rel}");
            }
            other => panic!("{rel}: {other:?}"),
        }
    }
}

#[test]
fn system_writer_file_set_counts_and_components() {
    let base = common::realdata();
    for (rel, count) in [
        ("kevingoode-vssbackup/no_sql/WM3.xml", 18_925),
        ("kevingoode-vssbackup/with_sql/WM3.xml", 18_995),
    ] {
        let doc = wmd(&base, rel);
        assert_eq!(doc.file_sets().count(), count, "{rel}");
        let names: Vec<_> = doc.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["System Files", "Win32 Services Files"]);
        assert_eq!(
            doc.components[1].flags,
            Some(ComponentFlags::NOT_SYSTEM_STATE)
        );
        assert_eq!(doc.components[0].flags, Some(ComponentFlags(0)));
        // Recursive absent means "no" (docs/vss-restore.md §1.2): only 13 FILE_LISTs say yes.
        assert_eq!(
            doc.file_sets().filter(|(_, f)| f.is_recursive()).count(),
            13
        );
        assert!(doc.file_sets().all(|(_, f)| {
            f.backup_type
                == Some(
                    FileSpecBackupType::ALL_BACKUP_REQUIRED
                        .union(FileSpecBackupType::ALL_SNAPSHOT_REQUIRED),
                )
        }));
        let first = &doc.components[0].file_sets[0];
        assert_eq!(
            first.path,
            r"C:\Windows\system32\CatRoot\{127D0A1D-4EF2-11D1-8608-00C04FC295EE}"
        );
        assert_eq!(
            (first.filespec.as_str(), first.recursive),
            ("*", Some(true))
        );
    }
}

#[test]
fn sql_writer_backup_schema_881_decodes_to_six_flags() {
    let base = common::realdata();
    for rel in [
        "kevingoode-vssbackup/no_sql/WM5.xml",
        "kevingoode-vssbackup/with_sql/WM4.xml",
    ] {
        let doc = wmd(&base, rel);
        let schema = doc.backup_schema.expect("backupSchema");
        assert_eq!(schema.bits(), 881);
        assert_eq!(
            schema.names(),
            [
                "DIFFERENTIAL",
                "COPY",
                "TIMESTAMPED",
                "LAST_MODIFY",
                "WRITER_SUPPORTS_NEW_TARGET",
                "WRITER_SUPPORTS_RESTORE_WITH_MOVE"
            ]
        );
        assert_eq!(schema.unknown_bits(), 0);
        assert!(schema.contains(BackupSchema::WRITER_SUPPORTS_NEW_TARGET));
        let id = doc.identification.as_ref().unwrap();
        assert_eq!(
            id.instance_name.as_deref(),
            Some("Microsoft SQL Server 2017:SQLWriter")
        );
        assert_eq!(id.usage, Some(Usage::UserData));
        assert_eq!(id.data_source, Some(DataSource::TransactedDb));
        assert!(doc.components.iter().all(|c| c.logical_path.as_deref()
            == Some("WIN2012-SQL17-2")
            && c.flags == Some(ComponentFlags::APP_ROLLBACK_RECOVERY)
            && c.is_selectable()
            && c.is_selectable_for_restore()
            && c.file_sets.len() == 2));
        assert!(
            doc.components
                .iter()
                .any(|c| c.full_path() == r"WIN2012-SQL17-2\master")
        );
    }
}

#[test]
fn asr_captions_keep_their_line_breaks() {
    let base = common::realdata();
    let doc = wmd(&base, "kevingoode-vssbackup/no_sql/WM4.xml");
    let c = doc
        .components
        .iter()
        .find(|c| c.name == "Volume{c7463abb-f40d-11e9-80c7-806e6f6e6963}")
        .unwrap();
    assert_eq!(
        c.caption.as_deref(),
        Some(
            "Select this volume (C:) if it is a critical volume.\r\nCritical volumes are those which ASR must restore.\r\n"
        )
    );
    let bcd = doc.components.iter().find(|c| c.name == "BCD").unwrap();
    assert!(
        bcd.caption
            .as_deref()
            .unwrap()
            .contains("boot managers.\r\nAll the files")
    );
    assert_eq!(
        bcd.file_sets[0].path,
        r"\\?\Volume{c7463aba-f40d-11e9-80c7-806e6f6e6963}\Boot"
    );
    assert_eq!(bcd.file_sets[0].filespec, "*.*");
    // Components without file sets are legal (docs/vss-restore.md §1.2).
    assert_eq!(
        doc.components
            .iter()
            .filter(|c| c.file_sets.is_empty())
            .count(),
        9
    );
    // ...and the line breaks survive a write and a re-read.
    let again = WriterMetadata::from_xml(&doc.to_xml(WriteOptions::default())).unwrap();
    assert_eq!(again.components, doc.components);
}

#[test]
fn wmi_writer_puts_restore_method_last_and_is_still_read() {
    let base = common::realdata();
    let raw = common::read(&base, "kevingoode-vssbackup/no_sql/WM8.xml");
    let text = String::from_utf8(raw.clone()).unwrap();
    assert!(text.find("<RESTORE_METHOD").unwrap() > text.find("</BACKUP_LOCATIONS>").unwrap());
    let doc = WriterMetadata::from_bytes(&raw).unwrap();
    assert_eq!(doc.method(), RestoreMethod::RestoreAtReboot);
}

#[test]
fn exclusions_of_the_exclusion_only_writers() {
    let base = common::realdata();
    let bits = wmd(&base, "kevingoode-vssbackup/no_sql/WM7.xml");
    assert!(bits.components.is_empty());
    assert_eq!(bits.excludes.len(), 3);
    assert_eq!(
        bits.excludes[2].path,
        r"C:\ProgramData\Microsoft\Network\Downloader\"
    );
    assert_eq!(bits.excludes[2].recursive, Some(true));
    let sco = wmd(&base, "kevingoode-vssbackup/no_sql/WM6.xml");
    assert_eq!(sco.excludes_from_snapshot.len(), 17);
    assert_eq!(
        sco.excludes_from_snapshot[4].path,
        r"\System Volume Information\Heat"
    );
    let reg = wmd(&base, "kevingoode-vssbackup/no_sql/WM9.xml");
    assert_eq!(reg.excludes.len(), 5);
    assert_eq!(reg.components[0].file_sets.len(), 9);
    let perf = wmd(&base, "kevingoode-vssbackup/no_sql/WM2.xml");
    assert_eq!(perf.components[0].file_sets[0].filespec, "Perfc???.dat");
}

#[test]
fn mixed_case_guids_compare_equal_to_lower_case() {
    let base = common::realdata();
    let doc = wmd(&base, "kevingoode-vssbackup/no_sql/WM1.xml");
    let id = doc.identification.unwrap();
    assert_eq!(
        id.writer_id,
        "75dfb225-e2e4-4d39-9ac9-ffaff65ddf06"
            .parse::<Guid>()
            .unwrap()
    );
    assert_eq!(
        id.writer_id,
        "{75DFB225-E2E4-4D39-9AC9-FFAFF65DDF06}"
            .parse::<Guid>()
            .unwrap()
    );
}

#[test]
fn both_bcds_parse_and_every_instance_id_is_among_the_wmds() {
    let base = common::realdata();
    for (bcd_rel, folder, writers, sql) in [
        (common::BCDS[0], "no_sql", 7, false),
        (common::BCDS[1], "with_sql", 8, true),
    ] {
        let bcd = BackupComponents::from_bytes(&common::read(&base, bcd_rel)).unwrap();
        assert_eq!(bcd.writers.len(), writers, "{bcd_rel}");
        assert_eq!(bcd.bootable_system_state_backup, Some(true));
        assert_eq!(bcd.select_components, Some(true));
        assert_eq!(bcd.partial_file_support, Some(false));
        assert_eq!(
            bcd.backup_type.as_ref().map(vss_model::BackupType::as_xml),
            Some("full")
        );
        let wmds: Vec<WriterMetadata> = common::WMDS
            .iter()
            .filter(|(rel, _)| rel.contains(folder))
            .map(|(rel, _)| wmd(&base, rel))
            .collect();
        assert_eq!(wmds.len(), 11);
        for w in &bcd.writers {
            let found = wmds
                .iter()
                .find(|d| d.identification.as_ref().unwrap().instance_id == w.instance_id);
            let found =
                found.unwrap_or_else(|| panic!("{bcd_rel}: {:?} not among WMDs", w.instance_id));
            assert_eq!(
                found.identification.as_ref().unwrap().writer_id,
                w.writer_id
            );
            for c in &w.components {
                assert!(
                    found
                        .components
                        .iter()
                        .any(|wc| wc.full_path() == c.full_path()),
                    "{bcd_rel}: {} not in {}",
                    c.full_path(),
                    found.display_name()
                );
            }
        }
        let sql_writer = bcd
            .writers
            .iter()
            .find(|w| w.backup_schema == Some(BackupSchema(881)));
        assert_eq!(sql_writer.is_some(), sql);
        if let Some(w) = sql_writer {
            let c = &w.components[0];
            assert_eq!(c.full_path(), r"WIN2012-SQL17-2\local1");
            assert_eq!(c.backup_stamp.as_deref(), Some("CAAAAMQv3+t4udUB"));
            let m = c.backup_metadata.as_ref().unwrap();
            assert!(
                m.metadata
                    .as_deref()
                    .unwrap()
                    .starts_with("BCAAAFRBUEUAAAMAjAAO")
            );
            assert_eq!(m.other_attributes, [("xmlns".to_owned(), String::new())]);
            assert_eq!(
                w.other_attributes,
                [(
                    "xmlns".to_owned(),
                    "x-schema:#VssComponentMetadata".to_owned()
                )]
            );
        }
    }
}

#[test]
fn both_fragments_parse_as_database_components() {
    let base = common::realdata();
    for (rel, path, name, lp) in [
        (
            common::FRAGMENTS[0],
            r"C:\Windows\NTDS",
            "ntds",
            "C:_Windows_NTDS",
        ),
        (
            common::FRAGMENTS[1],
            r"C:\Program Files\Microsoft ADAM\instance1\data",
            "adamntds",
            "C:_Program Files_Microsoft ADAM_instance1_data",
        ),
    ] {
        let text = common::wrap_fragment(&common::read(&base, rel));
        let doc = WriterMetadata::from_xml(&text).unwrap();
        assert!(doc.identification.is_none());
        let c = &doc.components[0];
        assert_eq!(c.kind, ComponentKind::Database);
        assert_eq!(c.name, name);
        assert_eq!(c.logical_path.as_deref(), Some(lp));
        assert_eq!(c.caption.as_deref(), Some(""));
        assert_eq!(
            c.flags,
            Some(ComponentFlags::BACKUP_RECOVERY.union(ComponentFlags::APP_ROLLBACK_RECOVERY))
        );
        let kinds: Vec<_> = c
            .file_sets
            .iter()
            .map(|f| (f.kind, f.filespec.as_str()))
            .collect();
        assert_eq!(kinds[1], (FileSetKind::DatabaseLogFiles, "edb*.log"));
        assert_eq!(kinds[2], (FileSetKind::DatabaseLogFiles, "edb.chk"));
        assert_eq!(kinds[0].0, FileSetKind::DatabaseFiles);
        assert!(c.file_sets.iter().all(|f| f.path == path));
    }
}

#[test]
fn utf16le_without_bom_reads_the_same_as_ascii() {
    let base = common::realdata();
    // Manifest.xml is diskshadow's own UTF-16LE-without-BOM file; the sniffing must decode it.
    let manifest = common::read(&base, "kevingoode-vssbackup/no_sql/Manifest.xml");
    let (text, enc) = decode_document(&manifest).unwrap();
    assert_eq!(enc, TextEncoding::Utf16Le);
    assert!(text.starts_with("<Manifest"));
    assert!(
        Document::from_xml(&text).is_err(),
        "a manifest is not a VSS document"
    );
    // A real WMD, re-encoded the way SaveAsXML text is written raw by BETest.
    for (rel, _) in common::WMDS.iter().take(11) {
        let raw = common::read(&base, rel);
        let utf16 = encode_utf16le(std::str::from_utf8(&raw).unwrap());
        assert_eq!(decode_document(&utf16).unwrap().1, TextEncoding::Utf16Le);
        assert_eq!(
            WriterMetadata::from_bytes(&utf16).unwrap(),
            WriterMetadata::from_bytes(&raw).unwrap()
        );
    }
}

#[test]
fn every_real_document_round_trips() {
    let base = common::realdata();
    let mut docs: Vec<(String, Document)> = Vec::new();
    for (rel, _) in common::WMDS {
        docs.push((
            (*rel).to_owned(),
            Document::from_bytes(&common::read(&base, rel)).unwrap(),
        ));
    }
    for rel in common::BCDS {
        docs.push((
            (*rel).to_owned(),
            Document::from_bytes(&common::read(&base, rel)).unwrap(),
        ));
    }
    for rel in common::FRAGMENTS {
        let text = common::wrap_fragment(&common::read(&base, rel));
        docs.push(((*rel).to_owned(), Document::from_xml(&text).unwrap()));
    }
    assert_eq!(docs.len(), 26);
    for (rel, doc) in &docs {
        for options in [
            WriteOptions::default(),
            WriteOptions {
                declaration: true,
                indent: true,
            },
        ] {
            let text = doc.to_xml(options);
            let again = Document::from_xml(&text).unwrap_or_else(|e| panic!("{rel}: {e}"));
            assert_eq!(&again, doc, "{rel} ({options:?})");
            // And through UTF-16LE without BOM.
            let again = Document::from_bytes(&encode_utf16le(&text)).unwrap();
            assert_eq!(&again, doc, "{rel} (UTF-16)");
        }
    }
}
