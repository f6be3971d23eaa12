//! Run-time tests of the code `#[kernel_struct]`, `#[kernel_enum]` and
//! `kernel_symbols!` generate, without BTF: slots are filled by hand.
//!
//! Slots are global statics and tests run in parallel threads, so every test
//! declares (and fills) its own types.

use ktype_runtime::registry::{
    AggregateKind, FieldLayout, Shape, StructDesc, ViewError, KERNEL_ENUMS, KERNEL_STRUCTS,
    KERNEL_SYMBOLS,
};
use ktype_runtime::{kernel_enum, kernel_struct, kernel_symbols, KAddr, KPtr, KernelField};

fn at_byte(offset: u64) -> Option<FieldLayout> {
    Some(FieldLayout {
        bit_offset: offset * 8,
        bitfield_bits: 0,
        signed: false,
        big_endian: false,
    })
}

fn bits(bit_offset: u64, width: u8, signed: bool) -> Option<FieldLayout> {
    Some(FieldLayout {
        bit_offset,
        bitfield_bits: width,
        signed,
        big_endian: false,
    })
}

/// Fills a struct's slots: its size and one layout per field, in order.
fn fill(desc: &StructDesc, size: u64, layouts: &[Option<FieldLayout>]) {
    assert_eq!(desc.fields.len(), layouts.len(), "one layout per field");
    for (f, l) in desc.fields.iter().zip(layouts) {
        f.slot.set(*l);
    }
    desc.size.set(Some(size));
}

/// The 1-based line of this file that starts with `prefix`.
fn line_of(prefix: &str) -> usize {
    include_str!("macros.rs")
        .lines()
        .position(|l| l.trim_start().starts_with(prefix))
        .expect("line exists")
        + 1
}

fn registered(desc: &'static StructDesc) -> bool {
    KERNEL_STRUCTS.iter().any(|d| std::ptr::eq(*d, desc))
}

