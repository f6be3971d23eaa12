//! Times the start-up step of every dumptool run on a dump: decode kallsyms,
//! read vmlinux and module BTF from dump memory, resolve every linked-in
//! binding. `bench/dump_bootstrap.sh` runs it beside makedumpfile.
//!
//! `cargo run --release -p dumptool --example bootstrap -- DUMP [RUNS]`

use dumptool::dump::Dump;
use dumptool::kernel::CrashedKernel;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: bootstrap DUMP [RUNS]")?;
    let runs: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(1);
    let mut best = f64::MAX;
    for _ in 0..runs {
        let dump = Dump::open(&path)?;
        let t = Instant::now();
        let k = CrashedKernel::open(&dump)?;
        let report = k.resolve_all()?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        best = best.min(ms);
        eprintln!(
            "{ms:.2} ms: kallsyms {:?}, BTF {:?}, modules {:?}; {} bindings, {} symbols",
            k.timings().kallsyms,
            k.timings().btf,
            k.timings().modules,
            report.bound_count(),
            k.kallsyms().len()
        );
    }
    println!("{best:.2}");
    Ok(())
}
