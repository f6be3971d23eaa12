//! Where BTF bytes come from: raw files, ELF `.BTF` sections (plain or xz),
//! and bytes in memory. Files are memory-mapped, so nothing is copied.

use super::error::{BtfError, Result};
use super::Btf;
use object::{Object, ObjectSection};
use std::fs::File;
use std::ops::{Deref, Range};
use std::path::Path;
use std::sync::Arc;

/// The bytes a [`Btf`] reads from.
pub(crate) enum Storage {
    Owned(Vec<u8>),
    Mapped(memmap2::Mmap),
    Static(&'static [u8]),
    /// Bytes someone else owns, e.g. a window of a memory-mapped crash dump.
    Shared(Box<dyn AsRef<[u8]> + Send + Sync>),
}

impl Deref for Storage {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Storage::Owned(v) => v,
            Storage::Mapped(m) => m,
            Storage::Static(s) => s,
            Storage::Shared(b) => (**b).as_ref(),
        }
    }
}

const ELF_MAGIC: &[u8] = b"\x7fELF";
const XZ_MAGIC: &[u8] = b"\xfd7zXZ\x00";

fn is_btf_magic(b: &[u8]) -> bool {
    matches!(b, [0x9f, 0xeb, ..] | [0xeb, 0x9f, ..])
}

fn load(path: &Path) -> Result<Storage> {
    let io = |source| BtfError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len == 0 {
        return Ok(Storage::Owned(Vec::new()));
    }
    // A private read-only map: sysfs BTF files (kernel 6.16+) refuse shared ones.
    #[allow(unsafe_code)]
    // SAFETY: memmap2's map is `unsafe` because another process could
    // truncate or rewrite the file under us; we accept that documented risk
    // for read-only inputs (BTF files are written once), as every mmap-based
    // reader does.
    let mapped = unsafe {
        memmap2::MmapOptions::new()
            .populate()
            .map_copy_read_only(&file)
    };
    match mapped {
        Ok(map) => Ok(Storage::Mapped(map)),
        // sysfs files (/sys/kernel/btf/*) can be mapped only on newer kernels: read them.
        Err(_) => std::fs::read(path).map(Storage::Owned).map_err(io),
    }
}

/// Finds `.BTF` in an ELF image and returns its byte range.
fn elf_btf_range(origin: &str, bytes: &[u8]) -> Result<Range<usize>> {
    let elf = |what: String| BtfError::Elf {
        origin: origin.to_string(),
        what,
    };
    let obj = object::File::parse(bytes).map_err(|e| elf(format!("unreadable ELF: {e}")))?;
    let sec = obj.section_by_name(".BTF").ok_or_else(|| {
        elf("ELF file has no .BTF section (kernel built without CONFIG_DEBUG_INFO_BTF?)".into())
    })?;
    let (off, size) = sec
        .file_range()
        .ok_or_else(|| elf(".BTF section has no file data".into()))?;
    let start = usize::try_from(off).map_err(|_| elf(".BTF offset too large".into()))?;
    let end = usize::try_from(size)
        .ok()
        .and_then(|s| start.checked_add(s))
        .filter(|&e| e <= bytes.len());
    let end = end.ok_or_else(|| {
        elf(format!(
            ".BTF section {off:#x}+{size:#x} runs past the end of the file"
        ))
    })?;
    Ok(start..end)
}

fn xz_decompress(origin: &str, bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    lzma_rs::xz_decompress(&mut &bytes[..], &mut out).map_err(|e| BtfError::Elf {
        origin: origin.to_string(),
        what: format!("xz decompression failed: {e}"),
    })?;
    Ok(out)
}

/// Locates the BTF blob inside `storage` (raw, ELF, or xz-compressed ELF).
fn locate(origin: &str, storage: Storage) -> Result<(Storage, Range<usize>)> {
    if is_btf_magic(&storage) {
        let r = 0..storage.len();
        return Ok((storage, r));
    }
    if storage.starts_with(ELF_MAGIC) {
        let r = elf_btf_range(origin, &storage)?;
        return Ok((storage, r));
    }
    if storage.starts_with(XZ_MAGIC) {
        let plain = xz_decompress(origin, &storage)?;
        if !plain.starts_with(ELF_MAGIC) {
            return Err(BtfError::Elf {
                origin: origin.to_string(),
                what: "xz payload is not an ELF file".into(),
            });
        }
        let r = elf_btf_range(origin, &plain)?;
        return Ok((Storage::Owned(plain), r));
    }
    Err(BtfError::UnknownFormat {
        origin: origin.to_string(),
    })
}

impl Btf {
    /// Opens base BTF (vmlinux's) from a raw BTF file, an ELF file with a
    /// `.BTF` section, or an xz-compressed ELF; the format is detected.
    pub fn open(path: impl AsRef<Path>) -> Result<Btf> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let (storage, range) = locate(&origin, load(path)?)?;
        Btf::parse(origin, storage, range, None)
    }

    /// Opens split BTF (a module's, e.g. `/sys/kernel/btf/ext4` or a `.ko`)
    /// on top of `base`.
    pub fn open_split(path: impl AsRef<Path>, base: Arc<Btf>) -> Result<Btf> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let (storage, range) = locate(&origin, load(path)?)?;
        Btf::parse(origin, storage, range, Some(base))
    }

    /// Parses BTF held in memory (raw BTF, or an ELF image with `.BTF`);
    /// `origin` names it in errors (e.g. `"vmcore: __start_BTF"`).
    pub fn from_bytes(bytes: Vec<u8>, origin: impl Into<String>) -> Result<Btf> {
        let origin = origin.into();
        let (storage, range) = locate(&origin, Storage::Owned(bytes))?;
        Btf::parse(origin, storage, range, None)
    }

    /// Like [`Btf::from_bytes`] for split BTF on top of `base`.
    pub fn from_bytes_split(
        bytes: Vec<u8>,
        origin: impl Into<String>,
        base: Arc<Btf>,
    ) -> Result<Btf> {
        let origin = origin.into();
        let (storage, range) = locate(&origin, Storage::Owned(bytes))?;
        Btf::parse(origin, storage, range, Some(base))
    }

    /// Parses BTF held by `bytes` without copying it: any owner of bytes,
    /// such as the window of a memory-mapped dump where the kernel's own
    /// BTF lies (so a filter never copies several MiB of BTF).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use ktype_runtime::btf::Btf;
    /// use std::sync::Arc;
    /// let path = "/sys/kernel/btf/vmlinux";
    /// # if !std::path::Path::new(path).exists() { return Ok(()); }
    /// let shared: Arc<[u8]> = std::fs::read(path)?.into();
    /// let btf = Btf::from_shared(shared, path)?;
    /// assert!(btf.own_type_count() > 0);
    /// # Ok(()) }
    /// ```
    pub fn from_shared(
        bytes: impl AsRef<[u8]> + Send + Sync + 'static,
        origin: impl Into<String>,
    ) -> Result<Btf> {
        let origin = origin.into();
        let (storage, range) = locate(&origin, Storage::Shared(Box::new(bytes)))?;
        Btf::parse(origin, storage, range, None)
    }

    /// Parses BTF from a static byte slice without copying it.
    pub fn from_static(bytes: &'static [u8], origin: impl Into<String>) -> Result<Btf> {
        let origin = origin.into();
        let (storage, range) = locate(&origin, Storage::Static(bytes))?;
        Btf::parse(origin, storage, range, None)
    }
}