fn struct_target(shape: Shape) -> &'static StructDesc {
    match shape {
        Shape::Struct(d) => d,
        other => panic!("expected a struct shape, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Descriptors
// ---------------------------------------------------------------------------

/// A doubly linked list node.
#[kernel_struct]
pub struct ListHead {
    pub next: KPtr<ListHead>,
    pub prev: KPtr<ListHead>,
}

/// The page of the contract's example.
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
    #[kernel(any("a.b", "c"), optional)]
    pub alt_path: [u8; 4],
    pub r#type: bool,
}

#[test]
fn struct_descriptor_is_registered_with_names_paths_options_and_shapes() {
    let d = Page::descriptor();
    assert!(registered(d), "Page is in KERNEL_STRUCTS");
    assert!(registered(ListHead::descriptor()));
    assert_eq!(d.rust_name, "Page");
    assert_eq!(d.module, "vmlinux");
    assert_eq!(d.names, ["page"]);
    assert_eq!(d.kind, AggregateKind::Struct);
    assert!(!d.optional);
    assert!(
        d.declared_at
            .ends_with(&format!("macros.rs:{}", line_of("pub struct Page {"))),
        "declared_at points at the struct's name: {}",
        d.declared_at
    );
    assert!(d.size.get().is_err(), "unresolved");

    let fields: Vec<(&str, &[&str], bool)> = d
        .fields
        .iter()
        .map(|f| (f.rust_name, f.paths, f.optional))
        .collect();
    let expected: Vec<(&str, &[&str], bool)> = vec![
        ("flags", &["flags"], false),
        ("mapcount", &["_mapcount"], false),
        ("compound_head", &["compound_info", "compound_head"], false),
        ("page_type", &["page_type"], true),
        ("refcount", &["_refcount.counter"], false),
        ("lru", &["lru"], false),
        ("mapping", &["mapping"], false),
        ("alt_path", &["a.b", "c"], true),
        ("type", &["type"], false),
    ];
    assert_eq!(fields, expected);

    let shapes: Vec<String> = d.fields.iter().map(|f| (f.shape)().to_string()).collect();
    assert_eq!(
        shapes,
        [
            "u64",
            "i32",
            "u64",
            "u32",
            "i32",
            "ListHead (struct list_head)",
            "pointer",
            "[u8; 4]",
            "bool"
        ]
    );
    assert!(std::ptr::eq(
        struct_target((d.fields[5].shape)()),
        ListHead::descriptor()
    ));
    match (d.fields[6].shape)() {
        Shape::Pointer { target: None } => {}
        other => panic!("KAddr is an untyped pointer, got {other:?}"),
    }
    // KPtr<ListHead> points at the struct's own descriptor.
    match (ListHead::descriptor().fields[0].shape)() {
        Shape::Pointer {
            target: Some(target),
        } => assert!(std::ptr::eq(
            struct_target(target()),
            ListHead::descriptor()
        )),
        other => panic!("KPtr<ListHead> is a typed pointer, got {other:?}"),
    }
    assert!(std::ptr::eq(struct_target(Page::shape()), d));
    assert_eq!(ListHead::descriptor().names, ["list_head"]);
}

/// A union, by alternative names, optional.
#[kernel_struct(module = "my_mod", any("new_u", "old_u"), union, optional)]
pub(crate) struct MyUnion {
    as_u64: u64,
}

#[kernel_struct]
struct Ext4SbInfo {}

#[test]
fn struct_level_options_and_default_names() {
    let d = MyUnion::descriptor();
    assert!(registered(d));
    assert_eq!(d.module, "my_mod");
    assert_eq!(d.names, ["new_u", "old_u"]);
    assert_eq!(d.kind, AggregateKind::Union);
    assert!(d.optional);
    assert_eq!(d.display_name(), "union new_u|old_u (MyUnion)");
    assert_eq!(d.fields[0].rust_name, "as_u64");

    let e = Ext4SbInfo::descriptor();
    assert!(registered(e));
    assert_eq!(e.names, ["ext4_sb_info"]);
    assert!(e.fields.is_empty());
}

// ---------------------------------------------------------------------------
// Before resolution
// ---------------------------------------------------------------------------

#[kernel_struct(name = "unresolved_thing")]
pub struct Unresolved {
    pub flags: u64,
    #[kernel(optional)]
    pub maybe: u32,
}

#[test]
fn accessors_report_not_resolved_before_resolution() {
    assert!(!Unresolved::is_present());
    let e = Unresolved::try_size().unwrap_err();
    assert_eq!(e.what, "struct unresolved_thing (Unresolved)");
    let e = Unresolved::try_flags_offset().unwrap_err();
    assert_eq!(e.what, "struct unresolved_thing (Unresolved).flags");
    let e = Unresolved::try_maybe_offset().unwrap_err();
    assert_eq!(e.what, "struct unresolved_thing (Unresolved).maybe");
    match Unresolved::view(&[0u8; 64]) {
        Err(ViewError::NotResolved(e)) => {
            assert_eq!(e.what, "struct unresolved_thing (Unresolved)")
        }
        other => panic!("expected NotResolved, got {other:?}"),
    }
    assert!(<Unresolved as KernelField>::read(&[0u8; 64], at_byte(0).unwrap()).is_none());
}

#[test]
#[should_panic(
    expected = "ktype binding struct unresolved_thing (Unresolved).flags used before it was resolved"
)]
fn offset_panics_naming_struct_and_field_before_resolution() {
    Unresolved::flags_offset();
}

#[test]
#[should_panic(expected = "struct unresolved_thing (Unresolved).maybe used before it was resolved")]
fn optional_offset_panics_before_resolution() {
    Unresolved::maybe_offset();
}

#[test]
#[should_panic(
    expected = "ktype binding struct unresolved_thing (Unresolved) used before it was resolved"
)]
fn size_panics_before_resolution() {
    Unresolved::size();
}

// ---------------------------------------------------------------------------
// Resolved by hand: offsets and views
// ---------------------------------------------------------------------------

