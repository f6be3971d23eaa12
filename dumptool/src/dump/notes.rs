//! ELF notes of a dump (`PT_NOTE` segments of an ELF vmcore, the note area of
//! a kdump-compressed file): `CORE`/`NT_PRSTATUS` per CPU, `VMCOREINFO`,
//! qemu's `QEMU` CPU state, and whatever else, kept raw.

use super::error::DumpError;
use crate::format::note;
use std::path::Path;

pub use crate::format::note::{Note, ERASEINFO_NOTE, NT_PRSTATUS, VMCOREINFO_NOTE};

/// The notes of a dump, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notes {
    list: Vec<Note>,
}

impl Notes {
    /// Wraps parsed notes.
    pub(crate) fn new(list: Vec<Note>) -> Notes {
        Notes { list }
    }

    /// All notes.
    pub fn iter(&self) -> std::slice::Iter<'_, Note> {
        self.list.iter()
    }

    /// How many notes there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// How many `CORE`/`NT_PRSTATUS` notes (one per CPU that saved registers).
    pub fn prstatus_count(&self) -> usize {
        self.prstatus().count()
    }

    /// The `CORE`/`NT_PRSTATUS` notes, in CPU order.
    pub fn prstatus(&self) -> impl Iterator<Item = &Note> {
        self.list
            .iter()
            .filter(|n| n.ntype == NT_PRSTATUS && n.name == "CORE")
    }

    /// The first note named `name`.
    pub fn find(&self, name: &str) -> Option<&Note> {
        self.list.iter().find(|n| n.name == name)
    }

    /// The text of the erase information note (`ERASEINFO`, type 0), if any.
    pub fn eraseinfo(&self) -> Option<&[u8]> {
        self.list
            .iter()
            .find(|n| n.name == ERASEINFO_NOTE && n.ntype == 0)
            .map(|n| n.desc.as_slice())
    }

    /// The VMCOREINFO note's text, if there is one.
    pub fn vmcoreinfo(&self) -> Option<&[u8]> {
        self.find(VMCOREINFO_NOTE).map(|n| n.desc.as_slice())
    }
}

impl<'a> IntoIterator for &'a Notes {
    type Item = &'a Note;
    type IntoIter = std::slice::Iter<'a, Note>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

/// Parses the notes in `data` (from `what` at file offset `file_offset`)
/// with [`note::parse_notes`]; a note it refuses is an error naming the
/// file, the note and where it is.
pub(crate) fn parse_notes(
    data: &[u8],
    path: &Path,
    what: &str,
    file_offset: u64,
) -> Result<Vec<Note>, DumpError> {
    note::parse_notes(data).map_err(|e| DumpError::Invalid {
        path: path.to_path_buf(),
        what: format!(
            "note #{} of {what} (file offset {:#x})",
            e.index,
            file_offset + e.offset as u64
        ),
        detail: e.detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(name: &str, ty: u32, desc: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        note::push_note(&mut v, name, ty, desc);
        v
    }

    #[test]
    fn parses_and_stops_at_zero_padding() {
        let mut data = note("CORE", 1, &[1, 2, 3, 4, 5]);
        data.extend(note("CORE", 1, &[6; 8]));
        data.extend(note("VMCOREINFO", 0, b"OSRELEASE=6.1\n"));
        data.extend([0u8; 40]);
        let notes = Notes::new(parse_notes(&data, Path::new("x"), "PT_NOTE", 0).unwrap());
        assert_eq!(notes.len(), 3);
        assert_eq!(notes.prstatus_count(), 2);
        assert_eq!(notes.vmcoreinfo(), Some(&b"OSRELEASE=6.1\n"[..]));
    }

    #[test]
    fn rejects_overlong_descriptor() {
        let mut data = note("CORE", 1, &[0; 16]);
        data[4] = 200; // descsz
        let err = parse_notes(&data, Path::new("dump.elf"), "PT_NOTE", 0x100).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("dump.elf: invalid note #0 of PT_NOTE (file offset 0x100)"),
            "{msg}"
        );
    }
}
