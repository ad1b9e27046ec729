//! The COM bridge's pure-Rust half: the `ddpbackup.h` layouts and identities, and the adapter
//! logic between the `IDedupReadFileCallback` calls Windows makes and a
//! [`dedup_restore::BackupStore`] — path text, offsets, sizes, bytes returned, read plans and
//! previews — plus the conversion of `RestoreFiles`' per-file HRESULTs into a
//! [`RestoreReport`]. The FFI half (vtables, BSTRs, `CoTaskMemAlloc`) is in `com` (Windows only)
//! and only moves pointers in and out of these functions.
//!
//! Source of every identity and layout: Microsoft's `ddpbackup.h` (Windows SDK, MIDL-generated
//! from `DdpBackup.idl`; checked against the copy in `microsoft/win32metadata`,
//! `generation/WinSDK/RecompiledIdlHeaders/um/ddpbackup.h`) and the Learn pages
//! `nn-ddpbackup-idedupreadfilecallback` / `nn-ddpbackup-idedupbackupsupport`; the same values
//! are recorded in `docs/dedup-format.md` §6.1. `windows-sys` 0.61 does not carry these
//! interfaces, hence the hand-written declarations.

use std::sync::atomic::{AtomicU64, Ordering};

use dedup_restore::{
    BackupStore, ContainerExtent, FileError, FileExtent, FileResult, Hresult, RestoreReport,
    RestoreStats,
};
use platform::WinPath;

/// `IID_IDedupReadFileCallback` = `{7BACC67A-2F1D-42D0-897E-6FF62DD533BB}`
/// (`MIDL_INTERFACE("7BACC67A-2F1D-42D0-897E-6FF62DD533BB")` in `ddpbackup.h`).
pub const IID_IDEDUP_READ_FILE_CALLBACK: u128 = 0x7BAC_C67A_2F1D_42D0_897E_6FF6_2DD5_33BB;
/// `IID_IDedupBackupSupport` = `{C719D963-2B2D-415E-ACF7-7EB7CA596FF4}` (`ddpbackup.h`).
pub const IID_IDEDUP_BACKUP_SUPPORT: u128 = 0xC719_D963_2B2D_415E_ACF7_7EB7_CA59_6FF4;
/// `CLSID_DedupBackupSupport` = `{73D6B2AD-2984-4715-B2E3-924C149744DD}`
/// (`class DECLSPEC_UUID("73D6B2AD-2984-4715-B2E3-924C149744DD") DedupBackupSupport` in
/// `ddpbackup.h`; implemented by `DdpBackup.dll`, Windows Server 2012 and later only).
pub const CLSID_DEDUP_BACKUP_SUPPORT: u128 = 0x73D6_B2AD_2984_4715_B2E3_924C_1497_44DD;
/// `IID_IUnknown` = `{00000000-0000-0000-C000-000000000046}` (`unknwn.h`).
pub const IID_IUNKNOWN: u128 = 0x0000_0000_0000_0000_C000_0000_0000_0046;

/// `DEDUP_RECONSTRUCT_UNOPTIMIZED`, the only flag `RestoreFiles` accepts.
pub const DEDUP_RECONSTRUCT_UNOPTIMIZED: u32 = 1;

/// `E_POINTER`.
pub const E_POINTER: Hresult = Hresult(0x8000_4003);
/// `E_NOINTERFACE`.
pub const E_NOINTERFACE: Hresult = Hresult(0x8000_4002);
/// `E_UNEXPECTED`.
pub const E_UNEXPECTED: Hresult = Hresult(0x8000_FFFF);
/// `E_OUTOFMEMORY`.
pub const E_OUTOFMEMORY: Hresult = Hresult(0x8007_000E);
/// `REGDB_E_CLASSNOTREG`: the class is not registered (the Data Deduplication feature is not
/// installed, or this is not Windows Server).
pub const REGDB_E_CLASSNOTREG: Hresult = Hresult(0x8004_0154);

