//! Named temporary files are removed when the process is stopped by
//! SIGINT, SIGTERM or SIGHUP: a handler (installed with the first
//! registration) unlinks every registered path, then restores the signal's
//! default action and raises it again, so the process ends as the signal
//! meant (exit status 128 + signal number in a shell).
//!
//! The handler only calls async-signal-safe functions (`unlink`,
//! `sigaction`, `raise`) on C strings prepared at registration. (Unnamed
//! `O_TMPFILE` outputs need none of this: the kernel drops them with the
//! process, SIGKILL included.)

// System calls (libc, memmap2): every `unsafe` block below carries a SAFETY
// comment (clippy::undocumented_unsafe_blocks is denied).
#![allow(unsafe_code)]

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Once;

/// Paths to unlink on a signal (null: free slot).
static SLOTS: [AtomicPtr<libc::c_char>; 16] = [const { AtomicPtr::new(ptr::null_mut()) }; 16];
static INSTALL: Once = Once::new();
const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

extern "C" fn on_signal(sig: libc::c_int) {
    for slot in &SLOTS {
        let p = slot.load(Ordering::SeqCst);
        if !p.is_null() {
            // SAFETY: `p` is a NUL-terminated string leaked by `register`,
            // never freed.
            unsafe { libc::unlink(p) };
        }
    }
    // SAFETY: plain calls of async-signal-safe functions on a zeroed,
    // then filled sigaction.
    unsafe {
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&mut dfl.sa_mask);
        libc::sigaction(sig, &dfl, ptr::null_mut());
        libc::raise(sig);
    }
}

fn install() {
    for sig in SIGNALS {
        // SAFETY: sigaction with a zeroed struct filled with a valid handler;
        // a signal the caller ignores (nohup) stays ignored.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, ptr::null(), &mut old) != 0 || old.sa_sigaction == libc::SIG_IGN
            {
                continue;
            }
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut act.sa_mask);
            libc::sigaction(sig, &act, ptr::null_mut());
        }
    }
}

/// A registered path; unregistered when dropped (the file itself is left
/// as it is: the caller renames or removes it).
#[derive(Debug)]
pub(crate) struct Registration(Option<usize>);

/// Registers `path` for removal on SIGINT/SIGTERM/SIGHUP. With every slot
/// taken (more than 16 outputs written at once) the path is not registered
/// and a signal leaves it behind.
pub(crate) fn register(path: &Path) -> Registration {
    INSTALL.call_once(install);
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return Registration(None);
    };
    // Leaked on purpose: the handler may read it at any time, even while the
    // registration is being dropped on another thread.
    let raw = c.into_raw();
    for (i, slot) in SLOTS.iter().enumerate() {
        if slot
            .compare_exchange(ptr::null_mut(), raw, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return Registration(Some(i));
        }
    }
    Registration(None)
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(i) = self.0 {
            SLOTS[i].store(ptr::null_mut(), Ordering::SeqCst);
        }
    }
}
