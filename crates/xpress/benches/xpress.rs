//! Placeholder; the criterion bench follows.
fn main() {}
