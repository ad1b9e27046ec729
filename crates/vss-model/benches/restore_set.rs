//! Restore-set generation for the real System writer WMD (≈19,000 file sets) and the other
//! writers of the same real backup, over 1,000,000 synthetic catalog paths (fixed seed).
//! Baseline in the same run: lower-casing every catalog path (the least any matcher must do).
//!
//! Reads the real documents in `fixtures/vss`.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use vss_model::bcd::BackupComponents;
use vss_model::restore_set::{CatalogEntry, Environment, RestoreSetInput, generate};
use vss_model::wmd::WriterMetadata;

const PATHS: usize = 1_000_000;

/// The committed samples folder, `fixtures/` (see `fixtures/README.md`).
fn realdata() -> PathBuf {
    test_support::fixtures()
}

/// xorshift64*: small, seeded, good enough to spread paths.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn word(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from(b'a' + (self.next() % 26) as u8))
            .collect()
    }
}

fn random_case(rng: &mut Rng, s: &str) -> String {
    s.chars()
        .map(|c| {
            if rng.next() & 1 == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

/// A catalog that mixes files the System writer names exactly, files below its recursive
/// sets, and unrelated files, spread over tens of thousands of directories.
fn catalog(writers: &[WriterMetadata], env: &Environment) -> Vec<String> {
    let mut rng = Rng(0x5EED_0005);
    let system = writers
        .iter()
        .find(|w| w.display_name() == "System Writer")
        .expect("System writer");
    let sets: Vec<(String, String, bool)> = system
        .file_sets()
        .map(|(_, f)| {
            (
                env.expand(&f.path).unwrap(),
                f.filespec.clone(),
                f.is_recursive(),
            )
        })
        .collect();
    let roots = [
        r"C:\Users",
        r"C:\Data",
        r"D:\Projects",
        r"C:\Program Files\Vendor",
        r"C:\Windows\System32",
    ];
    let dirs: Vec<String> = (0..40_000)
        .map(|_| {
            let mut d = roots[rng.below(roots.len())].to_owned();
            for _ in 0..=rng.below(5) {
                d.push('\\');
                let len = 3 + rng.below(8);
                d.push_str(&rng.word(len));
            }
            d
        })
        .collect();
    let exts = ["dll", "exe", "txt", "dat", "log", "xml", "mui", ""];
    (0..PATHS)
        .map(|_| {
            let roll = rng.below(100);
            if roll < 30 {
                let (p, spec, rec) = &sets[rng.below(sets.len())];
                let name = if spec.contains(['*', '?']) {
                    format!("{}.{}", rng.word(6), exts[rng.below(exts.len())])
                } else {
                    spec.clone()
                };
                let sub = if *rec {
                    format!("\\{}", rng.word(5))
                } else {
                    String::new()
                };
                random_case(&mut rng, &format!("{p}{sub}\\{name}"))
            } else {
                let d = &dirs[rng.below(dirs.len())];
                let len = 4 + rng.below(10);
                format!("{d}\\{}.{}", rng.word(len), exts[rng.below(exts.len())])
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let base = realdata();
    let folder = base.join("vss/kevingoode-vssbackup/no_sql");
    let writers: Vec<WriterMetadata> = (0..=10)
        .map(|i| {
            let bytes = std::fs::read(folder.join(format!("WM{i}.xml"))).unwrap();
            WriterMetadata::from_bytes(&bytes).unwrap()
        })
        .collect();
    let bcd = BackupComponents::from_bytes(&std::fs::read(folder.join("BCDocument.xml")).unwrap())
        .unwrap();
    let env = Environment::windows_defaults("C:");
    let paths = catalog(&writers, &env);
    let entries: Vec<CatalogEntry<'_>> = paths
        .iter()
        .map(|p| CatalogEntry {
            path: p,
            short_name: None,
        })
        .collect();
    let input = RestoreSetInput {
        writers: &writers,
        bcd: &bcd,
        selection: &[],
        env: &env,
        volumes: &[],
    };
    let plan = generate(&input, &entries).unwrap();
    let restored = plan
        .files
        .iter()
        .filter(|d| matches!(d, vss_model::restore_set::Disposition::Restore { .. }))
        .count();
    eprintln!(
        "catalog: {} paths; planned for a component: {restored}; file sets: {}",
        entries.len(),
        writers.iter().map(|w| w.file_sets().count()).sum::<usize>()
    );

    let mut g = c.benchmark_group("restore_set_1M");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(12));
    g.bench_function("baseline_lowercase_catalog", |b| {
        b.iter(|| {
            let mut total = 0usize;
            for p in &paths {
                total += black_box(p.to_lowercase()).len();
            }
            total
        });
    });
    g.bench_function("generate_system_writer_backup", |b| {
        b.iter(|| generate(black_box(&input), black_box(&entries)).unwrap());
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
