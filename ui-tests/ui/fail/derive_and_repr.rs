use ktype_runtime::kernel_struct;

#[kernel_struct]
#[derive(Debug, Clone)]
#[repr(C)]
pub struct Page {
    pub flags: u64,
}

fn main() {}
