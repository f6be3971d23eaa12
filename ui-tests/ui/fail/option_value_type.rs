use ktype_runtime::kernel_struct;

#[kernel_struct(module = vmlinux)]
pub struct Page {
    #[kernel(name = 5)]
    pub flags: u64,
    #[kernel(optional = true)]
    pub mapcount: i32,
    #[kernel(any = "a")]
    pub lru: u64,
    #[kernel(path)]
    pub refcount: i32,
    #[kernel(name("a", "b"))]
    pub mapping: u64,
    #[kernel(any("a", 1))]
    pub index: u64,
}

fn main() {}
