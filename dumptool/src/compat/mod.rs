//! Other tools' command lines, translated into dumptool's commands.
//!
//! - [`makedumpfile`]: when the binary runs under the name `makedumpfile`
//!   (a symlink or a copy), it takes makedumpfile's options, so kdump
//!   scripts (Debian's kdump-tools, Fedora's kdumpctl and its dracut
//!   module) run it unchanged.

pub mod makedumpfile;
