//! Parsing a Writer Metadata Document whose root element carries 1,000,000 attributes (a
//! hostile document: 200,000 took 34 s while duplicate names were checked pairwise), beside a
//! baseline in the same run: one pass over the same bytes counting `=` signs (the least any
//! parser must do).

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vss_model::wmd::WriterMetadata;

fn document(n: usize) -> String {
    let mut extra = String::with_capacity(n * 18);
    for i in 0..n {
        let _ = write!(extra, " x{i}=\"{i}\"");
    }
    format!(
        r#"<WRITER_METADATA xmlns="x-schema:#VssWriterMetadataInfo" version="1.2"{extra}><IDENTIFICATION writerId="31111111-1111-1111-1111-111111111111" instanceId="41111111-1111-1111-1111-111111111111" friendlyName="W"/><RESTORE_METHOD method="RESTORE_IF_CAN_BE_REPLACED" writerRestore="never"/><BACKUP_LOCATIONS/></WRITER_METADATA>"#
    )
}

fn bench(c: &mut Criterion) {
    let text = document(1_000_000);
    let mut g = c.benchmark_group("xml_scale");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("count '=' (baseline)", |b| {
        b.iter(|| black_box(text.bytes().filter(|&c| c == b'=').count()));
    });
    g.bench_function("WMD with 1,000,000 attributes", |b| {
        b.iter(|| {
            let doc = WriterMetadata::from_xml(black_box(&text)).unwrap();
            assert!(doc.other_attributes.len() >= 1_000_000);
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
