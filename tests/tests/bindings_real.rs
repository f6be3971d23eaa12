//! `#[kernel_struct]`, `#[kernel_enum]` and `kernel_symbols!` bindings
//! resolved on real Debian kernels (6.1 and 6.12, vmlinux plus a module's
//! split BTF) give pahole's offsets, bpftool's enum values, System.map's
//! addresses, and read `init_task`'s real initial bytes from vmlinux.

use ktype_runtime::resolution::SystemMap;
use ktype_runtime::{
    kernel_enum, kernel_struct, kernel_symbols, lock_bindings, resolve, resolve_symbols,
    this_crate, BindingsGuard, BtfSet, KAddr, KPtr,
};
use ktype_tests::fixtures::{kernels, run_tool, Kernel};
use ktype_tests::{bpftool, pahole};
use object::{Object, ObjectSection};

/// `struct list_head`.
#[kernel_struct(name = "list_head")]
pub struct ListHead {
    /// Next entry.
    pub next: KPtr<ListHead>,
    /// Previous entry.
    pub prev: KPtr<ListHead>,
}

/// `struct page`, with the declaration style.
#[kernel_struct(module = "vmlinux", name = "page")]
pub struct Page {
    pub flags: u64,
    #[kernel(name = "_mapcount")]
    pub mapcount: i32,
    #[kernel(any("compound_info", "compound_head"))]
    pub compound_head: u64,
    #[kernel(optional)]
    pub page_type: u32,
    #[kernel(path = "_refcount.counter")]
    pub refcount: i32,
    pub lru: ListHead,
    pub mapping: KAddr,
    #[kernel(any("index", "__folio_index"))]
    pub index: u64,
    pub private: u64,
}

/// `struct mm_struct` (only used as a pointee).
#[kernel_struct]
pub struct MmStruct {
    #[kernel(path = "mm_count.counter")]
    pub mm_count: i32,
}

/// `struct task_struct`.
#[kernel_struct]
pub struct TaskStruct {
    pub comm: [u8; 16],
    pub pid: i32,
    pub tgid: i32,
    pub tasks: ListHead,
    pub mm: KPtr<MmStruct>,
    pub sched_reset_on_fork: u32,
    pub real_parent: KPtr<TaskStruct>,
    #[kernel(path = "se.vruntime")]
    pub vruntime: u64,
    #[kernel(any("__state", "state"))]
    pub state: u32,
    #[kernel(optional)]
    pub ktype_no_such_member: u64,
}

/// A module's struct, from `qemu_fw_cfg`'s split BTF.
#[kernel_struct(module = "qemu_fw_cfg")]
pub struct FwCfgSysfsEntry {
    pub size: u32,
    pub select: u16,
    pub name: [u8; 56],
    pub list: ListHead,
}

/// In a group of its own, and absent from every kernel: resolving this
/// crate's declarations (`this_crate!()`) must not see it, as a tool's
/// resolution must not see a library's bindings.
#[kernel_struct(name = "ktype_no_such_struct", group = "bindings_real_broken")]
pub struct NotInAnyKernel {
    pub x: u32,
}

/// `enum pageflags`.
#[kernel_enum(name = "pageflags")]
pub enum PageFlags {
    PG_locked,
    PG_referenced,
    PG_uptodate,
    PG_dirty,
    PG_lru,
    PG_head,
    /// 6.12 made slab a page type.
    #[kernel(optional)]
    PG_slab,
    PG_private,
    PG_reserved,
    PG_swapbacked,
    #[kernel(optional)]
    PG_hwpoison,
}

/// `enum pagetype`: 6.12 has it, 6.1 does not.
#[kernel_enum(name = "pagetype", optional)]
pub enum PageType {
    PGTY_buddy,
    PGTY_offline,
    PGTY_table,
}

