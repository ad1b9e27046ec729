//! Writes a VHDX as a seed of the `vhdx` fuzz target (its non-zero 4 KiB pages, see
//! `disk_image::fuzzing`): `cargo run -p disk-image --example fuzz_seed IN.vhdx OUT`.

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, from, to] = args.as_slice() else {
        eprintln!("usage: fuzz_seed IN.vhdx OUT");
        std::process::exit(2);
    };
    std::fs::write(
        to,
        disk_image::fuzzing::sparse_encode(&std::fs::read(from)?),
    )
}
