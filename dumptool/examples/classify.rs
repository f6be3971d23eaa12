//! Prints the per-class counts of excluded pages for a dump level, and where
//! each classification rule came from (BTF or VMCOREINFO).
//!
//! `cargo run --release -p dumptool --example classify -- DUMP LEVEL`

use dumptool::dump::Dump;
use dumptool::filter::{ClassCounts, Classifier, PageClass};
use dumptool::kernel::CrashedKernel;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: classify DUMP LEVEL")?;
    let level: u32 = args.next().ok_or("usage: classify DUMP LEVEL")?.parse()?;
    let dump = Dump::open(&path)?;
    let kernel = CrashedKernel::open(&dump)?;
    kernel.resolve_all()?;
    let classifier = Classifier::new(&kernel);
    for (rule, source) in &classifier.rules().sources {
        println!("{rule:<28} {source}");
    }
    let mut counts = ClassCounts::default();
    let window = 1u64 << 20;
    let mut out = vec![None; window as usize];
    let mut start = 0;
    while start < dump.max_pfn() {
        let n = window.min(dump.max_pfn() - start) as usize;
        counts.merge(&classifier.classify(level, start, &mut out[..n])?);
        start += window;
    }
    for c in PageClass::ALL {
        println!(
            "{:<26}: {:#018x} ({})",
            c.label(),
            counts.get(c),
            counts.get(c)
        );
    }
    Ok(())
}
