//! The user-facing API end to end on synthetic BTF and a synthetic memory
//! image: scoped resolution (another group's failures do not break this
//! crate's), "did you mean" and the field's line in problems, typed owned
//! reads, `KPtr::read`, `container_of`, list and hlist walks (and their
//! guards against corrupt lists), bit positions by name; and `/proc/kallsyms`
//! of the host as a symbol source.

mod support;

use ktype_runtime::memory::{container_of, hlist_nodes, list_entries, list_nodes, FlatMemory};
use ktype_runtime::resolution::{SymbolMap, SymbolSource};
use ktype_runtime::{
    kernel_struct, kernel_symbols, lock_bindings, resolve, resolve_symbols, this_crate, Btf,
    BtfSet, KAddr, KPtr, ReadError, Scope,
};
use support::builder::{bf, m, BtfBuilder};

/// `struct list_head`.
#[kernel_struct(name = "list_head")]
pub struct ListHead {
    pub next: KAddr,
    pub prev: KAddr,
}

/// `struct task_struct`, as much as the test reads.
#[kernel_struct(name = "task_struct")]
pub struct Task {
    pub pid: i32,
    /// A 3-bit bitfield.
    pub prio_bits: u32,
    pub tasks: ListHead,
    pub comm: [u8; 16],
    pub parent: KPtr<Task>,
    /// A member named like a generated function: read through `as_view()`.
    pub size: u32,
}

/// Fails on purpose: a group of its own must not break the crate's resolution.
#[kernel_struct(name = "no_such_struct", group = "api_test_broken")]
pub struct Missing {
    pub x: u32,
}

/// A misspelled member, in a group of its own.
#[kernel_struct(name = "task_struct", group = "api_test_typo")]
pub struct Typo {
    pub pid: i32,
    pub piid: i32,
}

kernel_symbols! {
    /// The kernel's first text symbol (the host's, from /proc/kallsyms).
    #[kernel(group = "api_test_host")]
    pub static STEXT = "_stext";
}

/// task_struct: pid @0, prio_bits :3 @bit 32, tasks @8, comm @24, parent @40, size @48; 56 bytes.
fn btf() -> BtfSet {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, true);
    let uint = b.add_int("unsigned int", 4, false);
    let ch = b.add_int("char", 1, true);
    let lh_ptr = b.add_ptr(0);
    let lh = b.add_struct(
        "list_head",
        16,
        &[m("next", lh_ptr, 0), m("prev", lh_ptr, 64)],
    );
    b.set_ref(lh_ptr, lh);
    let comm = b.add_array(ch, int, 16);
    let task_ptr = b.add_ptr(0);
    let task = b.add_struct(
        "task_struct",
        56,
        &[
            m("pid", int, 0),
            bf("prio_bits", uint, 32, 3),
            m("tasks", lh, 64),
            m("comm", comm, 192),
            m("parent", task_ptr, 320),
            m("size", uint, 384),
        ],
    );
    b.set_ref(task_ptr, task);
    BtfSet::new(Btf::from_bytes(b.build(), "synthetic").expect("valid synthetic BTF"))
}

const BASE: u64 = 0xffff_8880_0000_0000;
const HEAD: u64 = BASE;
const TASKS: [u64; 3] = [BASE + 0x100, BASE + 0x200, BASE + 0x300];

/// A head list_head at `HEAD` and three tasks linked through `tasks`.
fn image() -> Vec<u8> {
    let mut img = vec![0u8; 0x400];
    let put = |img: &mut Vec<u8>, at: u64, bytes: &[u8]| {
        let o = (at - BASE) as usize;
        img[o..o + bytes.len()].copy_from_slice(bytes);
    };
    let links = |i: usize| TASKS[i] + 8;
    put(&mut img, HEAD, &links(0).to_le_bytes());
    put(&mut img, HEAD + 8, &links(2).to_le_bytes());
    for (i, &t) in TASKS.iter().enumerate() {
        put(&mut img, t, &(i as i32 + 1).to_le_bytes());
        put(&mut img, t + 4, &[(i as u8 + 5) | 0xf8]); // 3 low bits, noise above
        let next = if i == 2 { HEAD } else { links(i + 1) };
        let prev = if i == 0 { HEAD } else { links(i - 1) };
        put(&mut img, t + 8, &next.to_le_bytes());
        put(&mut img, t + 16, &prev.to_le_bytes());
        put(&mut img, t + 24, format!("task{i}\0").as_bytes());
        let parent = if i == 0 { 0 } else { TASKS[0] };
        put(&mut img, t + 40, &parent.to_le_bytes());
        put(&mut img, t + 48, &(0x1000 * (i as u32 + 1)).to_le_bytes());
    }
    img
}

fn comm(c: &[u8; 16]) -> String {
    let end = c.iter().position(|&b| b == 0).unwrap_or(16);
    String::from_utf8_lossy(&c[..end]).into_owned()
}

