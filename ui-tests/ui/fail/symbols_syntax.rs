ktype_runtime::kernel_symbols! {
    pub const INIT_TASK = "init_task";
}

fn main() {}
