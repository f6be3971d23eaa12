//! What an output carries about the dumped kernel besides its pages, taken
//! from the source: the ELF notes (every note, VMCOREINFO included), the
//! utsname, `phys_base`, the ELF machine, a timestamp and the erase
//! information.

use super::error::WriteError;
use crate::dump::Dump;
use crate::format::kdump::{Utsname, UTS_FIELD_LEN};
use crate::format::note::{push_note, ERASEINFO_NOTE, VMCOREINFO_NOTE};

/// The source's notes serialised as one ELF note area.
pub(crate) struct NoteArea {
    /// The notes, each 4-byte aligned.
    pub bytes: Vec<u8>,
    /// Where the VMCOREINFO note's descriptor (its text) lies in `bytes`:
    /// (offset, size).
    pub vmcoreinfo: Option<(usize, usize)>,
}

/// The erase information of the output: the source's, then `added`'s.
pub(crate) fn eraseinfo(src: &Dump, added: &[u8]) -> Vec<u8> {
    let mut text = src.eraseinfo().to_vec();
    if !text.is_empty() && !text.ends_with(b"\n") && !added.is_empty() {
        text.push(b'\n');
    }
    text.extend_from_slice(added);
    text
}

/// Every note of `src`, in order, but its erase information note: that is
/// `eraseinfo`, appended as an `ERASEINFO` note when given and not empty
/// (an ELF output's; a kdump output keeps it in its sub header). When the
/// source keeps VMCOREINFO outside its notes (a kdump sub header), it is
/// added as a `VMCOREINFO` note rebuilt from its lines.
pub(crate) fn note_area(src: &Dump, eraseinfo: Option<&[u8]>) -> NoteArea {
    let mut bytes = Vec::new();
    let mut vmcoreinfo = None;
    for n in src.notes() {
        if n.name == ERASEINFO_NOTE && n.ntype == 0 {
            continue;
        }
        let at = push_note(&mut bytes, &n.name, n.ntype, &n.desc);
        if n.name == VMCOREINFO_NOTE && vmcoreinfo.is_none() {
            vmcoreinfo = Some((at, n.desc.len()));
        }
    }
    if vmcoreinfo.is_none() {
        if let Some(info) = src.vmcoreinfo() {
            let text: String = info.raw.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
            let at = push_note(&mut bytes, VMCOREINFO_NOTE, 0, text.as_bytes());
            vmcoreinfo = Some((at, text.len()));
        }
    }
    if let Some(text) = eraseinfo.filter(|t| !t.is_empty()) {
        push_note(&mut bytes, ERASEINFO_NOTE, 0, text);
    }
    NoteArea { bytes, vmcoreinfo }
}

/// The dumped kernel's utsname: the source kdump header's; else the
/// kernel's own `init_uts_ns.name` read through the dump; else `Linux`,
/// VMCOREINFO's `OSRELEASE` and the machine.
pub(crate) fn utsname(src: &Dump) -> Utsname {
    if let Some(h) = src.kdump_header() {
        return h.utsname.clone();
    }
    if let Some(u) = kernel_utsname(src) {
        return u;
    }
    Utsname {
        sysname: "Linux".into(),
        release: src
            .vmcoreinfo()
            .and_then(|v| v.osrelease.clone())
            .unwrap_or_default(),
        machine: src.machine().to_string(),
        ..Utsname::default()
    }
}

/// `init_uts_ns.name` from memory, if it reads and looks like a utsname.
fn kernel_utsname(src: &Dump) -> Option<Utsname> {
    let info = src.vmcoreinfo()?;
    let addr = info.symbol("init_uts_ns")? + info.offset("uts_namespace.name")?;
    let mem = src.kernel_memory().ok()?;
    let raw = mem.read_bytes(addr, 6 * UTS_FIELD_LEN).ok()?;
    let field = |i: usize| {
        let f = &raw[i * UTS_FIELD_LEN..(i + 1) * UTS_FIELD_LEN];
        let end = f.iter().position(|&b| b == 0)?;
        let s = std::str::from_utf8(&f[..end]).ok()?;
        s.chars().all(|c| !c.is_control()).then(|| s.to_string())
    };
    let u = Utsname {
        sysname: field(0)?,
        nodename: field(1)?,
        release: field(2)?,
        version: field(3)?,
        machine: field(4)?,
        domainname: field(5)?,
    };
    // Only trust it when it agrees with VMCOREINFO.
    match &info.osrelease {
        Some(r) if *r != u.release => None,
        _ if u.sysname.is_empty() => None,
        _ => Some(u),
    }
}

/// `phys_base`: VMCOREINFO's `NUMBER(phys_base)` (qemu's kdump header
/// value is wrong under KASLR; arm64 has `NUMBER(PHYS_OFFSET)` instead, which
/// makedumpfile and qemu record there), else the source kdump header's, else 0.
pub(crate) fn phys_base(src: &Dump) -> u64 {
    src.vmcoreinfo()
        .and_then(|v| {
            v.phys_base.or_else(|| {
                (crate::arch::Arch::of(src) == Some(crate::arch::Arch::Arm64))
                    .then(|| v.number("PHYS_OFFSET").map(|n| n as u64))
                    .flatten()
            })
        })
        .or_else(|| src.kdump_header().map(|h| h.phys_base))
        .unwrap_or(0)
}

/// The ELF `e_machine` of the dumped machine.
pub(crate) fn elf_machine(src: &Dump) -> Result<u16, WriteError> {
    let m = src.machine();
    if let Some(n) = m
        .strip_prefix("ELF machine ")
        .and_then(|n| n.parse::<u16>().ok())
    {
        return Ok(n);
    }
    crate::format::elf::machine_number(m)
        .ok_or_else(|| WriteError::Unsupported(format!("no ELF machine number is known for `{m}`")))
}

/// The dump's time: the source kdump header's, else VMCOREINFO's
/// `CRASHTIME`, else the source file's modification time (so the same
/// source always gives the same output), else 0. (seconds, microseconds)
pub(crate) fn timestamp(src: &Dump) -> (i64, i64) {
    if let Some(h) = src.kdump_header() {
        return (h.timestamp_sec, h.timestamp_usec);
    }
    if let Some(t) = src.vmcoreinfo().and_then(|v| v.crashtime) {
        return (t, 0);
    }
    std::fs::metadata(src.path())
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or((0, 0), |d| {
            (d.as_secs() as i64, i64::from(d.subsec_micros()))
        })
}
