//! `hwc check` on every real dump: the findings, pointing at the dump's
//! lines, as a reviewed snapshot per file (re-generate with
//! `INSTA_UPDATE=always cargo test --test corpus_check` when lints change,
//! then read every snapshot).

use std::path::PathBuf;
use std::process::Command;

fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("HWC_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/corpus/real"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "!!! SKIPPED: no corpus at {} (set HWC_CORPUS)",
            dir.display()
        );
        None
    }
}

#[test]
fn check_findings_on_every_corpus_dump() {
    let Some(dir) = corpus_dir() else { return };
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("readable corpus")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("tables-save"))
        .collect();
    names.sort();
    assert!(!names.is_empty());
    for name in names {
        // Run in the corpus directory with a relative path, so snapshots
        // do not depend on where the corpus lives.
        let out = Command::new(env!("CARGO_BIN_EXE_hwc"))
            .current_dir(&dir)
            .args(["check", &name])
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .output()
            .expect("hwc runs");
        let code = out.status.code().unwrap_or(-1);
        assert!(code == 0 || code == 1, "{name}: exit {code}");
        let body = format!(
            "$ hwc check {name}\nexit: {code}\n--- stdout\n{}--- stderr\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        insta::with_settings!({ omit_expression => true }, {
            insta::assert_snapshot!(name.replace('.', "_"), body);
        });
    }
}
