// Resolution writes process-global bindings, so it needs the bindings lock:
// every resolution function takes the guard `lock_bindings()` returns, and
// no guard can be made any other way.
use ktype_runtime::registry::lock_bindings;
use ktype_runtime::{kernel_struct, resolve, this_crate, BindingsGuard, BtfSet};

#[kernel_struct(name = "task_struct")]
pub struct Task {
    pub pid: i32,
}

fn no_guard(set: &BtfSet) {
    let _ = resolve(set, this_crate!());
}

fn forged_guard(set: &BtfSet) {
    let guard = BindingsGuard(());
    let _ = resolve(&guard, set, this_crate!());
}

fn locked(set: &BtfSet) {
    let guard = lock_bindings();
    let _ = resolve(&guard, set, this_crate!());
    println!("pid at {}", Task::pid_offset());
}

fn main() {
    let _ = (no_guard, forged_guard, locked);
}
