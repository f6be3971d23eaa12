//! Facts about the fixture guests that tests check debuggers against: the
//! workload's pid from the guest's console, and pages a filtered output
//! leaves out whose source content is known.

use crate::fixtures::Vmcore;
use dumptool::dump::{Dump, PageState};

/// The pid `workload` printed on the guest's console (`..., pid N`).
pub fn workload_pid(v: &Vmcore) -> u64 {
    let path = v.dir.join("console.log");
    let console = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    workload_pid_in(&String::from_utf8_lossy(&console))
        .unwrap_or_else(|| panic!("{}: no `workload: anon ..., pid N` line", path.display()))
}

/// The pid in the `workload: anon ..., pid N` line of a guest's console
/// text (the vmcores guest's, or the kdump guest's).
pub fn workload_pid_in(console: &str) -> Option<u64> {
    let line = console.lines().find(|l| l.starts_with("workload: anon"))?;
    line.rsplit_once("pid ")?.1.trim().parse().ok()
}

/// Two pages the kdump output `kdump` leaves out: one the source holds with
/// the workload's anonymous data (`KTYPE-ANON` at its start) and one the
/// source holds all zero; as physical addresses.
pub fn excluded_pages(src: &Dump, kdump: &Dump) -> (u64, u64) {
    let ps = src.page_size();
    let mut buf = vec![0u8; ps as usize];
    let (mut user, mut zero) = (None, None);
    for pfn in 0..kdump.max_pfn() {
        let state = kdump.phys().page_state(pfn);
        let want = match state {
            PageState::Excluded => user.is_none(),
            PageState::Zero => zero.is_none(),
            _ => false,
        };
        if !want || src.phys().read_phys(pfn * ps, &mut buf).is_err() {
            continue;
        }
        if state == PageState::Excluded && buf.starts_with(b"KTYPE-ANON page=") {
            user = Some(pfn * ps);
        } else if state == PageState::Zero && buf.iter().all(|&b| b == 0) {
            zero = Some(pfn * ps);
        }
        if let (Some(u), Some(z)) = (user, zero) {
            return (u, z);
        }
    }
    panic!(
        "{}: no excluded workload page ({user:?}) or excluded zero page ({zero:?})",
        kdump.path().display()
    );
}
