//! # ktype-runtime
//!
//! Binds Rust types to Linux kernel types at run time through BTF.
//!
//! - [`btf`]: a zero-copy, validating BTF parser (vmlinux and split module BTF,
//!   raw files, ELF `.BTF` sections, plain bytes).
//! - [`registry`]: the descriptors `#[kernel_struct]`, `#[kernel_enum]` and
//!   `kernel_symbols!` register in `linkme` distributed slices, and the
//!   bindings lock ([`lock_bindings`]).
//! - [`resolution`]: fills the declarations of a [`Scope`] (by default the
//!   calling crate's, [`this_crate!`]) from a [`BtfSet`] and a symbol source
//!   ([`SymbolMap`](resolution::SymbolMap): `System.map` or `/proc/kallsyms`),
//!   and reports everything missing or mismatched at once.
//! - [`memory`]: typed reads at kernel addresses through any [`KernelRead`]
//!   (a crash dump, live memory, a test image): owned values
//!   ([`KernelStruct::read`]), [`KPtr::read`], [`container_of`](memory::container_of),
//!   `list_head` / `hlist_head` walks ([`memory::list_entries`]).
//!
//! ## A tool in one page
//!
//! Declare the kernel types and symbols the tool reads, lock the bindings,
//! resolve this crate's declarations against the kernel's BTF and symbols, then
//! read kernel memory through them:
//!
//! ```no_run
//! use ktype_runtime::memory::{list_entries, KernelRead};
//! use ktype_runtime::resolution::SymbolMap;
//! use ktype_runtime::{kernel_enum, kernel_struct, kernel_symbols, this_crate, BtfSet, KAddr, KPtr};
//!
//! /// `struct list_head`: the Rust name in snake case is the kernel name.
//! #[kernel_struct]
//! pub struct ListHead {
//!     pub next: KAddr,
//!     pub prev: KAddr,
//! }
//!
//! /// `struct task_struct`, as much of it as this tool needs.
//! #[kernel_struct(name = "task_struct")]
//! pub struct Task {
//!     pub pid: i32,
//!     pub comm: [u8; 16],
//!     pub tasks: ListHead,                                 // embedded by value
//!     pub real_parent: KPtr<Task>,                         // a typed pointer
//!     #[kernel(any("__state", "state"))] pub state: u32,   // renamed across versions
//!     #[kernel(path = "se.vruntime")] pub vruntime: u64,   // dotted paths
//!     #[kernel(optional)] pub sched_migrated: u32,         // Option at run time (a bitfield)
//! }
//!
//! #[kernel_enum(name = "pageflags")]
//! pub enum PageFlags { PG_locked, PG_lru, #[kernel(optional)] PG_hwpoison }
//!
//! kernel_symbols! {
//!     /// The first task.
//!     pub static INIT_TASK = "init_task";
//! }
//!
//! fn ps(mem: &dyn KernelRead) -> Result<(), Box<dyn std::error::Error>> {
//!     // init_task's `tasks` is the head of the list of every process.
//!     let head = INIT_TASK.address() + Task::tasks_offset() as u64;
//!     for task in list_entries::<Task>(mem, head, Task::tasks_offset()) {
//!         let task = task?; // a corrupt list ends with an error, never loops
//!         let parent = task.real_parent().read(mem)?;
//!         let comm = String::from_utf8_lossy(&task.comm()).trim_end_matches('\0').to_string();
//!         println!("{:>6} {:>6} {comm}", task.pid(), parent.pid());
//!     }
//!     Ok(())
//! }
//!
//! # fn memory() -> ktype_runtime::memory::FlatMemory<'static> { unimplemented!() }
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let bindings = ktype_runtime::lock_bindings(); // the bindings are ours while it lives
//!     let set = BtfSet::open("/sys/kernel/btf/vmlinux")?;
//!     ktype_runtime::resolve(&bindings, &set, this_crate!())?; // every problem at once
//!     let symbols = SymbolMap::proc_kallsyms()?;                 // or SymbolMap::open("System.map")
//!     ktype_runtime::resolve_symbols(&bindings, &symbols, this_crate!())?;
//!     println!("task_struct: {} bytes, pid at {}", Task::size(), Task::pid_offset());
//!     if let (Some(bit), Some(bits)) = (Task::sched_migrated_bit_offset(), Task::sched_migrated_bits()) {
//!         println!("sched_migrated: bit {bit}, {bits} bit(s) wide");
//!     }
//!     let flags = 0u64; // a struct page's flags, read from a dump
//!     println!("PG_lru set: {}", flags & PageFlags::PG_lru.mask() != 0);
//!     ps(&memory()) // any KernelRead: dumptool's KernelMemory, a test image, ...
//! }
//! ```
//!
//! Views read borrowed bytes without copying: `Task::view(&bytes)?.pid()`.
//! Resolution problems name the declaration's file and line (the field's line
//! for a member) and suggest near member names:
//!
//! ```text
//! 1 kernel binding could not be resolved:
//!   - vmlinux: struct task_struct (Task).piid: no member `piid` in this kernel:
//!     struct task_struct has no member `piid` (path `piid`); did you mean `pid`? (declared at src/main.rs:12)
//! ```

extern crate self as ktype_runtime;

pub mod btf;
pub mod memory;
pub mod registry;
pub mod resolution;
pub mod text;

pub use btf::{Btf, BtfSet};
pub use ktype_macros::{kernel_enum, kernel_struct, kernel_symbols};
pub use memory::{KernelRead, KernelStruct, ReadError};
pub use registry::{lock_bindings, BindingsGuard};
pub use registry::{KAddr, KPtr, KernelField, NotResolved};
pub use resolution::{resolve, resolve_symbols, Report, ResolveError, Scope};

#[doc(hidden)]
pub use linkme;
