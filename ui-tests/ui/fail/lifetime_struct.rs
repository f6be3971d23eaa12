use ktype_runtime::kernel_struct;

#[kernel_struct]
pub struct Borrowed<'a> {
    pub value: &'a u64,
}

fn main() {}
