use ktype_runtime::{kernel_enum, kernel_struct};

#[kernel_struct(name = "page", any("folio", "page"))]
pub struct Page {
    #[kernel(name = "_mapcount", path = "_mapcount.counter")]
    pub mapcount: i32,
    #[kernel(any("a", "b"), name = "c")]
    pub other: u64,
}

#[kernel_enum(anonymous, name = "pageflags")]
pub enum PageFlags {
    PG_locked,
}

fn main() {}
