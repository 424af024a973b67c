//! The real `pre-commit` (from PyPI, in a virtualenv) runs this repository's
//! hooks in a scratch git repository: a commit of a policy with an error,
//! and one with a shadowed rule, are refused with the finding shown; a
//! clean policy commits.
//!
//! How the hook gets its `hwc`: the hooks in `.pre-commit-hooks.yaml` say
//! `language: rust`, so pre-commit clones the hook repository and builds
//! hwc with `cargo install --path .` (without `--locked`, in release mode,
//! in a fresh target directory, resolving dependencies from crates.io): a
//! full release build of hwc and its dependencies, about 4 minutes on a
//! 2-core machine, again for every new commit of hwc. That works (it
//! needs the crates.io registry, not the network otherwise) and is fine
//! once for a user, but too slow for every test run.
//! So by default the test hands pre-commit a hook repository whose
//! manifest is this repository's `.pre-commit-hooks.yaml` with only
//! `language: rust` changed to `language: system`, and puts the `hwc` that
//! `cargo test` built first on PATH: pre-commit reads our hook ids, entry,
//! file pattern and arguments exactly as users get them. Set
//! `HWC_PRECOMMIT_RUST=1` to run the real `language: rust` install from
//! this checkout (its HEAD commit) instead.
//!
//! The virtualenv lives in `target/precommit-venv` and is reused. Without
//! python3 (with venv and pip) the test is skipped with a loud message.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run(cmd: &mut Command) -> Output {
    match cmd.output() {
        Ok(out) => out,
        Err(e) => panic!("cannot run {cmd:?}: {e}"),
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[track_caller]
fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(out.status.success(), "{cmd:?} failed:\n{}", text(&out));
    text(&out)
}

/// Prints past the test harness's capture, so that it shows in a passing
/// run too.
fn loud(message: &str) {
    use std::io::Write;
    let bar = "!".repeat(78);
    let _ = writeln!(std::io::stderr(), "\n{bar}\n{message}\n{bar}\n");
}

fn skip(why: &str) {
    loud(&format!(
        "!! SKIPPED tests/precommit.rs: {why}\n!! pre-commit integration is NOT tested. \
         CI must have python3 with venv and pip."
    ));
}

/// `pre-commit` in a reused virtualenv under target/, or `None` (after a
/// loud message) when python3, venv or pip are missing.
fn pre_commit() -> Option<PathBuf> {
    let venv = root().join("target/precommit-venv");
    let exe = venv.join("bin/pre-commit");
    if exe.exists() && run(Command::new(&exe).arg("--version")).status.success() {
        return Some(exe);
    }
    let python = match Command::new("python3").arg("--version").output() {
        Ok(o) if o.status.success() => "python3",
        _ => {
            skip("python3 is not installed");
            return None;
        }
    };
    let out = run(Command::new(python).args(["-m", "venv"]).arg(&venv));
    if !out.status.success() {
        skip(&format!("`python3 -m venv` failed:\n{}", text(&out)));
        return None;
    }
    let out = run(Command::new(venv.join("bin/python")).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "pre-commit",
    ]));
    if !out.status.success() {
        skip(&format!("`pip install pre-commit` failed:\n{}", text(&out)));
        return None;
    }
    Some(exe)
}

/// A git command in `dir` that does not depend on the user's git setup.
fn git(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "hwc test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "hwc test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com");
    c
}

fn head(dir: &Path) -> String {
    ok(git(dir).args(["rev-parse", "HEAD"])).trim().to_string()
}

/// A git repository holding this repository's hook manifest with
/// `language: system`; returns its path and commit.
fn system_hook_repo(scratch: &Path) -> (PathBuf, String) {
    let manifest = std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).unwrap();
    assert!(
        manifest.contains("- id: hwc-check\n")
            && manifest.contains("entry: hwc check\n")
            && manifest.contains("files: \\.hw$\n")
            && manifest.contains("language: rust\n"),
        "unexpected .pre-commit-hooks.yaml:\n{manifest}"
    );
    let repo = scratch.join("hooks");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(
        repo.join(".pre-commit-hooks.yaml"),
        manifest.replace("language: rust\n", "language: system\n"),
    )
    .unwrap();
    ok(git(&repo).args(["init", "--quiet"]));
    ok(git(&repo).args(["add", "."]));
    ok(git(&repo).args(["commit", "--quiet", "-m", "hooks"]));
    let rev = head(&repo);
    (repo, rev)
}

/// An unknown name (a typo) in line 4.
const BAD: &str = "\
service web = tcp 80
chain input policy drop {
  accept iface lo
  accept service wbe
}
";

