//! Bindings and walks shared by the example tools (`src/bin/`): the kernel's
//! task list, read through ktype bindings resolved from a dump's own BTF.
//! Everything here uses only ktype's and dumptool's public API.
//!
//! Kernel differences are declared, not tested for: `task_struct` lists a
//! process's threads through `signal->thread_head` on 6.7+ and through
//! `thread_group` before; both members are `#[kernel(optional)]`, and
//! [`threads`] follows whichever the kernel has.

use ktype_runtime::memory::{list_entries, list_nodes};
use ktype_runtime::resolution::Scope;
use ktype_runtime::{kernel_struct, kernel_symbols, this_crate, KAddr, KPtr, KernelRead};
use std::error::Error;

/// The declarations of this library, for `CrashedKernel::resolve`: a tool
/// resolves what it declared, never what the libraries it links declared.
pub const BINDINGS: Scope = this_crate!();

/// `struct list_head`, embedded in the structs below.
#[kernel_struct(name = "list_head")]
pub struct ListHead {
    /// The next entry's `list_head`.
    pub next: KAddr,
    /// The previous entry's `list_head`.
    pub prev: KAddr,
}

/// `struct task_struct`: what `ps` shows of a task.
#[kernel_struct(name = "task_struct")]
pub struct Task {
    /// Thread id.
    pub pid: i32,
    /// Thread-group (process) id.
    pub tgid: i32,
    /// Command name, NUL-padded.
    pub comm: [u8; 16],
    /// Scheduler state (`TASK_*` bits; renamed from `state` in 5.14).
    #[kernel(name = "__state")]
    pub state: u32,
    /// `EXIT_ZOMBIE` / `EXIT_DEAD` once the task has exited.
    pub exit_state: i32,
    /// The parent (the task that created it, whatever reparenting did).
    pub real_parent: KPtr<Task>,
    /// Link in the list of thread-group leaders headed by `init_task.tasks`.
    pub tasks: ListHead,
    /// The thread group's shared signal state (holds its thread list on 6.7+).
    pub signal: KPtr<SignalStruct>,
    /// The address space (NULL for kernel threads).
    pub mm: KPtr<MmStruct>,
    /// Link in `signal->thread_head` (6.7+).
    #[kernel(optional)]
    pub thread_node: ListHead,
    /// Circular list of the thread group's tasks (before 6.7).
    #[kernel(optional)]
    pub thread_group: ListHead,
}

/// `struct signal_struct`, for its list of threads.
#[kernel_struct(name = "signal_struct")]
pub struct SignalStruct {
    /// Head of the threads' `task_struct.thread_node` links (6.7+).
    #[kernel(optional)]
    pub thread_head: ListHead,
}

/// `struct mm_struct`, for its page tables.
#[kernel_struct(name = "mm_struct")]
pub struct MmStruct {
    /// The top page table (kernel virtual address).
    pub pgd: KAddr,
}

kernel_symbols! {
    /// The idle task of CPU 0, head of the task list.
    pub static INIT_TASK = "init_task";
}

/// The kernel's state letter of a task, as `/proc/PID/stat` and `ps` print
/// it (`task_state_index` in the kernel): R S D T t X Z P I.
pub fn state_letter(task: &Task) -> char {
    const REPORT: u32 = 0x7f; // TASK_INTERRUPTIBLE .. TASK_PARKED
    const IDLE: u32 = 0x402; // TASK_UNINTERRUPTIBLE | TASK_NOLOAD
    const RTLOCK_WAIT: u32 = 0x1000;
    let raw = task.state();
    let state = match raw {
        IDLE => 0x80,
        RTLOCK_WAIT => 2,
        _ => (raw | task.exit_state() as u32) & REPORT,
    };
    let index = (u32::BITS - state.leading_zeros()) as usize; // fls
    "RSDTtXZPI".chars().nth(index).unwrap_or('?')
}

/// The text of a NUL-padded `comm`.
pub fn comm(task: &Task) -> String {
    let raw = task.comm();
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[..end]).into_owned()
}

/// The threads of the group led by `leader`, the leader first.
pub fn threads(mem: &dyn KernelRead, leader: Task) -> Result<Vec<Task>, Box<dyn Error>> {
    let mut out = Vec::new();
    if let (Some(node), Ok(signal)) = (Task::thread_node_offset(), leader.signal().read(mem)) {
        if let Some(head) = SignalStruct::thread_head_offset() {
            for t in list_entries::<Task>(mem, signal.kernel_address() + head as u64, node) {
                out.push(t?);
            }
            return Ok(out);
        }
    }
    let group = Task::thread_group_offset()
        .ok_or("task_struct has neither thread_node nor thread_group")?;
    let head = leader.kernel_address() + group as u64;
    out.push(leader);
    for node in list_nodes(mem, head) {
        out.push(Task::read(mem, node? - group as u64)?);
    }
    Ok(out)
}

/// Every task of the kernel: each thread-group leader on `init_task.tasks`
/// followed by its other threads.
pub fn all_tasks(mem: &dyn KernelRead) -> Result<Vec<Task>, Box<dyn Error>> {
    let tasks_at = Task::tasks_offset();
    let head = INIT_TASK.address() + tasks_at as u64;
    let mut out = Vec::new();
    for leader in list_entries::<Task>(mem, head, tasks_at) {
        out.extend(threads(mem, leader?)?);
    }
    Ok(out)
}

/// What an example's `main` returns: success, or the error printed on
/// stderr after the program's name (its causes included) and exit status 1.
pub fn exit_status(program: &str, result: Result<(), Box<dyn Error>>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
