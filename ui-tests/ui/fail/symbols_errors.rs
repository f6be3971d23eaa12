ktype_runtime::kernel_symbols! {
    pub static INIT_TASK = init_task;
    pub static mut JIFFIES = "jiffies";
    pub static STEXT: u64 = "_stext";
    #[kernel(optinal)]
    static ETEXT = "_etext";
    #[kernel(name = "x")]
    static EMPTY = any();
    static SPACED = "a b";
}

fn main() {}