const CLEAN: &str = "\
service web = tcp 80
chain input policy drop {
  accept state established, related
  drop state invalid
  accept iface lo
  accept service web
  accept tcp 22 from 198.51.100.0/24
}
chain output policy accept {}
chain forward policy drop {}
";

/// A shadowed rule: the second rule can never match.
const SHADOWED: &str = "\
chain input policy drop {
  accept iface lo
  drop from 198.51.100.0/24
  accept tcp 22 from 198.51.100.7
}
chain output policy accept {}
chain forward policy drop {}
";

#[test]
fn pre_commit_refuses_errors_and_shadowed_rules_and_commits_a_clean_one() {
    let Some(pre_commit) = pre_commit() else {
        return;
    };
    let scratch = std::env::temp_dir().join(format!("hwc-precommit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();

    let real_rust = std::env::var_os("HWC_PRECOMMIT_RUST").is_some_and(|v| v == "1");
    let (hook_repo, rev) = if real_rust {
        (root().to_path_buf(), head(root()))
    } else {
        system_hook_repo(&scratch)
    };

    let work = scratch.join("work");
    std::fs::create_dir_all(&work).unwrap();
    ok(git(&work).args(["init", "--quiet"]));
    std::fs::write(
        work.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: hwc-check\n",
            hook_repo.display()
        ),
    )
    .unwrap();
    // The hwc that `cargo test` built, first on PATH (used by the
    // `language: system` hook; the `language: rust` one puts its own
    // first).
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_hwc")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let cache = if real_rust {
        // Reused across runs: a new hwc commit builds a new environment.
        root().join("target/precommit-cache")
    } else {
        scratch.join("cache")
    };
    let commit = |message: &str| {
        let mut c = git(&work);
        c.args(["commit", "--quiet", "-m", message])
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", &cache)
            .env("NO_COLOR", "1")
            .env_remove("PRE_COMMIT_COLOR");
        run(&mut c)
    };
    ok(git(&work).args(["add", ".pre-commit-config.yaml"]));
    ok(Command::new(&pre_commit)
        .arg("install")
        .current_dir(&work)
        .env("GIT_CONFIG_GLOBAL", "/dev/null"));

    // A policy with an error: the commit is refused and says why.
    std::fs::write(work.join("firewall.hw"), BAD).unwrap();
    // A file pre-commit must not give hwc (the pattern is `\.hw$`).
    std::fs::write(work.join("notes.txt"), "chain {{{ not a policy\n").unwrap();
    ok(git(&work).args(["add", "firewall.hw", "notes.txt"]));
    let out = commit("bad policy");
    let shown = text(&out);
    if std::env::var_os("HWC_PRECOMMIT_SHOW").is_some() {
        loud(&shown);
    }
    assert!(!out.status.success(), "the commit went through:\n{shown}");
    assert!(shown.contains("hwc check"), "{shown}");
    assert!(shown.contains("Failed"), "{shown}");
    assert!(shown.contains("firewall.hw:4"), "{shown}");
    assert!(shown.contains("error["), "{shown}");
    assert!(!shown.contains("notes.txt"), "{shown}");
    assert!(
        run(git(&work).args(["rev-parse", "--verify", "--quiet", "HEAD"]))
            .stdout
            .is_empty()
    );

    // A shadowed rule: refused, with the finding and the rule that covers it.
    std::fs::write(work.join("firewall.hw"), SHADOWED).unwrap();
    ok(git(&work).args(["add", "firewall.hw"]));
    let out = commit("shadowed rule");
    let shown = text(&out);
    if std::env::var_os("HWC_PRECOMMIT_SHOW").is_some() {
        loud(&shown);
    }
    assert!(!out.status.success(), "the commit went through:\n{shown}");
    assert!(shown.contains("error[shadowed]"), "{shown}");
    assert!(shown.contains("firewall.hw:4"), "{shown}");

    // Fixed: the commit goes through, hwc passed.
    std::fs::write(work.join("firewall.hw"), CLEAN).unwrap();
    ok(git(&work).args(["add", "firewall.hw"]));
    let out = commit("clean policy");
    let shown = text(&out);
    assert!(
        out.status.success(),
        "the clean commit was refused:\n{shown}"
    );
    assert!(
        shown.contains("hwc check") && shown.contains("Passed"),
        "{shown}"
    );
    assert_eq!(
        ok(git(&work).args(["log", "--format=%s"])).trim(),
        "clean policy"
    );
    let _ = std::fs::remove_dir_all(&scratch);
}
