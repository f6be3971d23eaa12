//! drgn, the anchor debugger: `tests/tests/debugger/walk.py` walks a dump
//! with the `-dbg` package's vmlinux and prints every task, module and
//! printk record (and probed pages); [`walk`] runs it and parses its lines.

use crate::fixtures::repo_root;
use std::path::Path;
use std::process::Command;

/// One task as drgn sees it (`for_each_task`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Task {
    /// `task->pid`.
    pub pid: u64,
    /// `task->real_parent->pid`.
    pub ppid: u64,
    /// drgn's `task_state_to_char` (`R`, `S`, `D`, `I`, ...).
    pub state: char,
    /// `task->comm`, escaped as walk.py escapes text (`\xNN`).
    pub comm: String,
}

/// What drgn found in one dump.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Walk {
    /// Every task, in `for_each_task` order.
    pub tasks: Vec<Task>,
    /// Module names, in list order.
    pub modules: Vec<String>,
    /// `(timestamp ns, text)` of every printk record.
    pub log: Vec<(u64, String)>,
    /// `(paddr, zero|data|fault)` of the probed pages.
    pub probes: Vec<(u64, String)>,
}

/// Runs `walk.py` on `dump` with `vmlinux`'s debug info, reading the pages at
/// the physical addresses `probes`; `Err` holds what drgn said when it could
/// not walk the dump.
pub fn walk(dump: &Path, vmlinux: &Path, probes: &[u64]) -> Result<Walk, String> {
    let script = repo_root().join("tests/tests/debugger/walk.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(dump)
        .arg(vmlinux)
        .args(probes.iter().map(|p| format!("{p:#x}")))
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 {}: {e}", script.display()));
    if !out.status.success() {
        return Err(format!(
            "drgn on {} ({}) failed: {}\n{}",
            dump.display(),
            vmlinux.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8(out.stdout).expect("walk.py prints ASCII");
    Ok(parse(&text, dump))
}

fn parse(text: &str, dump: &Path) -> Walk {
    let mut w = Walk::default();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let bad = || -> ! { panic!("{}: unexpected walk.py line {line:?}", dump.display()) };
        let num = |s: &str| -> u64 {
            match s.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => s.parse(),
            }
            .unwrap_or_else(|_| bad())
        };
        match f[..] {
            ["task", pid, ppid, state, comm] => w.tasks.push(Task {
                pid: num(pid),
                ppid: num(ppid),
                state: state.chars().next().unwrap_or_else(|| bad()),
                comm: comm.to_string(),
            }),
            ["module", name] => w.modules.push(name.to_string()),
            ["log", ts, ref text @ ..] => w.log.push((num(ts), text.join("\t"))),
            ["probe", paddr, what] => w.probes.push((num(paddr), what.to_string())),
            _ => bad(),
        }
    }
    w
}
