//! Crash-dump readers: open a vmcore in any of the formats the kernel,
//! makedumpfile and qemu write, and read its physical memory, VMCOREINFO and
//! ELF notes. Kernel virtual addresses are translated by [`crate::arch`].
//!
//! - [`Dump::open`] detects the format: ELF64 ([`elf`]), kdump-compressed
//!   ([`kdump`]) and makedumpfile's flattened format ([`flat`]) around
//!   either.
//! - [`Dump::phys`] reads physical memory. Memory a dump does not hold (a
//!   hole, a page the filter excluded, a page an incomplete dump lacks) is an
//!   error naming the address ([`DumpError::NotPresent`]), never zeros.
//! - [`KernelMemory`] (from [`crate::arch`]) reads kernel virtual memory
//!   through the dump's own page tables, x86_64 or arm64.
//!
//! Files are memory-mapped, never read whole; what is kept in memory does
//! not grow with the dump's size beyond its page bitmaps.
//!
//! ```no_run
//! use dumptool::dump::{Dump, KernelMemory};
//! let dump = Dump::open("vmcore")?;
//! let info = dump.vmcoreinfo().expect("the dump has VMCOREINFO");
//! println!("{:?} of {}", dump.format(), info.osrelease.as_deref().unwrap_or("?"));
//! let mem = KernelMemory::new(&dump)?;
//! let uts = mem.read_u64(info.symbol("init_uts_ns").unwrap())?;
//! # let _ = uts;
//! # Ok::<(), dumptool::dump::DumpError>(())
//! ```

mod bitmap;
pub mod codec;
pub mod elf;
mod error;
pub mod flat;
pub mod kdump;
pub mod notes;
pub mod source;
pub mod vmcoreinfo;

pub use crate::arch::KernelMemory;
pub use error::{Absence, DumpError};
pub use kdump::KdumpHeader;
pub use notes::{Note, Notes};
pub use vmcoreinfo::VmcoreInfo;

use elf::ElfReader;
use flat::FlatSource;
use kdump::KdumpReader;
use source::{MmapSource, Region, Source};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The file format of a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DumpFormat {
    /// ELF64 core (`/proc/vmcore`, `makedumpfile -E`, qemu `elf`).
    Elf,
    /// kdump-compressed (`KDUMP   `).
    Kdump,
    /// kdump-compressed inside makedumpfile's flattened format.
    FlattenedKdump,
    /// ELF64 inside makedumpfile's flattened format (`makedumpfile -E -F`).
    FlattenedElf,
}

impl DumpFormat {
    /// Whether the file is in the flattened format.
    pub fn is_flattened(self) -> bool {
        matches!(self, DumpFormat::FlattenedKdump | DumpFormat::FlattenedElf)
    }

    /// Whether the (reassembled) content is kdump-compressed.
    pub fn is_kdump(self) -> bool {
        matches!(self, DumpFormat::Kdump | DumpFormat::FlattenedKdump)
    }
}

/// What a dump holds for one page frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PageState {
    /// Stored in the dump.
    Present,
    /// Stored as the kdump shared zero page: reads as zeros, really.
    Zero,
    /// RAM the dump filter left out.
    Excluded,
    /// Not RAM, or outside what the dump describes.
    NotInDump,
    /// Meant to be in an incomplete dump, but missing.
    Incomplete,
}

impl PageState {
    /// Whether the page can be read ([`PageState::Present`] or
    /// [`PageState::Zero`]).
    pub fn is_readable(self) -> bool {
        matches!(self, PageState::Present | PageState::Zero)
    }
}

/// Physical memory of a dump.
pub trait PhysMemory: Send + Sync {
    /// Fills `buf` from physical address `paddr` (across pages). Memory the
    /// dump lacks is [`DumpError::NotPresent`] naming the first missing
    /// address.
    fn read_phys(&self, paddr: u64, buf: &mut [u8]) -> Result<(), DumpError>;
    /// The `len` bytes at `paddr` in place, without a copy, when the dump
    /// stores them contiguously in a mapped file (an ELF dump's segment);
    /// `None` otherwise (then [`PhysMemory::read_phys`] copies them).
    fn phys_region(&self, _paddr: u64, _len: usize) -> Option<Region> {
        None
    }
    /// What the dump holds for page frame `pfn`.
    fn page_state(&self, pfn: u64) -> PageState;
    /// The physical byte ranges the dump holds, sorted and disjoint
    /// (adjacent pieces merged).
    fn ranges(&self) -> Vec<Range<u64>>;
}

enum Reader {
    Elf(ElfReader),
    Kdump(Box<KdumpReader>),
}