#[kernel_struct(name = "list_head")]
pub struct Node {
    /// `Self` in field types means the bound struct.
    pub next: KPtr<Self>,
    pub prev: KAddr,
}

#[kernel_struct(name = "task_struct")]
pub struct Task {
    /// The task's state.
    pub state: u32,
    pub small: i16,
    /// A 3-bit field at bit 48.
    pub bits_u: u8,
    pub bits_i: i8,
    pub comm: [u8; 4],
    pub node: Node,
    pub parent: KPtr<Task>,
    #[kernel(optional)]
    pub present: u16,
    #[kernel(optional)]
    pub absent: u64,
    pub on_cpu: bool,
}

fn task_bytes() -> Vec<u8> {
    let mut b = vec![0u8; 48];
    b[0..4].copy_from_slice(&0xdead_beef_u32.to_le_bytes());
    b[4..6].copy_from_slice(&(-2i16).to_le_bytes());
    // byte 6: bits 48..=50 hold 0b101 (bits_u), bits 51..=54 hold 0b1110 (bits_i = -2)
    b[6] = 0b0111_0101;
    b[8..12].copy_from_slice(b"sshd");
    b[16..24].copy_from_slice(&0xffff_8880_0000_1000_u64.to_le_bytes());
    b[24..32].copy_from_slice(&0xffff_8880_0000_2000_u64.to_le_bytes());
    b[32..40].copy_from_slice(&0xffff_8880_0000_3000_u64.to_le_bytes());
    b[40..42].copy_from_slice(&7u16.to_le_bytes());
    b[42] = 1;
    b
}

fn resolve_task() {
    fill(Node::descriptor(), 16, &[at_byte(0), at_byte(8)]);
    fill(
        Task::descriptor(),
        48,
        &[
            at_byte(0),
            Some(FieldLayout {
                signed: true,
                ..at_byte(4).unwrap()
            }),
            bits(48, 3, false),
            bits(51, 4, true),
            at_byte(8),
            at_byte(16),
            at_byte(32),
            at_byte(40),
            None,
            at_byte(42),
        ],
    );
}

#[test]
fn offsets_and_views_after_resolution() {
    resolve_task();
    assert!(Task::is_present());
    assert_eq!(Task::size(), 48);
    assert_eq!(Task::try_size(), Ok(48));
    assert_eq!(Task::state_offset(), 0);
    assert_eq!(Task::small_offset(), 4);
    assert_eq!(
        Task::bits_u_offset(),
        6,
        "bitfields: the byte holding the first bit"
    );
    assert_eq!(Task::try_node_offset(), Ok(16));
    assert_eq!(Task::present_offset(), Some(40));
    assert_eq!(Task::absent_offset(), None);
    assert_eq!(Task::try_absent_offset(), Ok(None));
    assert_eq!(Node::prev_offset(), 8);

    let mut bytes = task_bytes();
    bytes.extend_from_slice(&[0xaa; 16]); // longer than the struct: fine
    let t = Task::view(&bytes).unwrap();
    assert_eq!(t.bytes().len(), 48, "the view covers exactly the struct");
    assert_eq!(format!("{t:?}"), "TaskView { len: 48 }");
    assert_eq!(t.state(), 0xdead_beef);
    assert_eq!(t.small(), -2);
    assert_eq!(t.bits_u(), 0b101);
    assert_eq!(t.bits_i(), -2);
    assert_eq!(t.comm(), *b"sshd");
    assert!(t.on_cpu());
    assert_eq!(t.present(), Some(7));
    assert_eq!(t.absent(), None);
    let parent: KPtr<Task> = t.parent();
    assert_eq!(parent.addr, 0xffff_8880_0000_3000);

    // Nested struct: a view of its own bytes.
    let node = t.node();
    assert_eq!(node.bytes().len(), 16);
    assert_eq!(node.bytes(), &bytes[16..32]);
    assert_eq!(node.next(), KPtr::<Node>::new(0xffff_8880_0000_1000));
    assert_eq!(node.prev(), KAddr::new(0xffff_8880_0000_2000));
    let copy = node; // views are Copy
    assert_eq!(copy.prev(), node.prev());
}

