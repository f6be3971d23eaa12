use ktype_runtime::kernel_struct;

#[kernel_struct]
pub struct Page {
    #[kernel(optinal)]
    pub flags: u64,
    #[kernel(nmae = "_mapcount")]
    pub mapcount: i32,
    #[kernel(frobnicate)]
    pub lru: u64,
}

fn main() {}
