//! `ps` for a crashed kernel: every task of a crash dump (or of the running
//! kernel, given `/proc/kcore`), with its pid, its parent's pid, its state
//! letter and its command name, read through ktype bindings resolved from the
//! dump's own BTF (see the crate's library for the declarations).
//!
//! ```sh
//! ps DUMP
//! ```

use dumptool::dump::Dump;
use dumptool::kernel::CrashedKernel;
use ktype_examples::{all_tasks, comm, state_letter, BINDINGS};
use std::error::Error;

fn run() -> Result<(), Box<dyn Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: ps DUMP (or /proc/kcore)")?;
    let dump = Dump::open(&path)?;
    let kernel = CrashedKernel::open(&dump)?;
    // The library's declarations only; every problem is listed at once.
    kernel.resolve(BINDINGS)?;
    let mem = kernel.memory();
    println!("{:>7} {:>7} S COMM", "PID", "PPID");
    for task in all_tasks(mem)? {
        let ppid = task.real_parent().read(mem).map(|p| p.pid()).unwrap_or(0);
        println!(
            "{:>7} {:>7} {} {}",
            task.pid(),
            ppid,
            state_letter(&task),
            comm(&task)
        );
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    ktype_examples::exit_status("ps", run())
}
