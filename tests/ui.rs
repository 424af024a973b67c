//! UI tests: every `tests/ui/<area>/<name>.hw` runs through the real `hwc`
//! binary and its output is compared with the snapshot
//! `tests/ui/<area>/snapshots/<name>.snap`.
//!
//! - A first line `#! ARGS` gives the command line; `{}` stands for the
//!   file's path, and words may be quoted with '...' or "..." (e.g.
//!   `#! trace --packet 'output udp uid 33 to 192.0.2.53 port 53 new' {}`).
//!   Without it the file is run as `check {}` and `check --format json {}`.
//! - Files whose name starts with `_` are not tests: other tests include
//!   them.
//! - hwc runs in the repository root with a relative path, `NO_COLOR=1` and
//!   no terminal, so snapshots are the same on every machine.
//! - One snapshot per file holds the source, each command, its exit code,
//!   stdout and stderr. Write new snapshots with
//!   `INSTA_UPDATE=always cargo test --test ui`, then read every one.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn ui() {
    let ui = root().join("tests/ui");
    let mut files = Vec::new();
    walk(&ui, &mut files);
    files.sort();
    assert!(!files.is_empty(), "no UI tests under {}", ui.display());

    let mut failed = Vec::new();
    for file in &files {
        let rel = relative(file);
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        if name.starts_with('_') {
            continue;
        }
        let body = match run_case(file, &rel) {
            Ok(body) => body,
            Err(e) => {
                eprintln!("{rel}: {e}");
                failed.push(rel);
                continue;
            }
        };
        let snapshots = file.parent().unwrap().join("snapshots");
        let outcome = std::panic::catch_unwind(|| {
            insta::with_settings!({
                snapshot_path => &snapshots,
                prepend_module_to_snapshot => false,
                omit_expression => true,
                input_file => file,
            }, {
                insta::assert_snapshot!(name.as_str(), body.as_str());
            });
        });
        if outcome.is_err() {
            failed.push(rel);
        }
    }
    let orphans = orphan_snapshots(&files);
    assert!(
        orphans.is_empty(),
        "snapshots without a test file (delete them): {orphans:?}"
    );
    assert!(
        failed.is_empty(),
        "UI tests that differ from their snapshot: {failed:#?}"
    );
}

/// Runs every command of one test file and lays out the snapshot body.
fn run_case(file: &Path, rel: &str) -> Result<String, String> {
    let source = std::fs::read_to_string(file).map_err(|e| format!("cannot read: {e}"))?;
    let commands: Vec<Vec<String>> = match source.lines().next().and_then(|l| l.strip_prefix("#!"))
    {
        Some(header) => vec![split_args(header)?
            .into_iter()
            .map(|w| w.replace("{}", rel))
            .collect()],
        None => vec![
            vec!["check".into(), rel.into()],
            vec!["check".into(), "--format".into(), "json".into(), rel.into()],
        ],
    };
    let mut body = format!("=== source {rel}\n{source}");
    if !source.ends_with('\n') {
        body.push('\n');
    }
    for args in commands {
        let out = Command::new(env!("CARGO_BIN_EXE_hwc"))
            .args(&args)
            .current_dir(root())
            .env("NO_COLOR", "1")
            .env_remove("COLUMNS")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("TERM")
            .output()
            .map_err(|e| format!("cannot run hwc: {e}"))?;
        body.push_str(&format!("\n=== hwc {}\n", args.join(" ")));
        body.push_str(&format!(
            "=== exit {}\n",
            out.status
                .code()
                .map_or("killed by a signal".to_string(), |c| c.to_string())
        ));
        for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            if bytes.is_empty() {
                body.push_str(&format!("=== {name}: empty\n"));
            } else {
                body.push_str(&format!("=== {name}\n{}", String::from_utf8_lossy(bytes)));
                if !bytes.ends_with(b"\n") {
                    body.push_str("\n=== (no newline at end)\n");
                }
            }
        }
    }
    Ok(body)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "hw") {
            out.push(p);
        }
    }
}

/// The path relative to the repository root, with `/` separators.
fn relative(file: &Path) -> String {
    file.strip_prefix(root())
        .unwrap_or(file)
        .to_string_lossy()
        .replace('\\', "/")
}

/// `.snap` files under `tests/ui` whose test file is gone.
fn orphan_snapshots(files: &[PathBuf]) -> Vec<String> {
    let mut snaps = Vec::new();
    walk_snaps(&root().join("tests/ui"), &mut snaps);
    snaps
        .into_iter()
        .filter(|snap| {
            let stem = snap.file_stem().unwrap_or_default();
            let area = snap.parent().and_then(Path::parent);
            !files
                .iter()
                .any(|f| f.file_stem() == Some(stem) && f.parent() == area)
        })
        .map(|p| relative(&p))
        .collect()
}

fn walk_snaps(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk_snaps(&p, out);
        } else if p.extension().is_some_and(|x| x == "snap") {
            out.push(p);
        }
    }
}

/// Splits a header into words like a shell: whitespace separates words,
/// '...' and "..." quote, a backslash escapes the next character outside
/// single quotes.
fn split_args(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(format!("unclosed ' in header `{s}`")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => word.extend(chars.next()),
                        Some(c) => word.push(c),
                        None => return Err(format!("unclosed \" in header `{s}`")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.extend(chars.next());
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[test]
fn header_words_split_like_a_shell() {
    assert_eq!(
        split_args(" trace --packet 'output udp uid 33' {} \"a \\\"b\\\"\" c\\ d ''").unwrap(),
        vec![
            "trace",
            "--packet",
            "output udp uid 33",
            "{}",
            "a \"b\"",
            "c d",
            ""
        ]
    );
    assert!(split_args("check 'open").is_err());
}
