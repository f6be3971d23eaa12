//! `dumptool info DUMP`: what a dump is and what could be learned from it.
//! `dumptool info --live` (or `/proc/kcore` as the dump): the same of the
//! running kernel.

use crate::dump::{Dump, DumpError, DumpFormat};
use crate::kernel::{live, CrashedKernel};
use ktype_runtime::text::Escaped;
use std::fmt::Write;
use std::path::Path;

fn format_name(dump: &Dump) -> String {
    if live::is_kcore(dump.path()) {
        return "ELF64 core, /proc/kcore of the running kernel".into();
    }
    let base = match dump.format() {
        DumpFormat::Elf | DumpFormat::FlattenedElf => "ELF64 core".to_string(),
        DumpFormat::Kdump | DumpFormat::FlattenedKdump => {
            let c = dump
                .kdump_header()
                .and_then(|h| h.codec())
                .map(|c| c.name())
                .unwrap_or("uncompressed");
            format!("kdump-compressed ({c})")
        }
    };
    if dump.format().is_flattened() {
        format!("{base}, makedumpfile flattened format")
    } else {
        base
    }
}

fn mib(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes >> 10)
    }
}

/// Runs `dumptool info DUMP`: the dump must open; what cannot be learned
/// from it beyond that (no VMCOREINFO, no kernel) is said in the text.
pub fn run(path: &Path) -> Result<String, DumpError> {
    let dump = live::open_dump(path)?;
    Ok(describe(path, &dump).expect("formatting into a String cannot fail"))
}

fn describe(path: &Path, dump: &Dump) -> Result<String, std::fmt::Error> {
    let mut s = String::new();
    let info = dump.vmcoreinfo();
    let ranges = dump.phys().ranges();
    let total: u64 = ranges.iter().map(|r| r.end - r.start).sum();
    writeln!(s, "dump:          {}", path.display())?;
    writeln!(s, "format:        {}", format_name(dump))?;
    writeln!(s, "arch:          {}", Escaped(dump.machine()))?;
    writeln!(
        s,
        "kernel:        {}",
        Escaped(
            info.and_then(|i| i.get("OSRELEASE"))
                .unwrap_or("unknown (no VMCOREINFO)")
        )
    )?;
    writeln!(s, "page size:     {}", dump.page_size())?;
    writeln!(
        s,
        "memory:        {} in {} range{}, max pfn {:#x}",
        mib(total),
        ranges.len(),
        if ranges.len() == 1 { "" } else { "s" },
        dump.max_pfn()
    )?;
    for r in &ranges {
        writeln!(
            s,
            "               {:#014x}-{:#014x} ({})",
            r.start,
            r.end,
            mib(r.end - r.start)
        )?;
    }
    if let Some(i) = info {
        writeln!(
            s,
            "KASLR offset:  {}",
            i.get("KERNELOFFSET")
                .map(|o| format!("0x{}", Escaped(o)))
                .unwrap_or_else(|| "none".into())
        )?;
        writeln!(
            s,
            "phys_base:     {}",
            i.number("phys_base")
                .map(|p| format!("{:#x}", p as u64))
                .unwrap_or_else(|| "unknown".into())
        )?;
    }
    // Only a filtered dump has erase information; its lines name what was
    // overwritten with 'X'.
    let erased = String::from_utf8_lossy(dump.eraseinfo());
    for (i, line) in erased.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let label = if i == 0 { "erased:" } else { "" };
        writeln!(s, "{label:<15}{}", Escaped(line.trim()))?;
    }
    // Lines of VMCOREINFO that were skipped (the rest is used).
    for w in info.map(|i| i.warnings()).unwrap_or_default() {
        writeln!(s, "warning:       {w}")?;
    }
    match CrashedKernel::open(dump) {
        Ok(k) => {
            let mem = k.memory();
            writeln!(
                s,
                "direct map:    {}",
                mem.direct_map()
                    .map(|a| format!("page_offset_base {a:#x}"))
                    .unwrap_or_else(|| "not found (page-table walks only)".into())
            )?;
            writeln!(
                s,
                "vmemmap:       {}",
                mem.vmemmap()
                    .map(|a| format!("{a:#x}"))
                    .unwrap_or_else(|| "not found".into())
            )?;
            if k.is_live() {
                writeln!(
                    s,
                    "live:          symbols from /proc/kallsyms, BTF from /sys/kernel/btf"
                )?;
                writeln!(
                    s,
                    "kallsyms:      found, {} symbols (/proc/kallsyms)",
                    k.kallsyms().len()
                )?;
            } else {
                writeln!(
                    s,
                    "kallsyms:      found, {} symbols ({} addresses)",
                    k.kallsyms().len(),
                    k.kallsyms().encoding()
                )?;
            }
            let btf = k.vmlinux_btf();
            writeln!(
                s,
                "BTF:           found, vmlinux {} bytes, {} types",
                btf.bytes().len(),
                btf.own_type_count()
            )?;
            let with_btf: Vec<&str> = k
                .modules()
                .iter()
                .filter(|m| m.has_btf)
                .map(|m| m.name.as_str())
                .collect();
            writeln!(
                s,
                "modules:       found, {} loaded, {} with BTF",
                k.modules().len(),
                with_btf.len()
            )?;
            for m in k.modules() {
                writeln!(
                    s,
                    "               {:<20} {} symbols{}",
                    Escaped(&m.name).to_string(),
                    m.symbols.len(),
                    if m.has_btf { ", BTF" } else { "" }
                )?;
            }
        }
        Err(e) => writeln!(s, "kernel:        kallsyms/BTF/modules not available: {e}")?,
    }
    Ok(s)
}
