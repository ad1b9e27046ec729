//! The one unit system of human output: binary IEC sizes (`1.50 MiB`) and rates (`1.25 GiB/s`).
//! JSON carries exact byte counts and `gib_per_second`.

const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];

/// `1.50 GiB`-style sizes (whole bytes below 1 KiB: `12 B`).
#[allow(clippy::cast_precision_loss)]
pub(crate) fn size(n: u64) -> String {
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.2} {}", UNITS[u])
    }
}

/// GiB per second (0 when no time passed).
#[allow(clippy::cast_precision_loss)]
pub(crate) fn gib_per_second(bytes: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        bytes as f64 / secs / f64::from(1u32 << 30)
    } else {
        0.0
    }
}

/// A rate for people: `1.25 GiB/s`.
pub(crate) fn rate(bytes: u64, secs: f64) -> String {
    format!("{:.2} GiB/s", gib_per_second(bytes, secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_rates_are_binary() {
        assert_eq!(size(12), "12 B");
        assert_eq!(size(1536), "1.50 KiB");
        assert_eq!(size(3 << 30), "3.00 GiB");
        assert_eq!(rate(1 << 30, 2.0), "0.50 GiB/s");
        assert_eq!(rate(1 << 30, 0.0), "0.00 GiB/s");
    }
}
