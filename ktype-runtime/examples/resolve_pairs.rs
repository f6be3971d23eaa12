//! Opens a BTF file, then resolves each `STRUCT.member` of a list and prints
//! `STRUCT.member OFFSET` lines: our side of `bench/btf_resolve.sh`.
//!
//! `cargo run --release -p ktype-runtime --example resolve_pairs -- /sys/kernel/btf/vmlinux bench/pairs.txt`

use ktype_runtime::btf::{Btf, Kind};
use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(btf_path), Some(pairs_path)) = (args.next(), args.next()) else {
        eprintln!("usage: resolve_pairs BTF_FILE PAIRS_FILE");
        std::process::exit(2);
    };
    let btf = Btf::open(&btf_path)?;
    let pairs = std::fs::read_to_string(&pairs_path)?;
    let mut out = String::new();
    for line in pairs.lines() {
        let Some((name, member)) = line.split_once('.') else {
            continue;
        };
        let off = btf
            .find_unique(name, Kind::Struct)
            .ok()
            .and_then(|t| btf.member_path(t.id(), member).ok())
            .map(|l| (l.bit_offset / 8) as i64)
            .unwrap_or(-1);
        out.push_str(&format!("{line} {off}\n"));
    }
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(())
}
