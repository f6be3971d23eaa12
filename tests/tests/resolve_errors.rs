//! Resolution of deliberately wrong declarations against real kernels fails
//! with one error that lists every problem (module, type, member, why); the
//! correct declarations beside them still work, and the wrong ones report
//! `NotResolved` instead of a silently wrong offset.

use ktype_runtime::btf::Kind;
use ktype_runtime::{
    kernel_enum, kernel_struct, lock_bindings, resolve, this_crate, BtfSet, KAddr,
};
use ktype_tests::fixtures::kernels;

/// Wrong in four ways.
#[kernel_struct(name = "page")]
pub struct BadPage {
    /// `unsigned long` is 8 bytes.
    pub flags: u32,
    #[kernel(name = "ktype_missing")]
    pub missing: u64,
    /// A `struct list_head`, not a scalar.
    pub lru: u64,
    /// `int`, declared unsigned.
    #[kernel(path = "_refcount.counter")]
    pub refcount: u32,
}

/// `char comm[16]`, declared 8 long; and a misspelled member.
#[kernel_struct(name = "task_struct")]
pub struct BadTask {
    pub comm: [u8; 8],
    pub tgidd: i32,
}

/// No such struct.
#[kernel_struct(name = "ktype_no_such_struct")]
pub struct Nope {
    pub x: u32,
}

/// A module whose BTF is not loaded.
#[kernel_struct(module = "ktype_no_such_module")]
pub struct InModule {
    pub x: u32,
}

/// Optional and absent: not a problem.
#[kernel_struct(name = "ktype_optional_absent", optional)]
pub struct Absent {
    pub x: u32,
}

/// A constant the kernel lacks.
#[kernel_enum(name = "pageflags")]
pub enum BadFlags {
    PG_locked,
    PG_ktype_missing,
}

/// Fine.
#[kernel_struct(name = "list_head")]
pub struct GoodList {
    pub next: KAddr,
}

/// The members pick printk's `struct console` even where two exist.
#[kernel_struct(name = "console")]
pub struct Console {
    pub name: [u8; 16],
}

/// No member to tell two same-named structs apart.
#[kernel_struct(name = "console")]
pub struct AnyConsole {}

#[test]
fn all_problems_are_reported_at_once() {
    for k in kernels() {
        let set = BtfSet::open(k.vmlinux()).unwrap_or_else(|e| panic!("{e}"));
        let consoles = set.vmlinux().find("console", Kind::Struct).len();
        let bindings = lock_bindings();
        let err =
            resolve(&bindings, &set, this_crate!()).expect_err("wrong declarations must fail");
        let text = err.to_string();
        let has = |member: Option<&str>, item: &str, why: &str| {
            err.problems.iter().any(|p| {
                p.module == "vmlinux"
                    && p.item.contains(item)
                    && p.member.as_deref() == member
                    && p.why.contains(why)
            }) || err.problems.iter().any(|p| {
                p.module == "ktype_no_such_module" && item == "InModule" && p.why.contains(why)
            })
        };
        assert!(has(Some("flags"), "BadPage", "size mismatch"), "{text}");
        assert!(
            has(Some("missing"), "BadPage", "no member `ktype_missing`"),
            "{text}"
        );
        assert!(has(Some("lru"), "BadPage", "not an integer"), "{text}");
        assert!(
            has(Some("refcount"), "BadPage", "signedness mismatch"),
            "{text}"
        );
        assert!(
            has(Some("comm"), "BadTask", "array length mismatch"),
            "{text}"
        );
        assert!(
            has(None, "Nope", "no struct ktype_no_such_struct"),
            "{text}"
        );
        assert!(
            has(
                None,
                "InModule",
                "no BTF loaded for module `ktype_no_such_module`"
            ),
            "{text}"
        );
        assert!(
            has(
                Some("PG_ktype_missing"),
                "BadFlags",
                "no constant PG_ktype_missing"
            ),
            "{text}"
        );
        // A misspelled member: a suggestion, at the field's own line.
        assert!(
            has(Some("tgidd"), "BadTask", "did you mean `tgid`?"),
            "{text}"
        );
        let src = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/resolve_errors.rs"
        ))
        .expect("own source");
        let line = 1 + src
            .lines()
            .position(|l| l.trim() == "pub tgidd: i32,")
            .expect("the field");
        let p = err
            .problems
            .iter()
            .find(|p| p.member.as_deref() == Some("tgidd"))
            .expect("tgidd problem");
        assert!(
            p.declared_at
                .ends_with(&format!("resolve_errors.rs:{line}")),
            "{}",
            p.declared_at
        );
        assert!(
            !text.contains("[id "),
            "no BTF type ids in problems: {text}"
        );
        let expected = 9 + usize::from(consoles > 1);
        if consoles > 1 {
            assert!(has(None, "AnyConsole", "ambiguous"), "{text}");
        }
        assert_eq!(
            err.problems.len(),
            expected,
            "{}: exactly the planted problems:\n{text}",
            k.suite
        );
        assert!(
            text.starts_with(&format!("{expected} kernel bindings could not be resolved")),
            "{text}"
        );
        // What resolved is usable; what did not says so.
        assert_eq!(GoodList::next_offset(), 0);
        assert_eq!(
            Console::name_offset(),
            0,
            "{}: printk's console chosen by its members",
            k.suite
        );
        assert!(BadPage::try_flags_offset().is_err());
        assert!(
            BadPage::try_size().is_err(),
            "a struct with problems is not half-resolved"
        );
        assert!(Absent::try_size().expect_err("absent").absent);
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let panic = std::panic::catch_unwind(BadTask::comm_offset);
        std::panic::set_hook(hook);
        let panic = panic.expect_err("using an unresolved binding panics");
        let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            msg.contains("BadTask") && msg.contains("comm") && msg.contains("resolve"),
            "clear message: {msg}"
        );
        eprintln!(
            "{}: {} problems reported at once",
            k.suite,
            err.problems.len()
        );
    }
}
