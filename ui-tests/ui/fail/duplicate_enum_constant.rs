use ktype_runtime::kernel_enum;

#[kernel_enum(name = "pageflags")]
pub enum PageFlags {
    PG_head,
    #[kernel(name = "PG_head")]
    Head,
    #[kernel(any("PG_compound", "PG_head"))]
    Compound,
}

fn main() {}
