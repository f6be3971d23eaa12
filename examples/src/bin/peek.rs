//! Reads a process's memory out of a crash dump, as the process saw it:
//! `len` bytes at user address `uaddr` of process `pid`, translated through
//! that process's own page tables (`mm->pgd`), printed as a hex dump.
//!
//! ```sh
//! peek DUMP PID UADDR [LEN]
//! ```

use dumptool::dump::Dump;
use dumptool::kernel::CrashedKernel;
use ktype_examples::{all_tasks, BINDINGS};
use std::error::Error;

fn number(s: &str) -> Result<u64, Box<dyn Error>> {
    Ok(match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16)?,
        None => s.parse()?,
    })
}

fn run() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dump_path, pid, uaddr, rest @ ..] = &args[..] else {
        return Err("usage: peek DUMP PID UADDR [LEN]".into());
    };
    let (pid, uaddr) = (number(pid)?, number(uaddr)?);
    let len = rest.first().map(|l| number(l)).transpose()?.unwrap_or(64);
    let dump = Dump::open(dump_path)?;
    let kernel = CrashedKernel::open(&dump)?;
    kernel.resolve(BINDINGS)?;
    let mem = kernel.memory();
    let task = all_tasks(mem)?
        .into_iter()
        .find(|t| t.pid() as u64 == pid)
        .ok_or_else(|| format!("{dump_path}: no task with pid {pid}"))?;
    let mm = task.mm().read(mem)?;
    let mut buf = vec![0u8; len as usize];
    mem.read_user(mm.pgd().addr, uaddr, &mut buf)?;
    for (i, line) in buf.chunks(16).enumerate() {
        let hex: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
        let text: String = line
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        println!(
            "{:016x}  {:<47}  {text}",
            uaddr + 16 * i as u64,
            hex.join(" ")
        );
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    ktype_examples::exit_status("peek", run())
}
