//! The project's shell scripts run under `set -o pipefail`. There, a pipeline whose reader stops
//! early (`head`, `grep -q`, `grep -m`, an awk program that calls `exit`) fails with SIGPIPE
//! (exit 141) whenever the writer happens to write after the reader has gone: a failure that
//! depends on output size and scheduling (CI once lost the trixie fixture build to
//! `readelf | awk '{... exit}'`, whose 4.5 KB output took two writes). This test keeps such
//! readers out of pipelines; `scripts/fixtures.sh` has `first` and `matches` for the purpose.

use std::fs;
use std::path::Path;

use ktype_tests::fixtures::repo_root;

/// Readers that may stop before the end of their input, as they appear after a `|`.
const EARLY_READERS: &[&str] = &[
    "head",
    "grep -q",
    "grep -m",
    "grep -l",
    "sed -n 1p",
    "tail -n +",
];

/// The problems of one line of a script: early readers fed by a pipe.
fn problems(line: &str) -> Vec<String> {
    let code = line.split(" #").next().unwrap_or("");
    if code.trim_start().starts_with('#') {
        return Vec::new();
    }
    let mut found = Vec::new();
    // Every stage after a pipe (not `||`).
    let stages: Vec<&str> = code.split('|').collect();
    for (i, stage) in stages.iter().enumerate().skip(1) {
        if stages[i - 1].is_empty() || stage.is_empty() {
            continue; // part of `||`
        }
        let stage = stage.trim_start();
        for reader in EARLY_READERS {
            if stage.starts_with(reader) {
                found.push(format!("`{reader}` reads a pipe"));
            }
        }
        if stage.starts_with("awk") && (stage.contains("exit}") || stage.contains("exit }")) {
            found.push("awk that calls `exit` reads a pipe".to_string());
        }
    }
    found
}

fn shell_scripts(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        let is_shell = path.extension().is_some_and(|e| e == "sh")
            || path.file_name().is_some_and(|n| n == "run");
        if path.is_file() && is_shell {
            out.push(path);
        }
    }
}

#[test]
fn the_lint_sees_the_pipelines_it_is_meant_to_catch() {
    assert!(!problems("x=$(readelf -SW f | awk '{print $2; exit}')").is_empty());
    assert!(!problems("ls d | head -1").is_empty());
    assert!(!problems("cmd | grep -q foo && echo yes").is_empty());
    assert!(problems("grep -q foo file || die oops").is_empty());
    assert!(problems("cmd | first 20 || true").is_empty());
    assert!(problems("head -c 4 \"$out\" | od -An -tx1").is_empty());
}

#[test]
fn scripts_have_no_readers_that_stop_early_in_pipelines() {
    let root = repo_root();
    let mut scripts = Vec::new();
    for dir in ["scripts", "bench", ".ci"] {
        shell_scripts(&root.join(dir), &mut scripts);
    }
    assert!(
        scripts.len() >= 5,
        "found only {scripts:?} under scripts/, bench/, .ci/"
    );
    let mut report = Vec::new();
    for script in &scripts {
        let text = fs::read_to_string(script).expect("read script");
        for (n, line) in text.lines().enumerate() {
            for problem in problems(line) {
                report.push(format!(
                    "{}:{}: {problem}: {}",
                    script.display(),
                    n + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}
