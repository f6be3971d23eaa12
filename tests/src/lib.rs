//! Shared helpers of the integration tests: real-kernel fixtures (fetched on
//! demand by the project's own script, never skipped) and parsers for the
//! output of the anchor tools (pahole, bpftool).

pub mod bpftool;
pub mod drgn;
pub mod dump_navigate;
pub mod examples;
pub mod fixtures;
pub mod guest;
pub mod pahole;
pub mod patch;
