//! One module per `dumptool` subcommand; each returns its output as text.

pub mod btf;
pub mod dmesg;
pub mod filter;
pub mod info;
pub mod syms;
