use ktype_runtime::{kernel_enum, kernel_struct};

#[kernel_struct]
pub struct SkBuff {
    pub bytes: u32,
    pub len: u32,
    pub try_len: u32,
}

#[kernel_enum]
pub enum Limits {
    ALL,
}

fn main() {}
