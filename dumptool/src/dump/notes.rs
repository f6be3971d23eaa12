//! ELF notes of a dump (`PT_NOTE` segments of an ELF vmcore, the note area of
//! a kdump-compressed file): `CORE`/`NT_PRSTATUS` per CPU, `VMCOREINFO`,
//! qemu's `QEMU` CPU state, and whatever else, kept raw.

use super::error::DumpError;
use std::path::Path;

/// `n_type` of the per-CPU register notes.
pub const NT_PRSTATUS: u32 = 1;
/// Name of the VMCOREINFO note.
pub const VMCOREINFO_NOTE: &str = "VMCOREINFO";
/// Name of the note (`n_type` 0) in which makedumpfile's ELF outputs keep
/// their erase information.
pub const ERASEINFO_NOTE: &str = "ERASEINFO";

/// One ELF note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The name without its terminating NUL (`CORE`, `VMCOREINFO`, `QEMU`...).
    pub name: String,
    /// `n_type`.
    pub ntype: u32,
    /// The descriptor bytes.
    pub desc: Vec<u8>,
}

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

fn align4(n: usize) -> Option<usize> {
    n.checked_add(3).map(|v| v & !3)
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Parses the notes in `data` (from `what` at file offset `file_offset`).
/// A zeroed note header ends the list (the kernel pads merged note
/// segments with zeros).
pub(crate) fn parse_notes(
    data: &[u8],
    path: &Path,
    what: &str,
    file_offset: u64,
) -> Result<Vec<Note>, DumpError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while data.len() - pos >= 12 {
        let namesz = le_u32(data, pos) as usize;
        let descsz = le_u32(data, pos + 4) as usize;
        let ntype = le_u32(data, pos + 8);
        if namesz == 0 && descsz == 0 && ntype == 0 {
            break;
        }
        let invalid = |detail: String| DumpError::Invalid {
            path: path.to_path_buf(),
            what: format!(
                "note #{} of {what} (file offset {:#x})",
                out.len(),
                file_offset + pos as u64
            ),
            detail,
        };
        let name_at = pos + 12;
        let desc_at = align4(name_at + namesz)
            .ok_or_else(|| invalid(format!("name size {namesz} is absurd")))?;
        let end = desc_at
            .checked_add(descsz)
            .and_then(align4)
            .ok_or_else(|| invalid(format!("descriptor size {descsz} is absurd")))?;
        if desc_at + descsz > data.len() {
            return Err(invalid(format!(
                "name ({namesz} bytes) and descriptor ({descsz} bytes) run past the end of the \
                 {} bytes of notes",
                data.len()
            )));
        }
        let name = &data[name_at..name_at + namesz];
        let name = name.split(|&b| b == 0).next().unwrap_or_default();
        out.push(Note {
            name: String::from_utf8_lossy(name).into_owned(),
            ntype,
            desc: data[desc_at..desc_at + descsz].to_vec(),
        });
        pos = end.min(data.len());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(name: &str, ty: u32, desc: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&(name.len() as u32 + 1).to_le_bytes());
        v.extend_from_slice(&(desc.len() as u32).to_le_bytes());
        v.extend_from_slice(&ty.to_le_bytes());
        v.extend_from_slice(name.as_bytes());
        v.push(0);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v.extend_from_slice(desc);
        while v.len() % 4 != 0 {
            v.push(0);
        }
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
