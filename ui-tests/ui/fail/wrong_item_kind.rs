use ktype_runtime::{kernel_enum, kernel_struct};

#[kernel_struct]
pub enum PageFlags {
    PG_locked,
}

#[kernel_enum]
pub struct Page {
    pub flags: u64,
}

#[kernel_struct]
pub fn page() {}

#[kernel_struct]
pub union Raw {
    a: u32,
}

fn main() {}
