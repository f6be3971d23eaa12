use ktype_runtime::kernel_struct;

#[kernel_struct]
pub struct Opaque;

fn main() {}
