//! Partial-file ranges (spec §5).
