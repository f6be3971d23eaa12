use ktype_runtime::kernel_struct;

#[kernel_struct(module = "a", module = "b")]
pub struct Page {
    #[kernel(optional, optional)]
    pub flags: u64,
    #[kernel(name = "a")]
    #[kernel(name = "b")]
    pub mapcount: i32,
}

fn main() {}