/// The textual form `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}` of a GUID held as a `u128` in
/// reading order (the form `windows_sys::core::GUID::from_u128` takes).
#[must_use]
pub fn guid_string(g: u128) -> String {
    format!(
        "{{{:08X}-{:04X}-{:04X}-{:04X}-{:012X}}}",
        (g >> 96) as u32,
        (g >> 80) as u16,
        (g >> 64) as u16,
        (g >> 48) as u16,
        g & 0xFFFF_FFFF_FFFF
    )
}

/// `DEDUP_CONTAINER_EXTENT { ULONG ContainerIndex; hyper StartOffset; hyper Length; }` — 24
/// bytes with natural alignment (4 bytes of padding after `ContainerIndex`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DedupContainerExtent {
    /// Index into the `ContainerPaths` of the `OrderContainersRestore` call.
    pub container_index: u32,
    /// First byte.
    pub start_offset: i64,
    /// Length; `LONGLONG_MAX` (`i64::MAX`) means "to the end of the file" (the SDK sample).
    pub length: i64,
}

/// `DDP_FILE_EXTENT { hyper Length; hyper Offset; }` — note: length first.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DdpFileExtent {
    /// Length in bytes.
    pub length: i64,
    /// Offset in the container file.
    pub offset: i64,
}

/// Counters of the calls Windows made on a callback (reported in [`RestoreStats`]).
#[derive(Debug, Default)]
pub struct CallbackCounters {
    /// `ReadBackupFile` calls.
    pub reads: AtomicU64,
    /// Bytes returned by them.
    pub bytes_read: AtomicU64,
    /// `OrderContainersRestore` calls.
    pub order_calls: AtomicU64,
    /// `PreviewContainerRead` calls.
    pub previews: AtomicU64,
}

/// The volume-relative store path in the text Windows passes to `ReadBackupFile` /
/// `PreviewContainerRead` / `OrderContainersRestore`.
///
/// Microsoft documents it as the path of a store file "from the volume root" and the SDK sample
/// prepends its backup root to it; whether it ever carries a drive letter or a `\\?\Volume{…}`
/// prefix is not documented (docs/dedup-format.md §9), so this accepts all of `\System Volume Information\…`,
/// `C:\System Volume Information\…`, `\\?\C:\…`, `\\?\Volume{…}\…` and `\??\C:\…`, and cuts
/// everything before a `System Volume Information` component when there is one.
pub fn store_path(text: &str) -> Result<WinPath, Hresult> {
    let t = text.replace('/', "\\");
    let mut rest: &str = &t;
    for prefix in [r"\\?\", r"\\.\", r"\??\"] {
        if let Some(r) = rest.strip_prefix(prefix) {
            rest = r;
            break;
        }
    }
    if rest.starts_with("Volume{") {
        rest = rest.find('\\').map_or("", |i| &rest[i..]);
    } else if rest.len() >= 2
        && rest.as_bytes()[0].is_ascii_alphabetic()
        && rest.as_bytes()[1] == b':'
    {
        rest = &rest[2..];
    }
    let comps: Vec<&str> = rest.split('\\').filter(|c| !c.is_empty()).collect();
    let start = comps
        .iter()
        .position(|c| platform::eq_name(c, "System Volume Information"))
        .unwrap_or(0);
    WinPath::new(&comps[start..].join("\\")).map_err(|_| Hresult::E_INVALIDARG)
}