#[kernel_struct(name = "short_thing")]
pub struct ShortThing {
    pub a: u64,
}

#[test]
fn view_of_too_few_bytes_is_an_error() {
    fill(ShortThing::descriptor(), 8, &[at_byte(0)]);
    match ShortThing::view(&[1, 2, 3]) {
        Err(ViewError::TooShort { what, need, got }) => {
            assert_eq!(what, "struct short_thing (ShortThing)");
            assert_eq!((need, got), (8, 3));
        }
        other => panic!("expected TooShort, got {other:?}"),
    }
    assert_eq!(ShortThing::view(&[1, 0, 0, 0, 0, 0, 0, 0]).unwrap().a(), 1);
}

#[kernel_struct(optional)]
pub struct MaybeGone {
    pub a: u64,
}

#[test]
fn absent_optional_struct() {
    let d = MaybeGone::descriptor();
    d.size.set(None);
    d.fields[0].slot.set(None);
    assert!(!MaybeGone::is_present());
    match MaybeGone::view(&[0; 8]) {
        Err(ViewError::Absent { what }) => assert_eq!(what, "struct maybe_gone (MaybeGone)"),
        other => panic!("expected Absent, got {other:?}"),
    }
    assert!(MaybeGone::try_size().is_err());
}

#[kernel_struct(optional)]
pub struct GoneToo {
    pub a: u64,
}

#[test]
#[should_panic(expected = "optional struct gone_too (GoneToo) is absent from this kernel")]
fn size_of_absent_optional_struct_panics() {
    GoneToo::descriptor().size.set(None);
    GoneToo::size();
}

#[kernel_struct]
pub struct Shrunk {
    pub inner: ShrunkInner,
}

#[kernel_struct]
pub struct ShrunkInner {
    pub x: u64,
}

#[test]
#[should_panic(expected = "struct shrunk (Shrunk).inner lies outside the 8 bytes of the view")]
fn required_getter_panics_only_on_an_inconsistent_layout() {
    // The inner struct claims 16 bytes inside an 8-byte outer struct: impossible
    // after a real resolution, so the getter panics with a clear message.
    fill(ShrunkInner::descriptor(), 16, &[at_byte(0)]);
    fill(Shrunk::descriptor(), 8, &[at_byte(0)]);
    let v = Shrunk::view(&[0; 8]).unwrap();
    let _ = v.inner();
}

#[kernel_struct(name = "big_endian_thing")]
pub struct BigEndian {
    pub word: u32,
}

#[test]
fn big_endian_layouts_are_honoured() {
    fill(
        BigEndian::descriptor(),
        4,
        &[Some(FieldLayout {
            big_endian: true,
            ..at_byte(0).unwrap()
        })],
    );
    let v = BigEndian::view(&[0x12, 0x34, 0x56, 0x78]).unwrap();
    assert_eq!(v.word(), 0x1234_5678);
}

// ---------------------------------------------------------------------------
// Enums
// ---------------------------------------------------------------------------

/// Page flag bit numbers.
#[kernel_enum(module = "vmlinux", name = "pageflags")]
pub enum PageFlags {
    PG_locked,
    PG_lru,
    #[kernel(optional)]
    PG_hwpoison,
    #[kernel(name = "PG_head")]
    Head,
    #[kernel(any("PG_foo", "PG_bar"))]
    Foo,
    /// Shares the value of `Head` in this test.
    PG_alias,
}

