use ktype_runtime::kernel_enum;

#[kernel_enum(name = "pageflags")]
pub enum PageFlags {
    PG_locked,
    PG_lru(u32),
    PG_head { bit: u8 },
    PG_tail = 5,
}

#[kernel_enum]
pub enum Empty {}

#[kernel_enum]
pub enum Generic<T> {
    A,
}

fn main() {}
