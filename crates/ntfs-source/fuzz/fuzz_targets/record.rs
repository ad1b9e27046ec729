//! Our own NTFS parsing on arbitrary bytes: an MFT `FILE` record (1 KiB or 4 KiB, every
//! attribute, `$STANDARD_INFORMATION` / `$FILE_NAME` values), an `INDX` block (entries, `$R`
//! keys), an `$INDEX_ROOT` value and a bare run list. Nothing may panic, and what parses must
//! stay within the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ntfs_source::record::{
    FileName, FileRecord, IndexBlock, ReparseKey, StandardInformation, Value, decode_runs,
};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            let mut rec = rest.to_vec();
            let size = if mode & 0x80 != 0 { 4096 } else { 1024 };
            rec.resize(size, 0);
            if let Ok(r) = FileRecord::parse(&rec, 42) {
                for a in r.attributes() {
                    let Ok(a) = a else { break };
                    assert!(a.offset < size);
                    if let Value::Resident(v) = a.value {
                        assert!(v.len() <= size);
                        let _ = StandardInformation::parse(v);
                        let _ = FileName::parse(v).map(|f| f.name_lossy());
                    }
                }
            }
        }
        1 => {
            let mut blk = rest.to_vec();
            blk.resize(4096, 0);
            if let Ok(b) = IndexBlock::parse(&blk) {
                if let Ok(entries) = b.entries() {
                    for e in entries {
                        let _ = ReparseKey::parse(e.key);
                        let _ = FileName::parse(e.key);
                    }
                }
                let _ = b.last_subnode();
            }
        }
        2 => {
            if let Ok(b) = IndexBlock::from_root(rest, 7) {
                let _ = b.entries();
            }
        }
        _ => {
            if let Ok(runs) = decode_runs(rest) {
                assert!(runs.len() <= rest.len() / 2);
            }
        }
    }
});
