//! Sample blobs shared by the synthetic, corruption and fuzz-seed tests.

use super::builder::{bf, m, BtfBuilder, INT_BOOL, INT_CHAR};

/// Ids of the types [`kitchen_sink`] defines.
#[derive(Debug, Clone, Copy)]
pub struct Ids {
    pub int: u32,
    pub uint: u32,
    pub char_: u32,
    pub long: u32,
    pub bool_: u32,
    pub void_ptr: u32,
    pub comm: u32,
    pub list_head: u32,
    pub list_head_ptr: u32,
    pub u32_: u32,
    pub const_u32: u32,
    pub volatile_int: u32,
    pub state: u32,
    pub delta: u32,
    pub big: u32,
    pub fwd_file: u32,
    pub fwd_sock: u32,
    pub proto: u32,
    pub func: u32,
    pub var: u32,
    pub datasec: u32,
    pub double: u32,
    pub decl_tag: u32,
    pub type_tag: u32,
    pub tagged_ptr: u32,
    pub restrict_ptr: u32,
    pub flags: u32,
    pub old_bits: u32,
    pub old_style: u32,
    pub grid: u32,
    pub proto_ptr: u32,
    pub comm_ptr: u32,
    pub const_int_ptr: u32,
    pub anon_s3: u32,
    pub anon_s2: u32,
    pub anon_u1: u32,
    pub task: u32,
    pub task_t: u32,
    pub empty_proto: u32,
}

/// One of every kind, plus bitfields of both encodings, anonymous members
/// nested three deep, arrays of arrays and pointers to arrays and functions.
///
/// `struct task_struct` (128 bytes; offsets in bits):
/// ```c
/// struct task_struct {
///     volatile int state;                  // 0
///     struct flags flags;                  // 32: a:1 @0, b:3 @1, c:28 @4 (kind_flag)
///     struct list_head tasks;              // 64
///     char comm[16];                       // 192
///     int (*fn)(struct list_head *, ...);  // 320
///     union {                              // 384
///         struct {                         //   0
///             int b;                       //     0
///             struct { int deep; };        //     32
///         };
///         unsigned int u;                  //   0
///     };
///     struct oldstyle old;                 // 448: y @0, x @32 (int with offset 2, 3 bits)
///     int grid[3][4];                      // 512
///     const u32 cnt;                       // 896
/// };
/// ```
pub fn kitchen_sink(big_endian: bool) -> (BtfBuilder, Ids) {
    let mut b = BtfBuilder::new().big_endian(big_endian);
    let int = b.add_int("int", 4, true);
    let uint = b.add_int("unsigned int", 4, false);
    let char_ = b.add_int_raw("char", 1, INT_CHAR, 0, 8);
    let long = b.add_int("long int", 8, true);
    let bool_ = b.add_int_raw("_Bool", 1, INT_BOOL, 0, 8);
    let void_ptr = b.add_ptr(0);
    let comm = b.add_array(char_, uint, 16);
    let list_head = b.next_id();
    let list_head_ptr = list_head + 1;
    b.add_struct(
        "list_head",
        16,
        &[m("next", list_head_ptr, 0), m("prev", list_head_ptr, 64)],
    );
    b.add_ptr(list_head);
    let u32_ = b.add_typedef("u32", uint);
    let const_u32 = b.add_const(u32_);
    let volatile_int = b.add_volatile(int);
    let state = b.add_enum(
        "state",
        4,
        false,
        &[("RUNNING", 0), ("STOPPED", 4), ("DEAD", 0x8000_0000)],
    );
    let delta = b.add_enum("delta", 4, true, &[("NEG", -1), ("POS", 1)]);
    let big = b.add_enum64(
        "big",
        8,
        false,
        &[("HUGE", 0xffff_ffff_0000_0001), ("SMALL", 2)],
    );
    let fwd_file = b.add_fwd("file", false);
    let fwd_sock = b.add_fwd("sock", true);
    let proto = b.add_func_proto(int, &[("head", list_head_ptr), ("", 0)]);
    let func = b.add_func("do_thing", proto, 1);
    let var = b.add_var("jiffies", long, 1);
    let datasec = b.add_datasec(".data", 8, &[(var, 0, 8)]);
    let double = b.add_float("double", 8);
    let decl_tag = b.add_decl_tag("user", list_head, 1);
    let type_tag = b.add_type_tag("rcu", list_head);
    let tagged_ptr = b.add_ptr(type_tag);
    let restrict_ptr = b.add_restrict(void_ptr);
    let flags = b.add_struct(
        "flags",
        4,
        &[
            bf("a", int, 0, 1),
            bf("b", uint, 1, 3),
            bf("c", uint, 4, 28),
        ],
    );
    let old_bits = b.add_int_raw("oldbits", 4, 0, 2, 3);
    let old_style = b.add_struct("oldstyle", 8, &[m("y", int, 0), m("x", old_bits, 32)]);
    let row = b.add_array(int, uint, 4);
    let grid = b.add_array(row, uint, 3);
    let proto_ptr = b.add_ptr(proto);
    let comm_ptr = b.add_ptr(comm);
    let int_ptr = b.add_ptr(int);
    let const_int_ptr = b.add_const(int_ptr);
    let anon_s3 = b.add_struct("", 4, &[m("deep", int, 0)]);
    let anon_s2 = b.add_struct("", 8, &[m("b", int, 0), m("", anon_s3, 32)]);
    let anon_u1 = b.add_union("", 8, &[m("", anon_s2, 0), m("u", uint, 0)]);
    let task = b.add_struct(
        "task_struct",
        128,
        &[
            m("state", volatile_int, 0),
            m("flags", flags, 32),
            m("tasks", list_head, 64),
            m("comm", comm, 192),
            m("fn", proto_ptr, 320),
            m("", anon_u1, 384),
            m("old", old_style, 448),
            m("grid", grid, 512),
            m("cnt", const_u32, 896),
        ],
    );
    let task_t = b.add_typedef("task_t", task);
    let empty_proto = b.add_func_proto(0, &[]);
    let ids = Ids {
        int,
        uint,
        char_,
        long,
        bool_,
        void_ptr,
        comm,
        list_head,
        list_head_ptr,
        u32_,
        const_u32,
        volatile_int,
        state,
        delta,
        big,
        fwd_file,
        fwd_sock,
        proto,
        func,
        var,
        datasec,
        double,
        decl_tag,
        type_tag,
        tagged_ptr,
        restrict_ptr,
        flags,
        old_bits,
        old_style,
        grid,
        proto_ptr,
        comm_ptr,
        const_int_ptr,
        anon_s3,
        anon_s2,
        anon_u1,
        task,
        task_t,
        empty_proto,
    };
    (b, ids)
}

