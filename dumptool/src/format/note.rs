//! ELF notes, the one encoder and decoder: the `PT_NOTE` segment of an ELF
//! vmcore and the note area of a kdump-compressed file both hold them. A
//! note is an [`object::elf::NoteHeader64`] (`n_namesz`, `n_descsz`,
//! `n_type`), the name with its NUL, padded to 4 bytes, then the
//! descriptor, padded to 4 bytes.
//!
//! ```
//! use dumptool::format::note::{parse_notes, push_note, NT_PRSTATUS};
//! let mut area = Vec::new();
//! push_note(&mut area, "CORE", NT_PRSTATUS, &[1, 2, 3]);
//! let at = push_note(&mut area, "VMCOREINFO", 0, b"OSRELEASE=6.1\n");
//! assert_eq!(&area[at..at + 14], b"OSRELEASE=6.1\n");
//! let notes = parse_notes(&area).unwrap();
//! assert_eq!((notes[0].name.as_str(), notes[0].desc.len()), ("CORE", 3));
//! assert_eq!(notes[1].name, "VMCOREINFO");
//! ```

use object::elf::NoteHeader64;
use object::LittleEndian as LE;

/// `n_type` of the per-CPU register notes.
pub const NT_PRSTATUS: u32 = object::elf::NT_PRSTATUS;
/// Name of the VMCOREINFO note.
pub const VMCOREINFO_NOTE: &str = "VMCOREINFO";
/// Name of the note (`n_type` 0) in which makedumpfile's ELF outputs keep
/// their erase information.
pub const ERASEINFO_NOTE: &str = "ERASEINFO";

const NOTE_HEADER_SIZE: usize = std::mem::size_of::<NoteHeader64<LE>>();

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

/// What is wrong with a note [`parse_notes`] refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteError {
    /// Its index in the note area.
    pub index: usize,
    /// Where its header starts in the note area.
    pub offset: usize,
    /// What is wrong.
    pub detail: String,
}

fn align4(n: usize) -> Option<usize> {
    n.checked_add(3).map(|v| v & !3)
}

/// Appends one note to `out` (4-byte aligned; an empty name has
/// `n_namesz` 0); returns the offset of its descriptor in `out`.
pub fn push_note(out: &mut Vec<u8>, name: &str, ntype: u32, desc: &[u8]) -> usize {
    let namesz = if name.is_empty() { 0 } else { name.len() + 1 };
    let header = NoteHeader64 {
        n_namesz: object::U32::new(LE, namesz as u32),
        n_descsz: object::U32::new(LE, desc.len() as u32),
        n_type: object::U32::new(LE, ntype),
    };
    out.extend_from_slice(object::pod::bytes_of(&header));
    out.extend_from_slice(name.as_bytes());
    if namesz > 0 {
        out.push(0);
    }
    out.resize(out.len().next_multiple_of(4), 0);
    let at = out.len();
    out.extend_from_slice(desc);
    out.resize(out.len().next_multiple_of(4), 0);
    at
}

/// Parses the notes in `data`. A zeroed note header ends the list (the
/// kernel pads merged note segments with zeros), as does a tail too short
/// for a header.
pub fn parse_notes(data: &[u8]) -> Result<Vec<Note>, NoteError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while let Ok((h, _)) = object::pod::from_bytes::<NoteHeader64<LE>>(&data[pos..]) {
        let namesz = h.n_namesz.get(LE) as usize;
        let descsz = h.n_descsz.get(LE) as usize;
        let ntype = h.n_type.get(LE);
        if namesz == 0 && descsz == 0 && ntype == 0 {
            break;
        }
        let invalid = |detail: String| NoteError {
            index: out.len(),
            offset: pos,
            detail,
        };
        let name_at = pos + NOTE_HEADER_SIZE;
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

    #[test]
    fn encoded_notes_are_aligned_and_parse_back() {
        let mut b = Vec::new();
        let at = push_note(&mut b, "CORE", 1, &[1, 2, 3, 4, 5]);
        assert_eq!(at, 12 + 8);
        assert_eq!(b.len() % 4, 0);
        push_note(&mut b, "", 7, b"x");
        push_note(&mut b, "QEMU", 0, &[]);
        let n = parse_notes(&b).unwrap();
        assert_eq!(n.len(), 3);
        assert_eq!(n[0].desc, [1, 2, 3, 4, 5]);
        assert_eq!((n[1].name.as_str(), n[1].ntype), ("", 7));
        assert_eq!(n[2].name, "QEMU");
        // Zero padding after the notes ends the list.
        b.extend([0u8; 24]);
        assert_eq!(parse_notes(&b).unwrap().len(), 3);
    }

    #[test]
    fn overlong_sizes_are_errors() {
        let mut data = Vec::new();
        push_note(&mut data, "CORE", 1, &[0; 16]);
        data[4] = 200; // descsz
        let e = parse_notes(&data).unwrap_err();
        assert_eq!((e.index, e.offset), (0, 0));
        assert!(e.detail.contains("run past the end"), "{}", e.detail);
    }
}