/// An open crash dump.
pub struct Dump {
    path: PathBuf,
    format: DumpFormat,
    vmcoreinfo: Option<VmcoreInfo>,
    notes: Notes,
    eraseinfo: Vec<u8>,
    reader: Reader,
    page_size: u64,
    max_pfn: u64,
    machine: String,
}

impl std::fmt::Debug for Dump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dump")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("machine", &self.machine)
            .field("page_size", &self.page_size)
            .field("max_pfn", &self.max_pfn)
            .field("notes", &self.notes.len())
            .finish()
    }
}

/// First bytes of a source (up to 16).
fn head(src: &dyn Source) -> Vec<u8> {
    let n = src.len().min(16) as usize;
    src.bytes(0, n).map(|b| b.into_owned()).unwrap_or_default()
}

fn describe_head(head: &[u8]) -> String {
    if head.is_empty() {
        return "the file is empty".into();
    }
    let hex: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!(
        "it starts with {} (expected ELF `7f 45 4c 46`, `KDUMP   ` or `makedumpfile`)",
        hex.join(" ")
    )
}

impl Dump {
    /// Opens the dump at `path`, detecting its format.
    pub fn open(path: impl AsRef<Path>) -> Result<Dump, DumpError> {
        let path = path.as_ref();
        Dump::from_source(path, MmapSource::open(path)?)
    }

    /// A dump whose file content is already in memory (received over the
    /// network, cut out of something else, a fuzzer's input); `name` stands
    /// for the file in errors.
    ///
    /// ```
    /// use dumptool::dump::{Dump, DumpError};
    /// let e = Dump::from_bytes("not-a-dump", b"hello".to_vec()).unwrap_err();
    /// assert!(matches!(e, DumpError::UnknownFormat { .. }));
    /// assert!(e.to_string().contains("not-a-dump"));
    /// ```
    pub fn from_bytes(name: impl AsRef<Path>, bytes: Vec<u8>) -> Result<Dump, DumpError> {
        let path = name.as_ref();
        Dump::from_source(path, MmapSource::from_bytes(path, bytes))
    }

    fn from_source(path: &Path, file: MmapSource) -> Result<Dump, DumpError> {
        let first = head(&file);
        if flat::is_flattened(&first) {
            let flat = FlatSource::new(file)?;
            let inner = head(&flat);
            if elf::is_elf(&inner) {
                return Dump::open_elf(path, Box::new(flat), DumpFormat::FlattenedElf);
            }
            if kdump::is_kdump(&inner) {
                return Dump::open_kdump(path, Box::new(flat), DumpFormat::FlattenedKdump);
            }
            return Err(DumpError::UnknownFormat {
                path: path.to_path_buf(),
                detail: format!(
                    "flattened file whose reassembled content: {}",
                    describe_head(&inner)
                ),
            });
        }
        if elf::is_elf(&first) {
            return Dump::open_elf(path, Box::new(file), DumpFormat::Elf);
        }
        if kdump::is_kdump(&first) {
            return Dump::open_kdump(path, Box::new(file), DumpFormat::Kdump);
        }
        if first.starts_with(kdump::DISKDUMP_SIGNATURE) {
            return Err(DumpError::Unsupported {
                path: path.to_path_buf(),
                detail: "the old `DISKDUMP` format".into(),
            });
        }
        Err(DumpError::UnknownFormat {
            path: path.to_path_buf(),
            detail: describe_head(&first),
        })
    }

    fn parse_vmcoreinfo(text: Option<&[u8]>) -> Option<VmcoreInfo> {
        // Never fails: garbled lines become VmcoreInfo::warnings.
        text.map(VmcoreInfo::parse)
    }

    fn check_page_size(path: &Path, page_size: u64) -> Result<u64, DumpError> {
        if (512..=1 << 20).contains(&page_size) && page_size.is_power_of_two() {
            Ok(page_size)
        } else {
            Err(DumpError::Invalid {
                path: path.to_path_buf(),
                what: "VMCOREINFO PAGESIZE".into(),
                detail: format!("{page_size} is not a power of two between 512 and 1 MiB"),
            })
        }
    }

