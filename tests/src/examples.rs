//! The example tools of `examples/` (a crate outside the workspace, as a
//! user's own tool is): built once per test process, in the workspace's
//! target folder so that dumptool's release build is shared.

use crate::drgn::Task;
use crate::fixtures::repo_root;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Builds `examples/` (release) on first use and returns the folder holding
/// its programs (`ps`, `peek`, `drop_process`).
pub fn built() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = repo_root();
        let target = root.join("target");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let st = Command::new(cargo)
            .args(["build", "--release", "--locked", "--manifest-path"])
            .arg(root.join("examples/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target)
            .status()
            .expect("run cargo");
        assert!(st.success(), "cargo build of examples/ failed: {st}");
        target.join("release")
    })
}

/// The path of example program `name`, built if need be.
pub fn program(name: &str) -> PathBuf {
    built().join(name)
}

/// The tasks `ps` printed (`{pid:>7} {ppid:>7} {state} {comm}` under a
/// `PID PPID S COMM` header), as drgn's task records, sorted; `Err` names
/// the line that is not one.
pub fn parse_ps(text: &str) -> Result<Vec<Task>, String> {
    let mut lines = text.lines();
    let header = lines
        .next()
        .map(|l| l.split_whitespace().collect::<Vec<_>>());
    if header != Some(vec!["PID", "PPID", "S", "COMM"]) {
        return Err(format!(
            "no PID PPID S COMM header: {:?}",
            text.lines().next()
        ));
    }
    let mut tasks = lines
        .map(|l| {
            let field = |r: std::ops::Range<usize>| {
                l.get(r)
                    .map(str::trim)
                    .ok_or_else(|| format!("short line {l:?}"))
            };
            let num = |s: &str| s.parse::<u64>().map_err(|e| format!("{l:?}: {e}"));
            Ok(Task {
                pid: num(field(0..7)?)?,
                ppid: num(field(8..15)?)?,
                state: field(16..17)?.chars().next().unwrap_or('?'),
                comm: l.get(18..).unwrap_or("").to_string(),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    tasks.sort();
    Ok(tasks)
}