#[test]
fn enum_descriptor_is_registered() {
    let d = PageFlags::descriptor();
    assert!(KERNEL_ENUMS.iter().any(|e| std::ptr::eq(*e, d)));
    assert_eq!(d.rust_name, "PageFlags");
    assert_eq!(d.module, "vmlinux");
    assert_eq!(d.names, ["pageflags"]);
    assert!(d
        .declared_at
        .ends_with(&format!("macros.rs:{}", line_of("pub enum PageFlags {"))));
    let vs: Vec<(&str, &[&str], bool)> = d
        .variants
        .iter()
        .map(|v| (v.rust_name, v.names, v.optional))
        .collect();
    let expected: Vec<(&str, &[&str], bool)> = vec![
        ("PG_locked", &["PG_locked"], false),
        ("PG_lru", &["PG_lru"], false),
        ("PG_hwpoison", &["PG_hwpoison"], true),
        ("Head", &["PG_head"], false),
        ("Foo", &["PG_foo", "PG_bar"], false),
        ("PG_alias", &["PG_alias"], false),
    ];
    assert_eq!(vs, expected);
    assert_eq!(
        PageFlags::ALL,
        [
            PageFlags::PG_locked,
            PageFlags::PG_lru,
            PageFlags::PG_hwpoison,
            PageFlags::Head,
            PageFlags::Foo,
            PageFlags::PG_alias
        ]
    );
}

#[kernel_enum(name = "pageflags")]
pub enum Flags2 {
    PG_locked,
    PG_referenced,
    #[kernel(optional)]
    PG_hwpoison,
    #[kernel(optional)]
    PG_gone,
    PG_head,
    PG_alias,
    PG_big,
    PG_negative,
}

#[test]
fn enum_values_after_resolution() {
    assert_eq!(
        Flags2::PG_locked.try_value().unwrap_err().what,
        "enum pageflags (Flags2)::PG_locked"
    );
    assert!(!Flags2::PG_locked.is_present());
    assert_eq!(
        Flags2::from_value(0),
        None,
        "unresolved variants never match"
    );

    let values = [
        Some(0),
        Some(2),
        Some(20),
        None,
        Some(16),
        Some(16),
        Some(70),
        Some(-5i64 as u64),
    ];
    for (v, value) in Flags2::descriptor().variants.iter().zip(values) {
        v.value.set(value);
    }
    assert_eq!(Flags2::PG_locked.value(), 0);
    assert_eq!(Flags2::PG_referenced.value(), 2);
    assert_eq!(Flags2::PG_referenced.mask(), 0b100);
    assert_eq!(Flags2::PG_hwpoison.try_value(), Ok(Some(20)));
    assert_eq!(Flags2::PG_gone.try_value(), Ok(None));
    assert!(!Flags2::PG_gone.is_present());
    assert!(Flags2::PG_head.is_present());
    assert_eq!(Flags2::PG_negative.value_i64(), -5);
    assert_eq!(
        Flags2::from_value(16),
        Some(Flags2::PG_head),
        "first match wins"
    );
    assert_eq!(Flags2::from_value(20), Some(Flags2::PG_hwpoison));
    assert_eq!(Flags2::from_value(3), None);
    // Derived traits.
    let mut set = std::collections::HashSet::new();
    set.insert(Flags2::PG_head);
    assert!(set.contains(&Flags2::PG_head));
    assert_eq!(format!("{:?}", Flags2::PG_big), "PG_big");
}

#[kernel_enum(name = "e3")]
pub enum E3 {
    Gone,
    Big,
}

#[test]
#[should_panic(expected = "optional constant enum e3 (E3)::Gone is absent from this kernel")]
fn value_of_absent_constant_panics() {
    E3::Gone.descriptor_slot().set(None);
    E3::Gone.value();
}

#[test]
#[should_panic(expected = "enum e3 (E3)::Big = 64 is not a bit number below 64")]
fn mask_of_large_value_panics() {
    E3::Big.descriptor_slot().set(Some(64));
    E3::Big.mask();
}

#[kernel_enum(name = "e4")]
pub enum E4 {
    Unset,
}

#[test]
#[should_panic(expected = "ktype binding enum e4 (E4)::Unset used before it was resolved")]
fn value_panics_before_resolution() {
    E4::Unset.value();
}

