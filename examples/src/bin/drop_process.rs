//! A page filter of your own: makedumpfile's dump level N, and on top of it
//! the memory of every process of a given name dropped (say, a database
//! whose gigabytes nobody debugs), written as a kdump-compressed dump.
//!
//! ```sh
//! drop_process DUMP OUTPUT COMM [LEVEL]
//! ```
//!
//! The processes are found on the task list (this crate's library), their
//! pages through their own page tables (`mm->pgd`, walked by
//! `KernelMemory::user_pages`); the dump level's selection comes from
//! `dumptool::filter::DumpLevelSelector`, combined with this rule by
//! `PageSelector::and`. Prints one line per process and a summary.

use dumptool::dump::Dump;
use dumptool::filter::{Classifier, DumpLevelSelector};
use dumptool::kernel::CrashedKernel;
use dumptool::write::{
    write_dump, Compression, Output, OutputFormat, PageSelector, WriteError, WriteOptions,
};
use ktype_examples::{all_tasks, comm, BINDINGS};
use std::collections::BTreeSet;
use std::error::Error;

/// Keeps every pfn but those in the set.
struct DropPfns(BTreeSet<u64>);

impl PageSelector for DropPfns {
    fn select(&self, start: u64, keep: &mut [u64]) -> Result<(), WriteError> {
        keep.fill(u64::MAX);
        let end = start + keep.len() as u64 * 64;
        for &pfn in self.0.range(start..end) {
            let i = pfn - start;
            keep[(i / 64) as usize] &= !(1 << (i % 64));
        }
        Ok(())
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dump_path, output, name, rest @ ..] = &args[..] else {
        return Err("usage: drop_process DUMP OUTPUT COMM [LEVEL]".into());
    };
    let level: u32 = rest.first().map(|l| l.parse()).transpose()?.unwrap_or(0);
    let dump = Dump::open(dump_path)?;
    let kernel = CrashedKernel::open(&dump)?;
    kernel.resolve(BINDINGS)?;
    // dumptool's own bindings drive the dump level; what this kernel lacks
    // switches rules off (their pages are kept), so the error is only shown.
    if let Err(e) = kernel.resolve_all() {
        eprintln!("drop_process: some dump-level rules are off: {e}");
    }
    let mem = kernel.memory();
    let page_size = dump.page_size();
    let mut dropped = BTreeSet::new();
    for task in all_tasks(mem)? {
        // Threads share their leader's mm: one walk per process.
        if comm(&task) != *name || task.pid() != task.tgid() || task.mm().is_null() {
            continue;
        }
        let mm = task.mm().read(mem)?;
        let pages = mem.user_pages(mm.pgd().addr, 1 << 20)?;
        let bytes: u64 = pages.iter().map(|p| p.size).sum();
        for p in &pages {
            dropped.extend((p.paddr / page_size)..(p.paddr + p.size) / page_size);
        }
        println!(
            "pid {}: {} mappings, {bytes} bytes",
            task.pid(),
            pages.len()
        );
    }
    let classifier = Classifier::new(&kernel);
    let opts = WriteOptions {
        format: OutputFormat::Kdump(Compression::Zlib),
        dump_level: level,
        exclude_zero: level & 1 != 0,
        end_pfn: kernel.spanned_end_pfn(),
        ..WriteOptions::default()
    };
    let n = dropped.len();
    let selector = DumpLevelSelector::new(&classifier, &opts).and(DropPfns(dropped));
    let stats = write_dump(&dump, &selector, &opts, Output::Path(output.into()))?;
    println!(
        "{n} pages of {name} dropped; dump level {level} excluded {}; {} pages written",
        selector.first.counts().total(),
        stats.pages_written
    );
    Ok(())
}

fn main() -> std::process::ExitCode {
    ktype_examples::exit_status("drop_process", run())
}
