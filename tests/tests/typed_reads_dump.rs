//! The typed-read API on real crash dumps: a tool's own bindings, resolved
//! with `CrashedKernel::resolve(this_crate!())`, walk `init_task.tasks` with
//! `list_entries` through dumptool's `KernelMemory` and follow each
//! `real_parent`; every process found is one drgn finds, with the same pid,
//! parent pid and name.

use dumptool::dump::Dump;
use dumptool::kernel::CrashedKernel;
use ktype_runtime::memory::list_entries;
use ktype_runtime::{kernel_struct, kernel_symbols, this_crate, KAddr, KPtr};
use ktype_tests::drgn::walk;
use ktype_tests::fixtures::{kernel, vmcore, SUITES};

/// `struct list_head`.
#[kernel_struct]
pub struct ListHead {
    pub next: KAddr,
    pub prev: KAddr,
}

/// `struct task_struct`: what `ps` prints.
#[kernel_struct(name = "task_struct")]
pub struct Task {
    pub pid: i32,
    pub comm: [u8; 16],
    pub tasks: ListHead,
    pub real_parent: KPtr<Task>,
}

kernel_symbols! {
    /// The first task, head of the process list.
    pub static INIT_TASK = "init_task";
}

/// `comm` as walk.py prints it (text up to the NUL, `\xNN` escapes).
fn comm(c: &[u8; 16]) -> String {
    let end = c.iter().position(|&b| b == 0).unwrap_or(16);
    String::from_utf8_lossy(&c[..end])
        .chars()
        .map(|ch| {
            if ch.is_ascii_graphic() || ch == ' ' {
                ch.to_string()
            } else {
                ch.escape_default().to_string()
            }
        })
        .collect()
}

#[test]
fn process_list_walked_with_typed_reads_matches_drgn() {
    for suite in SUITES {
        let v = vmcore(suite);
        let dump = Dump::open(v.elf()).unwrap_or_else(|e| panic!("{e}"));
        let k = CrashedKernel::open(&dump).unwrap_or_else(|e| panic!("{e}"));
        k.resolve(this_crate!())
            .unwrap_or_else(|e| panic!("{suite}: {e}"));
        let mem = k.memory();
        let head = INIT_TASK.address() + Task::tasks_offset() as u64;
        let mut ours = Vec::new();
        for task in list_entries::<Task>(mem, head, Task::tasks_offset()) {
            let task = task.unwrap_or_else(|e| panic!("{suite}: {e}"));
            let parent = task
                .real_parent()
                .read(mem)
                .unwrap_or_else(|e| panic!("{suite}: {e}"));
            ours.push((task.pid() as u64, parent.pid() as u64, comm(&task.comm())));
        }
        let drgn =
            walk(&v.elf(), &kernel(suite).vmlinux_dbg(), &[]).unwrap_or_else(|e| panic!("{e}"));
        assert!(ours.iter().any(|t| t.0 == 1), "{suite}: pid 1 in {ours:?}");
        for t in &ours {
            assert!(
                drgn.tasks
                    .iter()
                    .any(|d| (d.pid, d.ppid, &d.comm) == (t.0, t.1, &t.2)),
                "{suite}: {t:?} is not among drgn's tasks"
            );
        }
        // Every drgn task whose pid is a process we did not list would be a
        // thread; processes are listed exactly once.
        let mut pids: Vec<u64> = ours.iter().map(|t| t.0).collect();
        pids.sort_unstable();
        pids.dedup();
        assert_eq!(pids.len(), ours.len(), "{suite}: a process listed twice");
        eprintln!(
            "{suite}: {} processes walked through list_entries::<Task>, all as drgn sees them ({} tasks)",
            ours.len(),
            drgn.tasks.len()
        );
    }
}