kernel_symbols! {
    /// The first task.
    pub static INIT_TASK = "init_task";
    pub static STEXT = "_stext";
    #[kernel(optional)]
    pub static NO_SUCH = "ktype_no_such_symbol";
}

fn resolve_kernel(bindings: &BindingsGuard, k: &Kernel) -> BtfSet {
    let mut set = BtfSet::open(k.vmlinux()).unwrap_or_else(|e| panic!("{e}"));
    let ko = k
        .module_xz("qemu_fw_cfg")
        .unwrap_or_else(|| k.module("qemu_fw_cfg"));
    set.open_module("qemu_fw_cfg", &ko)
        .unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = resolve(bindings, &set, this_crate!()) {
        panic!("{}: {e}", k.suite);
    }
    set
}

#[test]
fn struct_offsets_equal_pahole() {
    // The registry is global: one kernel at a time.
    let bindings = lock_bindings();
    for k in kernels() {
        resolve_kernel(&bindings, &k);
        let out = run_tool(
            "pahole",
            &[
                "-C",
                "page,task_struct,list_head,sched_entity,mm_struct,atomic_t",
                k.vmlinux().to_str().unwrap(),
            ],
        );
        let ph = pahole::parse(&out);
        let want = |s: &str, p: &str| {
            pahole::offset_of(&ph, s, p)
                .unwrap_or_else(|| panic!("pahole has no {s}.{p}"))
                .0
                / 8
        };
        assert_eq!(Page::size() as u64, ph["page"].size);
        assert_eq!(Page::flags_offset() as u64, want("page", "flags"));
        assert_eq!(Page::mapcount_offset() as u64, want("page", "_mapcount"));
        // 7.x renamed it: the member the kernel has is the one bound.
        let compound = ["compound_head", "compound_info"]
            .into_iter()
            .find_map(|m| pahole::offset_of(&ph, "page", m))
            .unwrap_or_else(|| {
                panic!(
                    "{}: pahole has no page.compound_head/compound_info",
                    k.suite
                )
            });
        assert_eq!(Page::compound_head_offset() as u64, compound.0 / 8);
        assert_eq!(
            Page::page_type_offset().map(|o| o as u64),
            Some(want("page", "page_type"))
        );
        assert_eq!(
            Page::refcount_offset() as u64,
            want("page", "_refcount") /* atomic_t: counter first */
        );
        assert_eq!(Page::lru_offset() as u64, want("page", "lru"));
        assert_eq!(Page::mapping_offset() as u64, want("page", "mapping"));
        assert_eq!(TaskStruct::size() as u64, ph["task_struct"].size);
        assert_eq!(
            TaskStruct::comm_offset() as u64,
            want("task_struct", "comm")
        );
        assert_eq!(
            TaskStruct::tasks_offset() as u64,
            want("task_struct", "tasks")
        );
        assert_eq!(
            TaskStruct::vruntime_offset() as u64,
            want("task_struct", "se.vruntime")
        );
        assert_eq!(
            TaskStruct::state_offset() as u64,
            want("task_struct", "__state")
        );
        assert_eq!(TaskStruct::ktype_no_such_member_offset(), None);
        let (bit, bits) = pahole::offset_of(&ph, "task_struct", "sched_reset_on_fork")
            .expect("bitfield in pahole");
        assert_eq!(
            (
                TaskStruct::sched_reset_on_fork_bit_offset(),
                TaskStruct::sched_reset_on_fork_bits()
            ),
            (bit, bits),
            "{}: bitfield position by name",
            k.suite
        );
        assert_eq!(
            (TaskStruct::pid_bit_offset(), TaskStruct::pid_bits()),
            (want("task_struct", "pid") * 8, 32),
            "{}: a whole member's bit position and width",
            k.suite
        );
        assert!(
            !NotInAnyKernel::is_present(),
            "another group stays unresolved"
        );
        let set = BtfSet::open(k.vmlinux()).unwrap_or_else(|e| panic!("{e}"));
        let broken = ktype_runtime::resolve(
            &bindings,
            &set,
            ktype_runtime::Scope::Group("bindings_real_broken"),
        )
        .expect_err("the broken group fails on its own");
        assert_eq!(broken.problems.len(), 1, "{broken}");
        assert_eq!(TaskStruct::size() as u64, ph["task_struct"].size);
        assert_eq!(
            MmStruct::mm_count_offset() as u64,
            want("mm_struct", "mm_count")
        );
        eprintln!(
            "{}: {} structs, {} enums resolved; offsets equal pahole's",
            k.suite,
            this_crate!().structs().len(),
            this_crate!().enums().len()
        );
    }
}

