//! Replays `fuzz/regressions/record/*` through the calls of the `record` fuzz target (see
//! that folder's README): nothing may panic.

use ntfs_source::record::{
    FileName, FileRecord, IndexBlock, ReparseKey, StandardInformation, Value, decode_runs,
};

fn replay(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            let mut rec = rest.to_vec();
            rec.resize(if mode & 0x80 != 0 { 4096 } else { 1024 }, 0);
            if let Ok(r) = FileRecord::parse(&rec, 42) {
                for a in r.attributes().map_while(Result::ok) {
                    if let Value::Resident(v) = a.value {
                        let _ = StandardInformation::parse(v);
                        let _ = FileName::parse(v);
                    }
                }
            }
        }
        1 => {
            let mut blk = rest.to_vec();
            blk.resize(4096, 0);
            if let Ok(b) = IndexBlock::parse(&blk) {
                for e in b.entries().unwrap_or_default() {
                    let _ = ReparseKey::parse(e.key);
                }
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
}

#[test]
fn every_committed_fuzz_input_replays_without_panicking() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions/record");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        replay(&std::fs::read(e.unwrap().path()).unwrap());
        n += 1;
    }
    assert!(n >= 3, "{n} inputs in {}", dir.display());
    // The seed run list decodes: one cluster at 0x795f, then a 0x2c0-cluster hole.
    let runs = decode_runs(&[0x21, 0x01, 0x5f, 0x79, 0x02, 0xc0, 0x02, 0]).unwrap();
    assert_eq!(runs[0].lcn, Some(0x795f));
    assert_eq!((runs[1].clusters, runs[1].lcn), (0x2c0, None));
}
