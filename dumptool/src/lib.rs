//! # dumptool
//!
//! A makedumpfile-compatible crash-dump filter whose kernel knowledge comes
//! from BTF through ktype bindings. The binary is a thin layer over this
//! library, so every command can also be called (and tested) from Rust.
//!
//! - [`commands::btf`]: `dumptool btf ...`, look inside any BTF source.

pub mod commands;
pub mod dump;
pub mod filter;
pub mod kernel;
pub mod layout_dump;
pub mod write;
