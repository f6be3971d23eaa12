use ktype_runtime::kernel_struct;

#[kernel_struct]
pub struct Pid(u32, u64);

fn main() {}