#[test]
fn module_struct_offsets_equal_bpftool() {
    // The registry is global: one kernel at a time.
    let bindings = lock_bindings();
    for k in kernels() {
        resolve_kernel(&bindings, &k);
        let ko = k.module("qemu_fw_cfg");
        let raw = bpftool::parse(&run_tool(
            "bpftool",
            &[
                "-B",
                k.vmlinux().to_str().unwrap(),
                "btf",
                "dump",
                "file",
                ko.to_str().unwrap(),
                "format",
                "raw",
            ],
        ));
        let entry = raw
            .iter()
            .find(|t| t.kind == "STRUCT" && t.name == "fw_cfg_sysfs_entry")
            .expect("bpftool shows the struct");
        let bits = |m: &str| -> usize {
            let (_, a) = entry
                .elems
                .iter()
                .find(|(n, _)| n.as_deref() == Some(m))
                .expect("member");
            a.iter()
                .find(|(k, _)| k == "bits_offset")
                .expect("bits_offset")
                .1
                .parse::<usize>()
                .expect("number")
        };
        assert_eq!(
            FwCfgSysfsEntry::size().to_string(),
            entry.attr("size").expect("size")
        );
        assert_eq!(FwCfgSysfsEntry::size_offset() * 8, bits("size"));
        assert_eq!(FwCfgSysfsEntry::select_offset() * 8, bits("select"));
        assert_eq!(FwCfgSysfsEntry::name_offset() * 8, bits("name"));
        assert_eq!(FwCfgSysfsEntry::list_offset() * 8, bits("list"));
    }
}

#[test]
fn enum_values_equal_bpftool() {
    // The registry is global: one kernel at a time.
    let bindings = lock_bindings();
    for k in kernels() {
        resolve_kernel(&bindings, &k);
        let raw = bpftool::parse(&run_tool(
            "bpftool",
            &[
                "btf",
                "dump",
                "file",
                k.vmlinux().to_str().unwrap(),
                "format",
                "raw",
            ],
        ));
        let value = |e: &str, c: &str| -> Option<u64> {
            let t = raw
                .iter()
                .find(|t| t.kind.starts_with("ENUM") && t.name == e)?;
            let (_, a) = t.elems.iter().find(|(n, _)| n.as_deref() == Some(c))?;
            a[0].1.parse().ok()
        };
        for &v in PageFlags::ALL {
            let name = format!("{v:?}");
            assert_eq!(
                v.try_value().expect("resolved"),
                value("pageflags", &name),
                "{}: {name}",
                k.suite
            );
        }
        assert_eq!(
            PageFlags::PG_lru.mask(),
            1 << value("pageflags", "PG_lru").unwrap()
        );
        assert_eq!(
            PageFlags::from_value(PageFlags::PG_head.value()),
            Some(PageFlags::PG_head)
        );
        assert_eq!(
            PageFlags::PG_slab.is_present(),
            k.suite == "bookworm",
            "6.12 has no PG_slab"
        );
        for &v in PageType::ALL {
            let name = format!("{v:?}");
            assert_eq!(
                v.try_value().expect("resolved"),
                value("pagetype", &name),
                "{}: {name}",
                k.suite
            );
            assert_eq!(
                v.is_present(),
                k.suite != "bookworm",
                "6.1 has no enum pagetype"
            );
        }
    }
}

