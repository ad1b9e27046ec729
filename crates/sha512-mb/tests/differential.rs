//! Every kernel this machine runs, and the portable emulation of the AVX-512 kernel, against
//! the `sha2` crate and the NIST vectors.

mod common;

use common::{bytes, check_all, engines, reference};
use proptest::prelude::*;
use sha512_mb::{KERNEL_ENV, Kernel};

/// The lengths around SHA-512's padding edges: 112 is the first that needs a second padding
/// block, 128 a block, and the same one block further.
const EDGES: [usize; 14] = [
    0, 1, 111, 112, 113, 127, 128, 129, 239, 240, 255, 256, 257, 383,
];

fn hex(s: &str) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (o, pair) in out.iter_mut().zip(s.as_bytes().chunks(2)) {
        *o = u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap();
    }
    out
}

#[test]
fn kernels_that_run_here_are_recorded() {
    let names: Vec<String> = engines().into_iter().map(|e| e.name).collect();
    eprintln!(
        "sha512-mb: available kernels {:?}; detected {}; engines tested: {names:?}",
        Kernel::available(),
        Kernel::detect()
    );
    assert_eq!(Kernel::available().last(), Some(&Kernel::Sha2));
    assert!(names.iter().any(|n| n == "avx512-emulated"));
    #[cfg(target_arch = "x86_64")]
    {
        assert_eq!(
            Kernel::Avx2.is_available(),
            std::is_x86_feature_detected!("avx2")
        );
        if std::is_x86_feature_detected!("avx2") {
            assert!(Kernel::available().contains(&Kernel::Avx2));
            assert!(names.iter().any(|n| n == "avx2"));
        }
        if std::is_x86_feature_detected!("avx512f") {
            assert!(Kernel::available().contains(&Kernel::Avx512));
        }
    }
}

#[test]
fn nist_vectors() {
    // FIPS 180-4 examples (NIST CSRC "Examples with intermediate values", SHA-512).
    let two_block = b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno\
                      ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    assert_eq!(two_block.len(), 112);
    let million = vec![b'a'; 1_000_000];
    let cases: [(&[u8], &str); 4] = [
        (
            b"abc",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        ),
        (
            b"",
            "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce\
             47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
        ),
        (
            two_block,
            "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018\
             501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909",
        ),
        (
            &million,
            "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb\
             de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b",
        ),
    ];
    let messages: Vec<&[u8]> = cases.iter().map(|c| c.0).collect();
    let want: Vec<[u8; 64]> = cases.iter().map(|c| hex(c.1)).collect();
    assert_eq!(
        reference(&messages),
        want,
        "the vectors as sha2 computes them"
    );
    // Alone, together, and repeated so that the lanes are full.
    let mut batches: Vec<Vec<usize>> = (0..4).map(|i| vec![i]).collect();
    batches.push(vec![0, 1, 2, 3]);
    batches.push((0..19).map(|i| [0, 2, 1, 3, 2, 0, 1][i % 7]).collect());
    for e in engines() {
        for batch in &batches {
            let m: Vec<&[u8]> = batch.iter().map(|&i| messages[i]).collect();
            let mut got = vec![[0u8; 64]; m.len()];
            (e.run)(&m, &mut got);
            for (g, &i) in got.iter().zip(batch) {
                assert!(
                    *g == want[i],
                    "{}: NIST vector {i} in batch {batch:?}",
                    e.name
                );
            }
        }
    }
}

#[test]
fn message_counts_around_the_lane_widths() {
    for count in [0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 64] {
        let data: Vec<Vec<u8>> = (0..count).map(|i| bytes(i as u64, 1000 + 77 * i)).collect();
        let m: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
        check_all(&m, &format!("{count} messages"));
    }
}

#[test]
fn padding_edges_alone_and_mixed() {
    for &len in &EDGES {
        let data: Vec<Vec<u8>> = (0..9).map(|i| bytes(len as u64 * 31 + i, len)).collect();
        let m: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
        check_all(&m, &format!("nine messages of {len} bytes"));
    }
    // Every edge, each shifted by whole blocks, in one batch.
    let data: Vec<Vec<u8>> = EDGES
        .iter()
        .flat_map(|&len| [len, len + 128, len + 1024])
        .enumerate()
        .map(|(i, len)| bytes(i as u64, len))
        .collect();
    let m: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
    check_all(&m, "all edges mixed");
}

#[test]
fn lanes_finish_at_different_times() {
    let shapes: [&[usize]; 5] = [
        // One long message among short ones: the long one outlives every refill.
        &[300 << 10, 1, 128, 129, 5000, 0, 17, 112, 240, 3, 7, 1 << 10],
        // Growing, shrinking and alternating lengths.
        &[
            0, 200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 51_200, 102_400,
        ],
        &[
            65_536, 32_768, 16_384, 8192, 4096, 2048, 1024, 512, 256, 128, 64, 0,
        ],
        &[40_000, 1, 40_000, 1, 40_000, 1, 40_000, 1, 40_000],
        // Dedup-sized chunks that are not whole blocks.
        &[
            32_771, 131_072, 65_535, 98_305, 32_768, 77_777, 131_071, 40_961, 50_000,
        ],
    ];
    for (s, lens) in shapes.iter().enumerate() {
        let data: Vec<Vec<u8>> = lens
            .iter()
            .enumerate()
            .map(|(i, &len)| bytes((s * 100 + i) as u64, len))
            .collect();
        let m: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
        check_all(&m, &format!("shape {s}"));
    }
}

