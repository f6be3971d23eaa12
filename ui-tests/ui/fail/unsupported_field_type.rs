use ktype_runtime::kernel_struct;

#[kernel_struct]
pub struct TaskStruct {
    pub pid: i32,
    pub comm: String,
    pub children: Vec<u64>,
    #[kernel(optional)]
    pub name: &'static str,
}

fn main() {}

#[kernel_struct]
pub struct Indirect {
    pub ptr: ktype_runtime::KPtr<String>,
    pub arr: [char; 4],
}
