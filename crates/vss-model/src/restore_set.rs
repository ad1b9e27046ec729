//! Restore-set generation (spec §3.6, §3.7).