#[test]
fn scoped_resolution_ignores_other_groups_failures() {
    let bindings = lock_bindings();
    let set = btf();
    // This crate's default group resolves although two groups declared here fail.
    let report = resolve(&bindings, &set, this_crate!()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.structs.len(), 2, "ListHead and Task");
    assert_eq!(Task::size(), 56);
    assert!(
        !Missing::is_present(),
        "a group is resolved only when asked"
    );
    let err = resolve(&bindings, &set, Scope::Group("api_test_broken")).unwrap_err();
    assert_eq!(err.problems.len(), 1, "{err}");
    assert!(
        Task::try_size().is_ok(),
        "one group's failure leaves others bound"
    );
    // Everything linked in: both failing groups' problems at once.
    let all = resolve(&bindings, &set, Scope::All).unwrap_err();
    let items: Vec<&str> = all.problems.iter().map(|p| p.item.as_str()).collect();
    assert_eq!(all.problems.len(), 2, "{all}");
    assert!(items.iter().any(|i| i.contains("Missing")), "{all}");
    assert!(items.iter().any(|i| i.contains("Typo")), "{all}");
}

#[test]
fn problems_name_the_field_line_suggest_and_hide_type_ids() {
    let bindings = lock_bindings();
    let err = resolve(&bindings, &btf(), Scope::Group("api_test_typo")).unwrap_err();
    let [p] = &err.problems[..] else {
        panic!("one problem expected: {err}")
    };
    assert_eq!(p.member.as_deref(), Some("piid"));
    assert!(p.why.contains("did you mean `pid`?"), "{}", p.why);
    let text = err.to_string();
    assert!(!text.contains("[id "), "no BTF type ids: {text}");
    // The field's own line, found in this file's text.
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api.rs"))
        .expect("test source");
    let line = src
        .lines()
        .position(|l| l.trim() == "pub piid: i32,")
        .expect("the field")
        + 1;
    assert!(
        p.declared_at.ends_with(&format!(":{line}")),
        "{} should point at line {line}",
        p.declared_at
    );
    let err = resolve(&bindings, &btf(), Scope::Group("api_test_broken")).unwrap_err();
    assert!(
        err.problems[0].why.contains("no struct no_such_struct"),
        "{err}"
    );
}

#[test]
fn typed_reads_pointers_and_lists_over_a_memory_image() {
    let bindings = lock_bindings();
    resolve(&bindings, &btf(), this_crate!()).unwrap_or_else(|e| panic!("{e}"));
    let img = image();
    let mem = FlatMemory::new(BASE, &img);

    // Bit positions by name.
    assert_eq!(
        (Task::prio_bits_bit_offset(), Task::prio_bits_bits()),
        (32, 3)
    );
    assert_eq!((Task::pid_bit_offset(), Task::pid_bits()), (0, 32));
    assert_eq!((Task::tasks_bit_offset(), Task::tasks_bits()), (64, 128));

    // An owned read has the view's getters.
    let t = Task::read(&mem, TASKS[1]).expect("read");
    assert_eq!(t.kernel_address(), TASKS[1]);
    assert_eq!(
        (t.pid(), t.prio_bits(), comm(&t.comm())),
        (2, 6, "task1".into())
    );
    assert_eq!(t.as_view().size(), 0x2000, "shadowed member via as_view");
    assert_eq!(t.tasks().next(), KAddr::new(TASKS[2] + 8));
    assert_eq!(t.bytes(), &img[0x200..0x200 + 56]);

    // Following a typed pointer; NULL is an error, not a read of address 0.
    let parent = t.parent().read(&mem).expect("parent");
    assert_eq!(parent.pid(), 1);
    assert!(matches!(
        parent.parent().read(&mem),
        Err(ReadError::Null { .. })
    ));

    // container_of from a member address.
    let node = t.tasks().next().addr;
    assert_eq!(container_of(node, Task::tasks_offset()), TASKS[2]);

    // list_for_each_entry.
    let pids: Vec<i32> = list_entries::<Task>(&mem, HEAD, Task::tasks_offset())
        .map(|t| t.map(|t| t.pid()))
        .collect::<Result<_, _>>()
        .expect("walk");
    assert_eq!(pids, [1, 2, 3]);
    let addrs: Vec<u64> = list_nodes(&mem, HEAD)
        .containers(Task::tasks_offset())
        .collect::<Result<_, _>>()
        .expect("walk");
    assert_eq!(addrs, TASKS);

    // Reading outside the image is an error naming the struct and address.
    let e = Task::read(&mem, BASE + 0x3f0).unwrap_err();
    assert!(
        matches!(e, ReadError::Memory { addr, .. } if addr == BASE + 0x3f0),
        "{e}"
    );
    assert!(e.to_string().contains("task_struct"), "{e}");
}

