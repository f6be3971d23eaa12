use ktype_runtime::kernel_struct;

#[kernel_struct]
#[kernel(name = "page")]
pub struct Page {
    #[kernel]
    pub flags: u64,
    #[kernel = "x"]
    pub mapcount: i32,
}

fn main() {}
