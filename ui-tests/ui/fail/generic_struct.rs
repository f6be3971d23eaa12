use ktype_runtime::kernel_struct;

#[kernel_struct]
pub struct Holder<T, const N: usize> {
    pub value: u64,
}

#[kernel_struct]
pub struct Bounded
where
    u64: Copy,
{
    pub value: u64,
}

fn main() {}
