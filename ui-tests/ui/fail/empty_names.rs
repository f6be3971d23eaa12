use ktype_runtime::{kernel_enum, kernel_struct};

#[kernel_struct(name = "")]
pub struct Page {
    #[kernel(any())]
    pub flags: u64,
    #[kernel(name = "")]
    pub mapcount: i32,
}

#[kernel_enum(any())]
pub enum PageFlags {
    #[kernel(name = "")]
    PG_locked,
}

fn main() {}
