//! Real Debian kernels as test fixtures, made by `scripts/fixtures.sh`.
//!
//! A test that needs a kernel calls [`kernel`]; when the fixture is missing
//! it runs the script (which downloads and extracts Debian's current
//! packages; concurrent callers wait on its lock) and fails loudly if that
//! does not work. Nothing is skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The Debian suites whose kernels are fixtures: bookworm (6.1), trixie
/// (6.12) and sid, the newest kernel Debian ships, whatever its version.
pub const SUITES: [&str; 3] = ["bookworm", "trixie", "sid"];

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Where fixtures live: `FIXTURES_DIR`, else `scripts/fixtures.sh`'s default
/// cache outside the checkout (`$XDG_CACHE_HOME` or `~/.cache`, then
/// `ktype-fixtures`), so that a fresh clone reuses what was built before.
pub fn fixtures_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FIXTURES_DIR") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .expect("neither FIXTURES_DIR, XDG_CACHE_HOME nor HOME is set");
    cache.join("ktype-fixtures")
}

static SCRIPT_LOCK: Mutex<()> = Mutex::new(());

/// Runs `scripts/fixtures.sh ARGS` unless `marker` exists; panics with the
/// script's output if it fails.
pub fn ensure(marker: &Path, args: &[&str]) {
    if marker.exists() {
        return;
    }
    let _guard = SCRIPT_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if marker.exists() {
        return;
    }
    let script = repo_root().join("scripts/fixtures.sh");
    let out = Command::new("bash")
        .arg(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success() && marker.exists(),
        "{} {} failed ({}):\n{}\n{}",
        script.display(),
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One Debian kernel package, extracted.
#[derive(Debug, Clone)]
pub struct Kernel {
    /// A suite of [`SUITES`].
    pub suite: &'static str,
    /// `<fixtures>/kernels/<suite>`.
    pub dir: PathBuf,
}

impl Kernel {
    /// The ELF vmlinux with `.BTF`.
    pub fn vmlinux(&self) -> PathBuf {
        self.dir.join("vmlinux")
    }
    /// The `-dbg` package's vmlinux, with DWARF (for drgn and crash).
    pub fn vmlinux_dbg(&self) -> PathBuf {
        self.dir.join("vmlinux-dbg")
    }
    /// The package's real `System.map`.
    pub fn system_map(&self) -> PathBuf {
        self.dir.join("System.map")
    }
    /// A module file (`NAME.ko`; trixie also keeps `NAME.ko.xz`).
    pub fn module(&self, name: &str) -> PathBuf {
        self.dir.join("modules").join(format!("{name}.ko"))
    }
    /// A module as shipped, compressed (`NAME.ko.xz`), when the suite ships them so.
    pub fn module_xz(&self, name: &str) -> Option<PathBuf> {
        Some(self.dir.join("modules").join(format!("{name}.ko.xz"))).filter(|p| p.exists())
    }
    /// The kernel release string (e.g. for messages; never put it in snapshots).
    pub fn release(&self) -> String {
        std::fs::read_to_string(self.dir.join("release"))
            .unwrap_or_default()
            .trim()
            .to_string()
    }
}

/// The fixture kernel of `suite`, fetched first if needed.
pub fn kernel(suite: &'static str) -> Kernel {
    let dir = fixtures_dir().join("kernels").join(suite);
    ensure(&dir.join(".complete"), &["kernels", suite]);
    Kernel { suite, dir }
}

/// Every fixture kernel.
pub fn kernels() -> Vec<Kernel> {
    SUITES.iter().map(|s| kernel(s)).collect()
}

/// makedumpfile from Debian sid (1.7.8 or newer, with lzo and zstd), run
/// through sid's own loader and libraries (`scripts/fixtures.sh tools`
/// makes the wrapper; made first if missing).
pub fn makedumpfile_sid() -> PathBuf {
    let dir = fixtures_dir().join("tools/makedumpfile-sid");
    ensure(&dir.join(".complete"), &["tools"]);
    dir.join("makedumpfile")
}

/// sid's arm64 makedumpfile (1.7.8 or newer), run under `qemu-aarch64-static`
/// with its own libraries (`scripts/fixtures.sh arm64` makes the wrapper;
/// made first if missing): the anchor on arm64 dumps.
pub fn makedumpfile_sid_arm64() -> PathBuf {
    let dir = fixtures_dir().join("tools/makedumpfile-sid-arm64");
    ensure(&dir.join(".complete"), &["arm64"]);
    dir.join("makedumpfile")
}

/// Runs a tool and returns its stdout; panics with stderr when it fails.
pub fn run_tool(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run {cmd} (install it with scripts/fixtures.sh tools): {e}")
    });
    assert!(
        out.status.success(),
        "{cmd} {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("tool output is UTF-8")
}

// ---------------------------------------------------------------------------
// vmcores: crash dumps of the fixture kernels (for the dump readers' tests)
// ---------------------------------------------------------------------------

/// One guest's crash dumps in every format, made by `scripts/fixtures.sh
/// vmcores` (768 MiB guest; see `scripts/README.md`).
#[derive(Debug, Clone)]
pub struct Vmcore {
    /// A suite of [`SUITES`].
    pub suite: &'static str,
    /// `<fixtures>/vmcores/<suite>`.
    pub dir: PathBuf,
}

impl Vmcore {
    /// qemu `dump-guest-memory` ELF (program headers after a section header).
    pub fn elf(&self) -> PathBuf {
        self.dir.join("vmcore.elf")
    }
    /// kdump-compressed, zlib (qemu's, reassembled by `makedumpfile -R`).
    pub fn kdump_zlib(&self) -> PathBuf {
        self.dir.join("vmcore.kdump-zlib")
    }
    /// The same in makedumpfile's flattened format, as qemu wrote it.
    pub fn kdump_zlib_flat(&self) -> PathBuf {
        self.dir.join("vmcore.kdump-zlib.flat")
    }
    /// kdump-compressed, LZO (`makedumpfile -l -d 0`).
    pub fn kdump_lzo(&self) -> PathBuf {
        self.dir.join("vmcore.kdump-lzo")
    }
    /// A copy of [`Vmcore::elf`] that makedumpfile can read (it ignores
    /// `e_phoff`; `scripts/normalize_elf.py` moves the program headers right
    /// after the ELF header). Made once per dump, atomically, and remade when
    /// the dump is newer.
    pub fn normalised_elf(&self) -> PathBuf {
        let dir = repo_root().join("target/normalised");
        std::fs::create_dir_all(&dir).expect("mkdir target/normalised");
        let out = dir.join(format!("{}.norm.elf", self.suite));
        let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        if !out.exists() || mtime(&out) < mtime(&self.elf()) {
            let tmp = dir.join(format!(
                "{}.norm.elf.{}.tmp",
                self.suite,
                std::process::id()
            ));
            let st = Command::new("python3")
                .arg(repo_root().join("scripts/normalize_elf.py"))
                .arg(self.elf())
                .arg(&tmp)
                .status()
                .expect("run python3");
            assert!(
                st.success(),
                "normalize_elf.py failed for {}",
                self.elf().display()
            );
            std::fs::rename(&tmp, &out).expect("rename the normalised copy into place");
        }
        out
    }

    /// A `key=value` of the fixture's `info` file.
    pub fn info(&self, key: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.dir.join("info")).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_string)
    }
}