/// `ReadBackupFile(FileFullPath, FileOffset, SizeToRead, FileBuffer, ReturnedSize, Flags)` over
/// a store: `buf` is the caller's `FileBuffer` of `SizeToRead` bytes. Returns the HRESULT and
/// `*ReturnedSize`.
///
/// * A negative offset or a bad path is `E_INVALIDARG` with 0 bytes.
/// * A full read is `S_OK` with `SizeToRead` bytes (the documented success case).
/// * A read that runs past the end of the store file returns the bytes up to the end with
///   `S_OK` and `*ReturnedSize < SizeToRead`, as `ReadFile` does (the SDK sample forwards
///   `ReadFile`'s count); a read at or after the end returns 0 bytes. Our choice where the
///   contract is silent; the end is found by bisection with whole reads, since the store has
///   no size query.
/// * Any other store error is returned as its HRESULT (e.g. `DDP_E_PATH_NOT_FOUND`), 0 bytes.
pub fn read_backup_file(
    store: &dyn BackupStore,
    counters: &CallbackCounters,
    path_text: &str,
    offset: i64,
    buf: &mut [u8],
) -> (Hresult, u32) {
    counters.reads.fetch_add(1, Ordering::Relaxed);
    let Ok(offset) = u64::try_from(offset) else {
        return (Hresult::E_INVALIDARG, 0);
    };
    let path = match store_path(path_text) {
        Ok(p) => p,
        Err(hr) => return (hr, 0),
    };
    let Ok(total) = u32::try_from(buf.len()) else {
        return (Hresult::E_INVALIDARG, 0);
    };
    match store.read_backup_file(&path, offset, buf) {
        Ok(()) => {
            counters
                .bytes_read
                .fetch_add(u64::from(total), Ordering::Relaxed);
            (Hresult::S_OK, total)
        }
        Err(e) if e.past_end => {
            // Largest n < len with a successful read of n bytes (n = 0 always "succeeds").
            let (mut good, mut bad) = (0usize, buf.len());
            while bad - good > 1 {
                let mid = good + (bad - good) / 2;
                match store.read_backup_file(&path, offset, &mut buf[..mid]) {
                    Ok(()) => good = mid,
                    Err(e) if e.past_end => bad = mid,
                    Err(e) => return (e.hresult, 0),
                }
            }
            if good > 0 {
                // The last probe may have been a failure that clobbered nothing, but re-read to
                // be sure the buffer holds exactly the prefix.
                if let Err(e) = store.read_backup_file(&path, offset, &mut buf[..good]) {
                    return (e.hresult, 0);
                }
            }
            counters
                .bytes_read
                .fetch_add(good as u64, Ordering::Relaxed);
            (Hresult::S_OK, good as u32)
        }
        Err(e) => (e.hresult, 0),
    }
}

/// `OrderContainersRestore(NumberOfContainers, ContainerPaths, ReadPlanEntries, ReadPlan)` over
/// a store: the read plan to hand back (empty = "no preference", returned as 0 entries and a
/// NULL plan, which the documentation allows).
///
/// `ContainerExtent::length` of `u64::MAX` (or anything ≥ `i64::MAX`) becomes `LONGLONG_MAX`;
/// a plan entry naming a container index out of range, or a start offset beyond `i64::MAX`, is
/// the store's bug and answered with `E_UNEXPECTED` rather than passed to Windows.
pub fn order_containers_restore(
    store: &dyn BackupStore,
    counters: &CallbackCounters,
    container_texts: &[String],
) -> Result<Vec<DedupContainerExtent>, Hresult> {
    counters.order_calls.fetch_add(1, Ordering::Relaxed);
    let containers = container_texts
        .iter()
        .map(|t| store_path(t))
        .collect::<Result<Vec<_>, _>>()?;
    let plan = store
        .order_containers_restore(&containers)
        .map_err(|e| e.hresult)?;
    let Some(plan) = plan else {
        return Ok(Vec::new());
    };
    plan.iter()
        .map(|e: &ContainerExtent| {
            if e.container_index as usize >= containers.len() {
                return Err(E_UNEXPECTED);
            }
            let start_offset = i64::try_from(e.start).map_err(|_| E_UNEXPECTED)?;
            let length = i64::try_from(e.length).unwrap_or(i64::MAX);
            Ok(DedupContainerExtent {
                container_index: e.container_index,
                start_offset,
                length,
            })
        })
        .collect()
}

/// `PreviewContainerRead(FileFullPath, NumberOfReads, ReadOffsets)` over a store. A negative
/// offset or length is `E_INVALIDARG`.
pub fn preview_container_read(
    store: &dyn BackupStore,
    counters: &CallbackCounters,
    path_text: &str,
    reads: &[DdpFileExtent],
) -> Hresult {
    counters.previews.fetch_add(1, Ordering::Relaxed);
    let path = match store_path(path_text) {
        Ok(p) => p,
        Err(hr) => return hr,
    };
    let extents: Option<Vec<FileExtent>> = reads
        .iter()
        .map(|r| {
            Some(FileExtent {
                offset: u64::try_from(r.offset).ok()?,
                length: u64::try_from(r.length).ok()?,
            })
        })
        .collect();
    let Some(extents) = extents else {
        return Hresult::E_INVALIDARG;
    };
    match store.preview_container_read(&path, &extents) {
        Ok(()) => Hresult::S_OK,
        Err(e) => e.hresult,
    }
}