#[test]
fn chunk_hashes_are_the_digests_first_half() {
    let data: Vec<Vec<u8>> = (0..11).map(|i| bytes(i, 300 * i as usize)).collect();
    let m: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
    let want = reference(&m);
    let mut kernels = Kernel::available();
    kernels.push(Kernel::detect());
    for k in kernels {
        let mut got = vec![[0u8; 32]; m.len()];
        k.chunk_hashes(&m, &mut got);
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g[..], w[..32], "{k}");
        }
    }
    let mut got = vec![[0u8; 32]; m.len()];
    sha512_mb::chunk_hashes(&m, &mut got);
    assert!(got.iter().zip(&want).all(|(g, w)| g[..] == w[..32]));
    sha512_mb::emulation::chunk_hashes(&m, &mut got);
    assert!(got.iter().zip(&want).all(|(g, w)| g[..] == w[..32]));
    let mut full = vec![[0u8; 64]; m.len()];
    sha512_mb::digests(&m, &mut full);
    assert_eq!(full, want);
}

#[test]
fn mismatched_lengths_hash_the_common_prefix_only() {
    let data: Vec<Vec<u8>> = (0..10).map(|i| bytes(i, 1000)).collect();
    let m: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
    let want = reference(&m);
    for k in Kernel::ALL {
        // Output shorter: the first six are hashed.
        let mut short = vec![[0u8; 64]; 6];
        k.digests(&m, &mut short);
        assert_eq!(short[..], want[..6], "{k}");
        // Output longer: the extra entries stay untouched.
        let mut long = vec![[0xa5u8; 32]; 14];
        k.chunk_hashes(&m, &mut long);
        for (g, w) in long.iter().zip(&want) {
            assert_eq!(g[..], w[..32], "{k}");
        }
        assert!(long[10..].iter().all(|h| *h == [0xa5; 32]), "{k}");
    }
}

#[test]
fn names_and_fallbacks() {
    for k in Kernel::ALL {
        assert_eq!(Kernel::from_name(k.name()), Some(k));
        assert_eq!(Kernel::from_name(&k.name().to_uppercase()), Some(k));
        let e = k.effective();
        assert!(e.is_available());
        assert!(e.lanes() <= k.lanes());
        assert_eq!(e == k, k.is_available());
    }
    assert_eq!(Kernel::from_name("sse2"), None);
    assert_eq!(Kernel::Sha2.effective(), Kernel::Sha2);
    assert_eq!(Kernel::detect(), Kernel::detect());
}

/// `Kernel::detect` reads the environment once per process, so each setting is checked in a
/// child process running only this test.
#[test]
fn environment_caps_the_detected_kernel() {
    if let Ok(expect) = std::env::var("SHA512_MB_TEST_EXPECT") {
        assert_eq!(Kernel::detect().name(), expect);
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let best = Kernel::available()[0];
    let cases = [
        ("avx512", Kernel::Avx512.effective()),
        ("AVX2", Kernel::Avx2.effective()),
        ("sha2", Kernel::Sha2),
        ("no-such-kernel", best),
        ("", best),
    ];
    for (value, want) in cases {
        let out = std::process::Command::new(&exe)
            .args([
                "--exact",
                "environment_caps_the_detected_kernel",
                "--test-threads=1",
            ])
            .env(KERNEL_ENV, value)
            .env("SHA512_MB_TEST_EXPECT", want.name())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{KERNEL_ENV}={value:?} should give {want}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A message length: mostly near the padding edges or small, sometimes up to 300 KiB.
fn length() -> impl Strategy<Value = usize> {
    prop_oneof![
        3 => proptest::sample::select(&EDGES[..]),
        3 => 0usize..2048,
        1 => 0usize..=300 << 10,
    ]
}

proptest! {
    // Each case runs every engine (up to 9) on up to 64 messages; the emulation is slow in a
    // debug build, so the case count stays small (the fuzz target covers the rest).
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn random_batches_match_sha2(
        lens in proptest::collection::vec(length(), 1..=64),
        seed in any::<u64>(),
    ) {
        let data: Vec<Vec<u8>> = lens
            .iter()
            .enumerate()
            .map(|(i, &len)| bytes(seed ^ i as u64, len))
            .collect();
        let m: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
        let want = reference(&m);
        for e in engines() {
            let mut got = vec![[0u8; 64]; m.len()];
            (e.run)(&m, &mut got);
            prop_assert_eq!(&got, &want, "{} on lengths {:?}", e.name, lens);
        }
    }
}