trait SlotOf {
    fn descriptor_slot(self) -> &'static ktype_runtime::registry::ValueSlot;
}
impl SlotOf for E3 {
    fn descriptor_slot(self) -> &'static ktype_runtime::registry::ValueSlot {
        &E3::descriptor().variants[self as usize].value
    }
}

/// Constants of anonymous enums, with derives the user already wrote.
#[kernel_enum(anonymous)]
#[derive(Debug, Clone, Copy)]
pub enum AnonConsts {
    #[kernel(name = "MAX_NR_ZONES")]
    MaxNrZones,
}

#[test]
fn anonymous_enum_has_no_names() {
    let d = AnonConsts::descriptor();
    assert!(KERNEL_ENUMS.iter().any(|e| std::ptr::eq(*e, d)));
    assert!(d.names.is_empty());
    assert_eq!(d.display_name(), "enum constants (AnonConsts)");
    assert_eq!(d.variants[0].names, ["MAX_NR_ZONES"]);
    assert_eq!(AnonConsts::MaxNrZones, AnonConsts::MaxNrZones);
}

// ---------------------------------------------------------------------------
// Symbols
// ---------------------------------------------------------------------------

kernel_symbols! {
    /// The first task.
    pub static INIT_TASK = "init_task";
    #[kernel(optional)]
    pub static STEXT = "_stext";
    #[kernel(module = "qemu_fw_cfg")]
    static FW_CFG_SEL = any("fw_cfg_sel_ko", "other");
}

#[test]
fn symbols_are_registered_and_resolvable_by_hand() {
    for s in [&INIT_TASK, &STEXT, &FW_CFG_SEL] {
        assert!(KERNEL_SYMBOLS.iter().any(|r| std::ptr::eq(*r, s)));
        assert!(s.try_address().is_err(), "unresolved");
    }
    assert_eq!(INIT_TASK.rust_name, "INIT_TASK");
    assert_eq!(INIT_TASK.module, "vmlinux");
    assert_eq!(INIT_TASK.names, ["init_task"]);
    assert!(!INIT_TASK.optional);
    assert!(STEXT.optional);
    assert_eq!(FW_CFG_SEL.module, "qemu_fw_cfg");
    assert_eq!(FW_CFG_SEL.names, ["fw_cfg_sel_ko", "other"]);
    assert!(FW_CFG_SEL
        .declared_at
        .ends_with(&format!("macros.rs:{}", line_of("static FW_CFG_SEL = "))));
    assert!(INIT_TASK
        .declared_at
        .ends_with(&format!("macros.rs:{}", line_of("pub static INIT_TASK = "))));

    INIT_TASK.address.set(Some(0xffff_ffff_8200_0000));
    STEXT.address.set(None);
    assert_eq!(INIT_TASK.address(), 0xffff_ffff_8200_0000);
    assert_eq!(STEXT.try_address(), Ok(None));
}

// ---------------------------------------------------------------------------
// Attributes
// ---------------------------------------------------------------------------

#[kernel_struct]
#[allow(dead_code)]
pub struct WithCfg {
    pub kept: u8,
    #[cfg(any())]
    pub dropped: u8,
    #[cfg(test)]
    pub also_kept: u16,
}

#[kernel_enum]
pub enum CfgEnum {
    Kept,
    #[cfg(any())]
    Dropped,
}

#[test]
fn cfg_disabled_fields_and_variants_are_not_declared() {
    let fields: Vec<&str> = WithCfg::descriptor()
        .fields
        .iter()
        .map(|f| f.rust_name)
        .collect();
    assert_eq!(fields, ["kept", "also_kept"]);
    fill(WithCfg::descriptor(), 4, &[at_byte(0), at_byte(2)]);
    assert_eq!(WithCfg::also_kept_offset(), 2);
    assert_eq!(WithCfg::view(&[1, 0, 2, 0]).unwrap().also_kept(), 2);
    assert_eq!(CfgEnum::ALL, [CfgEnum::Kept]);
    assert_eq!(CfgEnum::descriptor().variants.len(), 1);
}