/// The report of a native `RestoreFiles` call: its return value, one HRESULT per path
/// (`FileResults`), and the callback's counters. Windows gives no per-file detail or size, so
/// a failed file's error is [`FileError::Reported`] and `logical_size` is 0.
#[must_use]
pub fn report_from_native(
    paths: &[WinPath],
    overall: i32,
    file_results: &[i32],
    counters: &CallbackCounters,
    elapsed_us: u64,
) -> RestoreReport {
    let files = paths
        .iter()
        .zip(file_results)
        .map(|(path, &hr)| {
            let result = Hresult(hr.cast_unsigned());
            FileResult {
                path: path.clone(),
                result,
                error: (!result.is_success()).then_some(FileError::Reported {
                    by: "IDedupBackupSupport::RestoreFiles",
                    hresult: result,
                }),
                logical_size: 0,
            }
        })
        .collect();
    RestoreReport {
        result: Hresult(overall.cast_unsigned()),
        files,
        stats: RestoreStats {
            reads: counters.reads.load(Ordering::Relaxed),
            bytes_read: counters.bytes_read.load(Ordering::Relaxed),
            elapsed_us,
            ..RestoreStats::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dedup_restore::{MemoryStore, RecordingStore, StoreCall, StoreError};

    const DATA: &str = r"\System Volume Information\Dedup\ChunkStore\{11111111-2222-3333-4444-555555555555}.ddp\Data\00000001.00000001.ccc";

    fn store() -> MemoryStore {
        let mut s = MemoryStore::new();
        s.insert(WinPath::new(DATA).unwrap(), (0..100u8).collect());
        s
    }

    #[test]
    fn identities_match_the_header_text() {
        assert_eq!(
            guid_string(IID_IDEDUP_READ_FILE_CALLBACK),
            "{7BACC67A-2F1D-42D0-897E-6FF62DD533BB}"
        );
        assert_eq!(
            guid_string(IID_IDEDUP_BACKUP_SUPPORT),
            "{C719D963-2B2D-415E-ACF7-7EB7CA596FF4}"
        );
        assert_eq!(
            guid_string(CLSID_DEDUP_BACKUP_SUPPORT),
            "{73D6B2AD-2984-4715-B2E3-924C149744DD}"
        );
        assert_eq!(
            guid_string(IID_IUNKNOWN),
            "{00000000-0000-0000-C000-000000000046}"
        );
    }

    #[test]
    fn struct_layouts() {
        use std::mem::{align_of, offset_of, size_of};
        assert_eq!(size_of::<DedupContainerExtent>(), 24);
        assert_eq!(align_of::<DedupContainerExtent>(), 8);
        assert_eq!(offset_of!(DedupContainerExtent, container_index), 0);
        assert_eq!(offset_of!(DedupContainerExtent, start_offset), 8);
        assert_eq!(offset_of!(DedupContainerExtent, length), 16);
        assert_eq!(size_of::<DdpFileExtent>(), 16);
        assert_eq!(offset_of!(DdpFileExtent, length), 0);
        assert_eq!(offset_of!(DdpFileExtent, offset), 8);
    }

    #[test]
    fn store_paths_in_every_spelling() {
        let want = WinPath::new(DATA).unwrap();
        let tail = DATA.trim_start_matches('\\');
        for text in [
            DATA.to_owned(),
            tail.to_owned(),
            format!(r"C:\{tail}"),
            format!(r"\\?\C:\{tail}"),
            format!(r"\??\E:\{tail}"),
            format!(r"\\?\Volume{{0b7f5a5b-eb60-4baf-86af-d9101f3b482c}}\{tail}"),
            format!(r"D:\backups\job7\{tail}"),
            DATA.replace('\\', "/"),
        ] {
            assert_eq!(store_path(&text), Ok(want.clone()), "{text}");
        }
        assert_eq!(store_path(r"\a\..\b"), Err(Hresult::E_INVALIDARG));
    }

    #[test]
    fn full_read_returns_size_to_read() {
        let s = store();
        let c = CallbackCounters::default();
        let mut buf = [0u8; 10];
        let (hr, n) = read_backup_file(&s, &c, DATA, 20, &mut buf);
        assert_eq!((hr, n), (Hresult::S_OK, 10));
        assert_eq!(buf, [20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
        assert_eq!(c.reads.load(Ordering::Relaxed), 1);
        assert_eq!(c.bytes_read.load(Ordering::Relaxed), 10);
    }

    #[test]
    fn read_across_the_end_is_short() {
        let s = store();
        let c = CallbackCounters::default();
        let mut buf = [0xEEu8; 16];
        let (hr, n) = read_backup_file(&s, &c, DATA, 95, &mut buf);
        assert_eq!((hr, n), (Hresult::S_OK, 5));
        assert_eq!(&buf[..5], &[95, 96, 97, 98, 99]);
        assert_eq!(c.bytes_read.load(Ordering::Relaxed), 5);
        // At and past the end: zero bytes, still success (ReadFile at EOF).
        assert_eq!(
            read_backup_file(&s, &c, DATA, 100, &mut buf),
            (Hresult::S_OK, 0)
        );
        assert_eq!(
            read_backup_file(&s, &c, DATA, 5000, &mut buf),
            (Hresult::S_OK, 0)
        );
        // Exactly to the end is a full read.
        assert_eq!(
            read_backup_file(&s, &c, DATA, 84, &mut buf),
            (Hresult::S_OK, 16)
        );
        assert_eq!(buf[15], 99);
    }

    #[test]
    fn zero_length_and_bad_arguments() {
        let s = store();
        let c = CallbackCounters::default();
        assert_eq!(
            read_backup_file(&s, &c, DATA, 0, &mut []),
            (Hresult::S_OK, 0)
        );
        let mut buf = [0u8; 4];
        assert_eq!(
            read_backup_file(&s, &c, DATA, -1, &mut buf),
            (Hresult::E_INVALIDARG, 0)
        );
        assert_eq!(
            read_backup_file(&s, &c, r"\x\..\y", 0, &mut buf),
            (Hresult::E_INVALIDARG, 0)
        );
        assert_eq!(
            read_backup_file(&s, &c, r"\System Volume Information\missing", 0, &mut buf),
            (Hresult::DDP_E_PATH_NOT_FOUND, 0)
        );
    }

    #[test]
    fn store_failures_pass_their_hresult() {
        let s = RecordingStore::new(store()).failing_reads(|_, off, _| off == 40);
        let c = CallbackCounters::default();
        let mut buf = [0u8; 4];
        assert_eq!(
            read_backup_file(&s, &c, DATA, 40, &mut buf),
            (Hresult::E_FAIL, 0)
        );
        assert_eq!(
            s.calls(),
            vec![StoreCall::Read(WinPath::new(DATA).unwrap(), 40, 4)]
        );
    }

    struct Planned(Option<Vec<ContainerExtent>>);
    impl BackupStore for Planned {
        fn read_backup_file(&self, path: &WinPath, _: u64, _: &mut [u8]) -> Result<(), StoreError> {
            Err(StoreError::not_found(path))
        }
        fn order_containers_restore(
            &self,
            _: &[WinPath],
        ) -> Result<Option<Vec<ContainerExtent>>, StoreError> {
            Ok(self.0.clone())
        }
    }

    #[test]
    fn read_plans_are_converted() {
        let c = CallbackCounters::default();
        let names = vec![
            DATA.to_owned(),
            DATA.replace("00000001.00000001", "00000002.00000001"),
        ];
        assert_eq!(
            order_containers_restore(&Planned(None), &c, &names),
            Ok(vec![])
        );
        let plan = Planned(Some(vec![
            ContainerExtent {
                container_index: 1,
                start: 0,
                length: u64::MAX,
            },
            ContainerExtent {
                container_index: 0,
                start: 4096,
                length: 8192,
            },
        ]));
        assert_eq!(
            order_containers_restore(&plan, &c, &names),
            Ok(vec![
                DedupContainerExtent {
                    container_index: 1,
                    start_offset: 0,
                    length: i64::MAX,
                },
                DedupContainerExtent {
                    container_index: 0,
                    start_offset: 4096,
                    length: 8192,
                },
            ])
        );
        let bad = Planned(Some(vec![ContainerExtent {
            container_index: 2,
            start: 0,
            length: 1,
        }]));
        assert_eq!(
            order_containers_restore(&bad, &c, &names),
            Err(E_UNEXPECTED)
        );
        let bad = Planned(Some(vec![ContainerExtent {
            container_index: 0,
            start: u64::MAX,
            length: 1,
        }]));
        assert_eq!(
            order_containers_restore(&bad, &c, &names),
            Err(E_UNEXPECTED)
        );
        assert_eq!(
            order_containers_restore(&bad, &c, &[r"\a\..".to_owned()]),
            Err(Hresult::E_INVALIDARG)
        );
        assert_eq!(c.order_calls.load(Ordering::Relaxed), 5);
    }

    #[test]
    fn the_order_call_sees_the_parsed_paths() {
        let s = RecordingStore::new(store());
        let c = CallbackCounters::default();
        let names = vec![format!(r"C:{DATA}")];
        assert_eq!(order_containers_restore(&s, &c, &names), Ok(vec![]));
        assert_eq!(
            s.calls(),
            vec![StoreCall::Order(vec![WinPath::new(DATA).unwrap()])]
        );
    }

    #[test]
    fn previews_swap_length_and_offset_into_file_extents() {
        let s = RecordingStore::new(store());
        let c = CallbackCounters::default();
        let reads = [
            DdpFileExtent {
                length: 100,
                offset: 4096,
            },
            DdpFileExtent {
                length: 7,
                offset: 0,
            },
        ];
        assert_eq!(preview_container_read(&s, &c, DATA, &reads), Hresult::S_OK);
        assert_eq!(
            s.calls(),
            vec![StoreCall::Preview(
                WinPath::new(DATA).unwrap(),
                vec![
                    FileExtent {
                        offset: 4096,
                        length: 100
                    },
                    FileExtent {
                        offset: 0,
                        length: 7
                    },
                ]
            )]
        );
        let neg = [DdpFileExtent {
            length: -1,
            offset: 0,
        }];
        assert_eq!(
            preview_container_read(&s, &c, DATA, &neg),
            Hresult::E_INVALIDARG
        );
        assert_eq!(c.previews.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn native_results_become_a_report() {
        let paths = [WinPath::new("a").unwrap(), WinPath::new(r"d\b").unwrap()];
        let c = CallbackCounters::default();
        c.reads.store(3, Ordering::Relaxed);
        c.bytes_read.store(4096, Ordering::Relaxed);
        let r = report_from_native(
            &paths,
            0x8056_5356_u32.cast_signed(),
            &[0, 0x8056_5355_u32.cast_signed()],
            &c,
            17,
        );
        assert_eq!(r.result, Hresult::DDP_E_JOB_COMPLETED_PARTIAL_SUCCESS);
        assert_eq!(r.files.len(), 2);
        assert_eq!(r.files[0].result, Hresult::S_OK);
        assert!(r.files[0].error.is_none());
        assert_eq!(r.files[1].path, paths[1]);
        assert_eq!(r.files[1].result, Hresult::DDP_E_FILE_CORRUPT);
        assert_eq!(
            r.files[1]
                .error
                .as_ref()
                .map(ToString::to_string)
                .as_deref(),
            Some(
                "IDedupBackupSupport::RestoreFiles reported DDP_E_FILE_CORRUPT (0x80565355) for this file"
            )
        );
        assert_eq!(r.stats.reads, 3);
        assert_eq!(r.stats.bytes_read, 4096);
        assert_eq!(r.stats.elapsed_us, 17);
        assert_eq!(r.stats.chunks_decoded, 0);
    }
}