    fn open_elf(path: &Path, src: Box<dyn Source>, format: DumpFormat) -> Result<Dump, DumpError> {
        let (mut reader, notes) = ElfReader::open(src)?;
        let notes = Notes::new(notes);
        let vmcoreinfo = Dump::parse_vmcoreinfo(notes.vmcoreinfo());
        let page_size = match vmcoreinfo.as_ref().and_then(|v| v.page_size) {
            Some(p) => Dump::check_page_size(path, p)?,
            None => 4096,
        };
        reader.set_page_size(page_size);
        let max_pfn = reader.phys_end().div_ceil(page_size);
        let m = reader.machine();
        let machine = crate::arch::Arch::from_elf_machine(m)
            .map(|a| a.machine().to_string())
            .unwrap_or_else(|| format!("ELF machine {m}"));
        Ok(Dump {
            path: path.to_path_buf(),
            format,
            vmcoreinfo,
            eraseinfo: notes.eraseinfo().map(<[u8]>::to_vec).unwrap_or_default(),
            notes,
            reader: Reader::Elf(reader),
            page_size,
            max_pfn,
            machine,
        })
    }

    fn open_kdump(
        path: &Path,
        src: Box<dyn Source>,
        format: DumpFormat,
    ) -> Result<Dump, DumpError> {
        let (reader, extras) = KdumpReader::open(src)?;
        let notes = Notes::new(extras.notes);
        let vmcoreinfo = match extras.vmcoreinfo.as_deref() {
            Some(t) => Dump::parse_vmcoreinfo(Some(t)),
            None => Dump::parse_vmcoreinfo(notes.vmcoreinfo()),
        };
        let h = reader.header();
        let (page_size, max_pfn) = (u64::from(h.block_size), h.max_mapnr);
        // qemu writes "Unknown" (it does not know the guest's uname): then VMCOREINFO tells.
        let machine = match crate::arch::Arch::from_machine(&h.utsname.machine) {
            None => vmcoreinfo
                .as_ref()
                .and_then(crate::arch::Arch::from_vmcoreinfo)
                .map(|a| a.machine().to_string())
                .unwrap_or_else(|| h.utsname.machine.clone()),
            Some(_) => h.utsname.machine.clone(),
        };
        Ok(Dump {
            path: path.to_path_buf(),
            format,
            vmcoreinfo,
            notes,
            eraseinfo: extras.eraseinfo.unwrap_or_default(),
            reader: Reader::Kdump(Box::new(reader)),
            page_size,
            max_pfn,
            machine,
        })
    }

    /// The file format.
    pub fn format(&self) -> DumpFormat {
        self.format
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The parsed VMCOREINFO (from the kdump sub header or the ELF note).
    pub fn vmcoreinfo(&self) -> Option<&VmcoreInfo> {
        self.vmcoreinfo.as_ref()
    }

    /// The erase information a filter recorded: makedumpfile's text, one
    /// `erase SYMBOL[.member] size N` line per erased variable (from the
    /// kdump sub header, or an ELF dump's `ERASEINFO` note); empty when the
    /// dump was not filtered with erasures.
    pub fn eraseinfo(&self) -> &[u8] {
        &self.eraseinfo
    }

    /// The ELF notes (`NT_PRSTATUS` per CPU, VMCOREINFO, qemu's, ...).
    pub fn notes(&self) -> &Notes {
        &self.notes
    }

    /// The physical memory.
    pub fn phys(&self) -> &dyn PhysMemory {
        match &self.reader {
            Reader::Elf(r) => r,
            Reader::Kdump(r) => &**r,
        }
    }

    /// The page size (kdump `block_size`; for ELF VMCOREINFO's `PAGESIZE`,
    /// else 4096).
    pub fn page_size(&self) -> u64 {
        self.page_size
    }

    /// One past the highest page frame number the dump describes.
    pub fn max_pfn(&self) -> u64 {
        self.max_pfn
    }

    /// The dumped machine: `x86_64`, else what the file says.
    pub fn machine(&self) -> &str {
        &self.machine
    }

    /// The kdump headers, for a kdump-compressed dump.
    pub fn kdump_header(&self) -> Option<&KdumpHeader> {
        match &self.reader {
            Reader::Kdump(r) => Some(r.header()),
            Reader::Elf(_) => None,
        }
    }

    /// The kdump reader, for a kdump-compressed dump.
    pub fn kdump(&self) -> Option<&KdumpReader> {
        match &self.reader {
            Reader::Kdump(r) => Some(r),
            Reader::Elf(_) => None,
        }
    }

    /// The program headers, for an ELF dump.
    pub fn elf_segments(&self) -> Option<&[elf::ElfSegment]> {
        match &self.reader {
            Reader::Elf(r) => Some(r.segments()),
            Reader::Kdump(_) => None,
        }
    }

    /// Kernel virtual memory through this dump's page tables (x86_64).
    pub fn kernel_memory(&self) -> Result<KernelMemory<'_>, DumpError> {
        KernelMemory::new(self)
    }
}