/// The 768 MiB vmcores of `suite`, made first if needed.
pub fn vmcore(suite: &'static str) -> Vmcore {
    let dir = fixtures_dir().join("vmcores").join(suite);
    ensure(&dir.join(".complete"), &["vmcores", suite]);
    Vmcore { suite, dir }
}

/// Suites whose arm64 kernels have dumps (`scripts/fixtures.sh arm64`).
pub const ARM64_SUITES: [&str; 3] = ["bookworm", "trixie", "sid"];

/// The arm64 dumps of `suite` (Debian's linux-image-arm64 booted in
/// qemu-system-aarch64, 1 GiB, the same workload), made first if needed:
/// `vmcores/<suite>-arm64`. Their `info` says `anchor=yes` when the arm64
/// makedumpfile reads them (then `vmcore.kdump-lzo` and `dmesg.txt` exist),
/// else why not.
pub fn vmcore_arm64(suite: &'static str) -> Vmcore {
    let name: &'static str = match suite {
        "bookworm" => "bookworm-arm64",
        "trixie" => "trixie-arm64",
        "sid" => "sid-arm64",
        other => panic!("no arm64 fixture suite {other}"),
    };
    let dir = fixtures_dir().join("vmcores").join(name);
    ensure(&dir.join(".complete"), &["arm64", suite]);
    Vmcore { suite: name, dir }
}

/// The `-dbg` package's vmlinux (DWARF) of `suite`'s arm64 kernel,
/// `kernels/<suite>-arm64/vmlinux-dbg` (for pahole and drgn): the package
/// of the exact version of the image package there, fetched first if
/// needed (`scripts/fixtures.sh arm64 SUITE`; its marker is
/// `.vmlinux-dbg.complete`, next to the kernel's own).
pub fn arm64_vmlinux_dbg(suite: &'static str) -> PathBuf {
    assert!(
        ARM64_SUITES.contains(&suite),
        "no arm64 fixture suite {suite}"
    );
    let dir = fixtures_dir()
        .join("kernels")
        .join(format!("{suite}-arm64"));
    ensure(&dir.join(".vmlinux-dbg.complete"), &["arm64", suite]);
    dir.join("vmlinux-dbg")
}

