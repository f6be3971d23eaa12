use ktype_runtime::kernel_struct;

#[kernel_struct]
pub struct Page {
    pub flags: u64,
    #[kernel(name = "flags")]
    pub flags_again: u64,
    #[kernel(path = "_refcount.counter")]
    pub refcount: i32,
    #[kernel(any("_count", "_refcount.counter"))]
    pub count: i32,
}

fn main() {}