#[test]
fn corrupt_lists_end_with_an_error() {
    let bindings = lock_bindings();
    resolve(&bindings, &btf(), this_crate!()).unwrap_or_else(|e| panic!("{e}"));
    let set_next = |img: &mut Vec<u8>, task: usize, to: u64| {
        let o = (TASKS[task] + 8 - BASE) as usize;
        img[o..o + 8].copy_from_slice(&to.to_le_bytes());
    };
    // The last task points back at the second: a loop that skips the head.
    let mut img = image();
    set_next(&mut img, 2, TASKS[1] + 8);
    let mem = FlatMemory::new(BASE, &img);
    let walked: Vec<_> = list_nodes(&mem, HEAD).collect();
    assert!(
        matches!(walked.last(), Some(Err(ReadError::Cycle { .. }))),
        "{walked:?}"
    );
    assert!(
        walked.len() < 10,
        "found within a few steps: {}",
        walked.len()
    );
    // A NULL link.
    let mut img = image();
    set_next(&mut img, 1, 0);
    let mem = FlatMemory::new(BASE, &img);
    let walked: Vec<_> = list_nodes(&mem, HEAD).collect();
    assert!(matches!(
        walked.last(),
        Some(Err(ReadError::BrokenList { entries: 2, .. }))
    ));
    // A limit.
    let img = image();
    let mem = FlatMemory::new(BASE, &img);
    let walked: Vec<_> = list_nodes(&mem, HEAD).max_entries(2).collect();
    assert_eq!(walked.len(), 3);
    assert!(matches!(
        walked[2],
        Err(ReadError::TooLong { limit: 2, .. })
    ));
    // A link pointing outside memory.
    let mut img = image();
    set_next(&mut img, 0, 0xdead_0000);
    let mem = FlatMemory::new(BASE, &img);
    let walked: Vec<_> = list_nodes(&mem, HEAD).collect();
    assert!(matches!(walked.last(), Some(Err(ReadError::Memory { .. }))));
    // An hlist: head.first -> node -> node -> NULL (reusing the tasks' `next`).
    let mut img = image();
    set_next(&mut img, 1, 0);
    let mem = FlatMemory::new(BASE, &img);
    let nodes: Vec<u64> = hlist_nodes(&mem, HEAD)
        .collect::<Result<_, _>>()
        .expect("hlist");
    assert_eq!(nodes, [TASKS[0] + 8, TASKS[1] + 8]);
}

#[test]
fn host_proc_kallsyms_is_a_symbol_source() {
    let map = SymbolMap::proc_kallsyms().unwrap_or_else(|e| panic!("/proc/kallsyms: {e}"));
    let text = std::fs::read_to_string("/proc/kallsyms").expect("kallsyms");
    // Every vmlinux name maps to the address of its first line.
    let mut first = std::collections::HashMap::new();
    for line in text.lines().filter(|l| !l.ends_with(']')) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let addr = u64::from_str_radix(f[0], 16).expect("hex address");
        first.entry(f[2]).or_insert(addr);
    }
    let mut checked = 0;
    for (name, addr) in first.iter().step_by(97) {
        assert_eq!(map.lookup("vmlinux", name), Some(*addr), "{name}");
        checked += 1;
    }
    assert_eq!(map.len(), first.len());
    assert!(checked > 10, "{checked} symbols checked");
    assert!(map.lookup("vmlinux", "_stext") < map.lookup("vmlinux", "_etext"));
    // Module lines (`ADDR t NAME\t[MODULE]`) are looked up in their module.
    // A kernel with modules loaded has them; one built without module support
    // (no /proc/modules) may have none (the sample-text test covers parsing).
    let mut module_lines = 0;
    for line in text.lines().filter(|l| l.ends_with(']')) {
        let (left, module) = line.rsplit_once('\t').expect("tab before [module]");
        let module = module.trim_start_matches('[').trim_end_matches(']');
        let f: Vec<&str> = left.split_whitespace().collect();
        assert!(map.module_names().any(|m| m == module), "{line}");
        assert!(map.lookup(module, f[2]).is_some(), "{line}");
        module_lines += 1;
    }
    let modules_loaded = std::fs::read_to_string("/proc/modules")
        .map(|m| !m.trim().is_empty())
        .unwrap_or(false);
    assert!(
        module_lines > 0 || !modules_loaded,
        "the host has modules loaded but its kallsyms shows no module lines"
    );
    let bindings = lock_bindings();
    resolve_symbols(&bindings, &map, Scope::Group("api_test_host"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(Some(STEXT.address()), map.lookup("vmlinux", "_stext"));
}

#[test]
fn kallsyms_text_parses_and_bad_lines_are_named() {
    let map = SymbolMap::parse(
        "ffffffff81000000 T _stext\nffffffffc0a01000 t nft_do_chain\t[nf_tables]\n",
        "sample",
    )
    .expect("parse");
    assert_eq!(
        map.lookup("nf_tables", "nft_do_chain"),
        Some(0xffff_ffff_c0a0_1000)
    );
    assert_eq!(map.lookup("vmlinux", "nft_do_chain"), None);
    let e =
        SymbolMap::parse("ffffffff81000000 T _stext\nnot a symbol line at all\n", "x").unwrap_err();
    assert!(e.starts_with("x:2:"), "{e}");
    let e = SymbolMap::parse("ffffffff81000000 T name [mod] extra\n", "y").unwrap_err();
    assert!(e.starts_with("y:1:"), "{e}");
}