/// The file bytes of `size` bytes at link-time address `addr` in an ELF vmlinux.
fn vmlinux_bytes(data: &[u8], addr: u64, size: usize) -> Vec<u8> {
    let elf = object::File::parse(data).expect("vmlinux is ELF");
    let sec = elf
        .sections()
        .find(|s| s.address() <= addr && addr + size as u64 <= s.address() + s.size())
        .expect("a section holds the symbol");
    let bytes = sec.data().expect("section data");
    let start = (addr - sec.address()) as usize;
    bytes[start..start + size].to_vec()
}

/// A vmlinux's loaded sections as kernel memory (link-time addresses).
struct VmlinuxImage<'d>(object::File<'d>);

impl ktype_runtime::KernelRead for VmlinuxImage<'_> {
    fn read_into(
        &self,
        addr: u64,
        buf: &mut [u8],
    ) -> Result<(), ktype_runtime::memory::MemoryError> {
        let end = addr + buf.len() as u64;
        let sec = self
            .0
            .sections()
            .find(|s| s.address() <= addr && end <= s.address() + s.size())
            .ok_or_else(|| format!("no section holds {addr:#x}..{end:#x}"))?;
        let data = sec.data()?;
        let start = (addr - sec.address()) as usize;
        let src = data
            .get(start..start + buf.len())
            .ok_or("section without file bytes (.bss)")?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

#[test]
fn symbols_and_views_read_init_task_from_vmlinux() {
    // The registry is global: one kernel at a time.
    let bindings = lock_bindings();
    for k in kernels() {
        resolve_kernel(&bindings, &k);
        let map = SystemMap::open(k.system_map()).unwrap_or_else(|e| panic!("{e}"));
        resolve_symbols(&bindings, &map, this_crate!()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(NO_SUCH.try_address(), Ok(None));
        assert!(STEXT.address() < INIT_TASK.address());
        let data = std::fs::read(k.vmlinux()).expect("read vmlinux");
        let bytes = vmlinux_bytes(&data, INIT_TASK.address(), TaskStruct::size());
        let task = TaskStruct::view(&bytes).expect("view");
        let comm = task.comm();
        let comm = std::str::from_utf8(&comm[..comm.iter().position(|&b| b == 0).unwrap_or(16)])
            .expect("comm is text");
        assert_eq!(comm, "swapper", "{}: init_task.comm", k.suite);
        assert_eq!(task.pid(), 0);
        // LIST_HEAD_INIT(init_task.tasks): the list points at itself.
        let tasks = INIT_TASK.address() + TaskStruct::tasks_offset() as u64;
        assert_eq!(
            task.tasks().next().addr,
            tasks,
            "{}: init_task.tasks.next",
            k.suite
        );
        assert_eq!(task.tasks().prev().addr, tasks);
        assert!(task.mm().is_null(), "kernel threads have no mm");
        // The same through the typed-read API: an owned read, a pointer hop
        // (init_task.real_parent = &init_task), an empty list walk.
        let mem = VmlinuxImage(object::File::parse(&*data).expect("ELF"));
        let owned = TaskStruct::read(&mem, INIT_TASK.address()).expect("read");
        assert_eq!(owned.bytes(), &bytes[..]);
        let parent = owned.real_parent().read(&mem).expect("real_parent");
        assert_eq!(parent.kernel_address(), INIT_TASK.address());
        let entries: Vec<_> = ktype_runtime::memory::list_entries::<TaskStruct>(
            &mem,
            tasks,
            TaskStruct::tasks_offset(),
        )
        .collect::<Result<_, _>>()
        .expect("walk");
        assert!(entries.is_empty(), "{}: an empty task list", k.suite);
        eprintln!("{}: init_task read through TaskStruct::view: comm={comm:?} pid=0 tasks self-linked at {tasks:#x}", k.suite);
    }
}
