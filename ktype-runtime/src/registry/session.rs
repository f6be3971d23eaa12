//! Bindings are process-global (one set of slots per declaration), so one
//! kernel at a time may own them. [`lock_bindings`] serialises the owners.

use std::sync::{Mutex, MutexGuard};

static BINDINGS: Mutex<()> = Mutex::new(());

/// Proof that the caller owns the process-global bindings: resolve, then use
/// them, while holding it. Tools handling one kernel per process need not
/// bother; code that handles several kernels in one process (tests, a
/// service comparing dumps) must, or one kernel's offsets would be read
/// while another's are being written.
#[derive(Debug)]
pub struct BindingsGuard(#[allow(dead_code)] MutexGuard<'static, ()>);

/// Waits until no one else owns the bindings, then owns them until the
/// guard is dropped. Not re-entrant: a thread holding a guard must not ask
/// for another.
pub fn lock_bindings() -> BindingsGuard {
    BindingsGuard(BINDINGS.lock().unwrap_or_else(|e| e.into_inner()))
}
