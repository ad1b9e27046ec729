//! `FindFirstFile` wildcard matching (spec §3.6).
