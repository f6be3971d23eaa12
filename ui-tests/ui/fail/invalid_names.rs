use ktype_runtime::{kernel_enum, kernel_struct};

#[kernel_struct(name = "struct page")]
pub struct Page {
    #[kernel(path = "_refcount..counter")]
    pub refcount: i32,
    #[kernel(path = "lru. next")]
    pub next: u64,
    #[kernel(path = ".flags")]
    pub flags: u64,
    #[kernel(name = "_refcount.counter")]
    pub counter: i32,
    #[kernel(any("ok", "not ok"))]
    pub other: u64,
}

#[kernel_enum]
pub enum PageFlags {
    #[kernel(name = "PG-locked")]
    PgLocked,
}

fn main() {}