/// A small base plus split blob: the split's struct embeds the base's.
pub fn split_pair() -> (Vec<u8>, Vec<u8>) {
    let mut base = BtfBuilder::new();
    let int = base.add_int("int", 4, true);
    let lh = base.next_id();
    base.add_struct(
        "list_head",
        16,
        &[m("next", lh + 1, 0), m("prev", lh + 1, 64)],
    );
    base.add_ptr(lh);
    let mut split = BtfBuilder::split_on(&base);
    let arr = split.add_array(int, int, 2);
    split.add_struct(
        "mod_obj",
        32,
        &[m("link", lh, 0), m("vals", arr, 128), m("int", int, 192)],
    );
    split.add_enum("mod_state", 4, false, &[("MOD_LIVE", 0), ("MOD_GOING", 2)]);
    (base.build(), split.build())
}

/// A blob with a layout section and a type of unknown kind 25 (8 bytes of
/// data plus 4 per element) between known ones.
pub fn with_unknown_kind(layout: bool) -> Vec<u8> {
    let mut b = BtfBuilder::new();
    if layout {
        b = b.with_layout(&[(25, 8, 4)]);
    }
    let int = b.add_int("int", 4, true);
    b.add_raw_kind(25, 2, "mystery", int, &[0xaa; 16]);
    b.add_struct("after", 4, &[m("v", int, 0)]);
    b.build()
}

/// Every sample blob, named (seeds for the corpus tests and the fuzzers).
pub fn all() -> Vec<(&'static str, Vec<u8>)> {
    let (base, split) = split_pair();
    vec![
        ("kitchen_sink_le", kitchen_sink(false).0.build()),
        ("kitchen_sink_be", kitchen_sink(true).0.build()),
        (
            "kitchen_sink_layout",
            kitchen_sink(false).0.with_layout(&[]).build(),
        ),
        ("unknown_kind_layout", with_unknown_kind(true)),
        ("split_base", base),
        ("split_module", split),
    ]
}
