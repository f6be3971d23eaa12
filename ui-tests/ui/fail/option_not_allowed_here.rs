use ktype_runtime::{kernel_enum, kernel_struct};

// `path` is a field option, `union` a struct option, `optional` is not an enum option.
#[kernel_struct(path = "a.b", unoin)]
pub struct Page {
    #[kernel(union, module = "vmlinux")]
    pub flags: u64,
}

#[kernel_enum(union)]
pub enum PageFlags {
    #[kernel(path = "x")]
    PG_locked,
}

fn main() {}
