//! The workflow commands through the real binary: `hwc fmt` in place, on
//! stdin and with `--check`; `hwc check` on many files; `hwc completions`
//! and `hwc man`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn hwc(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hwc"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("cannot run hwc")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hwc-workflow-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const MESSY: &str =
    "host   a=192.0.2.1 # the host\nchain input policy drop { accept from a; drop }\n";
const TIDY: &str =
    "host a = 192.0.2.1  # the host\nchain input policy drop {\n  accept from a\n  drop\n}\n";
const BROKEN: &str = "host   a = 192.0.2.1\nchain input {\n  accept from\n}\n";

#[test]
fn fmt_rewrites_files_in_place_and_check_only_reports() {
    let dir = scratch("fmt");
    std::fs::write(dir.join("messy.hw"), MESSY).unwrap();
    std::fs::write(dir.join("tidy.hw"), TIDY).unwrap();
    std::fs::write(dir.join("broken.hw"), BROKEN).unwrap();

    // --check: lists, changes nothing, exit 1.
    let o = hwc(&["fmt", "--check", "messy.hw", "tidy.hw"], &dir);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stdout(&o), "would reformat messy.hw\n");
    assert_eq!(
        std::fs::read_to_string(dir.join("messy.hw")).unwrap(),
        MESSY
    );
    let o = hwc(&["fmt", "--check", "tidy.hw"], &dir);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // A file with syntax errors is reported and left alone; the others are
    // still formatted.
    let o = hwc(&["fmt", "broken.hw", "messy.hw", "tidy.hw"], &dir);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stdout(&o), "reformatted messy.hw\n");
    assert!(stderr(&o).contains("error[syntax]"), "{}", stderr(&o));
    assert!(stderr(&o).contains("broken.hw:3"), "{}", stderr(&o));
    assert!(
        stderr(&o)
            .ends_with("1 file reformatted, 1 left unchanged, 1 not formatted (syntax errors)\n"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_to_string(dir.join("messy.hw")).unwrap(), TIDY);
    assert_eq!(
        std::fs::read_to_string(dir.join("broken.hw")).unwrap(),
        BROKEN
    );

    // A missing file is an I/O error (exit 2).
    let o = hwc(&["fmt", "missing.hw"], &dir);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot read `missing.hw`: no such file"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn fmt_stdin(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hwc"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run hwc");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn fmt_formats_standard_input() {
    let o = fmt_stdin(&["fmt", "-"], MESSY);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), TIDY);
    let o = fmt_stdin(&["fmt", "--check", "-"], MESSY);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "");
    let o = fmt_stdin(&["fmt", "--check", "-"], TIDY);
    assert_eq!(o.status.code(), Some(0));
    let o = fmt_stdin(&["fmt", "-"], BROKEN);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "");
    assert!(stderr(&o).contains("<stdin>:3"), "{}", stderr(&o));
    let o = hwc(&["fmt", "-", "x.hw"], Path::new("."));
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn check_reports_every_file_in_argument_order() {
    let dir = scratch("check");
    let mut names = Vec::new();
    for i in 0..40 {
        // Every fifth file has an error naming the file.
        let name = format!("p{:02}.hw", (i * 7) % 40);
        let text = if i % 5 == 0 {
            format!("chain input policy drop {{\n  accept to host{i}\n}}\n")
        } else {
            "chain input policy drop {\n  accept iface lo\n}\n".to_string()
        };
        std::fs::write(dir.join(&name), text).unwrap();
        names.push(name);
    }
    let args: Vec<&str> = std::iter::once("check")
        .chain(names.iter().map(String::as_str))
        .collect();
    let o = hwc(&args, &dir);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let order: Vec<usize> = (0..40)
        .filter(|i| i % 5 == 0)
        .map(|i| {
            out.find(&format!("`host{i}`"))
                .expect("every error is reported")
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{out}");
    assert!(out.ends_with("in 40 files\n"), "{out}");
    // JSON lists the files in argument order too.
    let mut json_args = vec!["check", "--format", "json"];
    json_args.extend(names.iter().map(String::as_str));
    let v: serde_json::Value = serde_json::from_slice(&hwc(&json_args, &dir).stdout).unwrap();
    let paths: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, names);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn completions_and_man_pages() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (shell, marker) in [
        ("bash", "complete -F _hwc"),
        ("zsh", "#compdef hwc"),
        ("fish", "complete -c hwc"),
    ] {
        let o = hwc(&["completions", shell], here);
        assert_eq!(o.status.code(), Some(0));
        let s = stdout(&o);
        assert!(s.contains(marker), "{shell}: {s}");
        for sub in ["check", "fmt", "lsp", "explain"] {
            assert!(s.contains(sub), "{shell} completes no `{sub}`");
        }
    }
    let o = hwc(&["man"], here);
    assert_eq!(o.status.code(), Some(0));
    let page = stdout(&o);
    assert!(page.contains(".TH hwc 1"), "{page}");
    assert!(page.contains("hwc\\-fmt"), "{page}");
    let o = hwc(&["man", "fmt"], here);
    let page = stdout(&o);
    assert!(
        page.contains(".TH hwc\\-fmt 1") || page.contains(".TH hwc-fmt 1"),
        "{page}"
    );
    assert!(page.contains("\\-\\-check"), "{page}");
    let o = hwc(&["man", "nope"], here);
    assert_eq!(o.status.code(), Some(2));
    let o = hwc(&["completions", "tcsh"], here);
    assert_eq!(o.status.code(), Some(2));
}