/// The dumps of `suite`'s arm64 kernel on a CPU without FEAT_LPA2
/// (`vmcores/<suite>-arm64-nolpa2`), as most arm64 servers run it: `Some`
/// exactly when the kernel is built for 52-bit addresses with 4 KiB pages
/// (its config says so), for which `scripts/fixtures.sh arm64` makes them.
pub fn vmcore_arm64_without_lpa2(suite: &'static str) -> Option<Vmcore> {
    let base = vmcore_arm64(suite);
    let config =
        std::fs::read_to_string(fixtures_dir().join(format!("kernels/{suite}-arm64/config")))
            .unwrap_or_else(|e| panic!("{suite}: the arm64 kernel's config: {e}"));
    let lpa2 = ["CONFIG_ARM64_VA_BITS_52=y", "CONFIG_ARM64_4K_PAGES=y"]
        .iter()
        .all(|want| config.lines().any(|l| l == *want));
    if !lpa2 {
        return None;
    }
    let name: &'static str = match base.suite {
        "trixie-arm64" => "trixie-arm64-nolpa2",
        "sid-arm64" => "sid-arm64-nolpa2",
        "bookworm-arm64" => "bookworm-arm64-nolpa2",
        other => panic!("no arm64 fixture {other}"),
    };
    let dir = fixtures_dir().join("vmcores").join(name);
    ensure(&dir.join(".complete"), &["arm64", suite]);
    Some(Vmcore { suite: name, dir })
}

/// Every arm64 dump: each suite's, and its [`vmcore_arm64_without_lpa2`]
/// where it has one.
pub fn arm64_vmcores() -> Vec<Vmcore> {
    ARM64_SUITES
        .iter()
        .flat_map(|&s| std::iter::once(vmcore_arm64(s)).chain(vmcore_arm64_without_lpa2(s)))
        .collect()
}

// ---------------------------------------------------------------------------
// crash: a second debugger that must open every output
// ---------------------------------------------------------------------------

/// crash from Debian trixie (8.0.6 or newer), run through trixie's own
/// loader and libraries (`scripts/fixtures.sh tools` makes the wrapper;
/// made first if missing).
pub fn crash() -> PathBuf {
    let dir = fixtures_dir().join("tools/crash-trixie");
    ensure(&dir.join(".complete"), &["tools"]);
    dir.join("crash")
}

static CRASH_VMLINUX_LOCK: Mutex<()> = Mutex::new(());

/// [`Kernel::vmlinux_dbg`] with a `.gdb_index` section added, for crash:
/// the same DWARF, but crash's gdb finds types through the index instead of
/// scanning every compile unit, which makes its start-up 2-3 times faster.
/// Made once per kernel in `target/crash-vmlinux/` with the host's gdb
/// (`save gdb-index`) and objcopy, atomically, and remade when the kernel's
/// vmlinux is newer.
pub fn crash_vmlinux(k: &Kernel) -> PathBuf {
    let _guard = CRASH_VMLINUX_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let src = k.vmlinux_dbg();
    let dir = repo_root().join("target/crash-vmlinux");
    let out = dir.join(format!("{}.vmlinux", k.suite));
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    assert!(
        src.exists(),
        "{} missing (scripts/fixtures.sh kernels {})",
        src.display(),
        k.suite
    );
    if out.exists() && mtime(&out) >= mtime(&src) {
        return out;
    }
    let tmp = dir.join(format!("{}.{}.tmp", k.suite, std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("mkdir {}: {e}", tmp.display()));
    let save = format!("save gdb-index {}", tmp.display());
    let st = Command::new("gdb")
        .args(["-batch", "-nx", "-ex", &save])
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("cannot run gdb (scripts/fixtures.sh tools): {e}"));
    let index = tmp.join(format!(
        "{}.gdb-index",
        src.file_name().unwrap().to_string_lossy()
    ));
    assert!(
        st.status.success() && index.exists(),
        "gdb save gdb-index of {} failed: {}",
        src.display(),
        String::from_utf8_lossy(&st.stderr)
    );
    let copy = tmp.join("vmlinux");
    let section = format!(".gdb_index={}", index.display());
    let st = Command::new("objcopy")
        .args(["--add-section", &section])
        .args(["--set-section-flags", ".gdb_index=readonly"])
        .arg(&src)
        .arg(&copy)
        .output()
        .unwrap_or_else(|e| panic!("cannot run objcopy: {e}"));
    assert!(
        st.status.success(),
        "objcopy --add-section .gdb_index {} failed: {}",
        src.display(),
        String::from_utf8_lossy(&st.stderr)
    );
    std::fs::rename(&copy, &out).expect("rename the indexed vmlinux into place");
    std::fs::remove_dir_all(&tmp).ok();
    out
}
