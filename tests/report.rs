//! `hwc report` and `hwc check --format sarif` through the real binary:
//!
//! - a snapshot of every format for every example (`SOURCE_DATE_EPOCH`
//!   fixed, so the date is stable); snapshots in `tests/snapshots/report/`;
//! - the JSON report validated against docs/report.schema.json;
//! - the SARIF log validated against the official SARIF 2.1.0 schema,
//!   read from `../shared/schemas/` beside the repository (never copied in);
//! - the HTML report opened in headless Chromium: it renders with no
//!   console error and a screenshot is written.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::jsonschema::validate;

const EPOCH: &str = "1700000000";

/// What a broken document breaks, and how.
type Breakage = (&'static str, fn(&mut Value));

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn hwc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hwc"))
        .args(args)
        .current_dir(root())
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env("NO_COLOR", "1")
        .env_remove("COLUMNS")
        .output()
        .expect("run hwc")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn examples() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("examples"))
        .expect("examples/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "hw"))
        .map(|p| format!("examples/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    v.sort();
    assert!(v.len() >= 5, "the examples are missing");
    v
}

fn stem(path: &str) -> String {
    Path::new(path)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn snapshot(name: &str, body: &str) {
    insta::with_settings!({
        snapshot_path => root().join("tests/snapshots/report"),
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, body);
    });
}

fn report(format: &str, file: &str) -> String {
    let out = hwc(&["report", "--format", format, file]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "hwc report --format {format} {file}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out)
}

fn load_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_format_of_every_example() {
    for file in examples() {
        let name = stem(&file);
        snapshot(&format!("{name}.md"), &report("markdown", &file));
        snapshot(&format!("{name}.html"), &report("html", &file));
        snapshot(&format!("{name}.json"), &report("json", &file));
        let sarif = hwc(&["check", "--format", "sarif", &file]);
        snapshot(&format!("{name}.sarif"), &stdout(&sarif));
    }
}

#[test]
fn json_reports_follow_their_schema() {
    let schema = load_json(&root().join("docs/report.schema.json"));
    for file in examples() {
        let doc: Value = serde_json::from_str(&report("json", &file)).unwrap();
        if let Err(e) = validate(&schema, &doc) {
            panic!("{file}: {e}");
        }
        assert_eq!(doc["meta"]["date"], "2023-11-14T22:13:20Z");
        assert_eq!(doc["meta"]["file"], file.as_str());
        let text = std::fs::read(root().join(&file)).unwrap();
        assert_eq!(doc["meta"]["sha256"], sha256sum(&text));
        let flows = doc["flows"].as_array().unwrap();
        assert_eq!(doc["summary"]["flows"], flows.len());
        // Every non-root row points at an output flow that has a non-root witness.
        for n in doc["nonroot_egress"].as_array().unwrap() {
            let f = flows.iter().find(|f| f["id"] == n["flow"]).unwrap();
            assert_eq!(f["hook"], "output");
            assert!(!f["nonroot_witness"].is_null());
            assert_ne!(n["witness"]["owner"]["uid"], 0);
            assert_ne!(n["witness"]["oif"], "lo");
        }
    }
}

/// The schema rejects what it should (so that validating is not vacuous).
#[test]
fn the_report_schema_rejects_broken_reports() {
    let schema = load_json(&root().join("docs/report.schema.json"));
    let good: Value = serde_json::from_str(&report("json", "examples/webserver.hw")).unwrap();
    assert_eq!(validate(&schema, &good), Ok(()));
    let breakages: [Breakage; 6] = [
        ("version", |d| d["version"] = 2.into()),
        ("sha256", |d| d["meta"]["sha256"] = "abc".into()),
        ("date", |d| d["meta"]["date"] = "yesterday".into()),
        ("state", |d| {
            d["flows"][0]["states"] = serde_json::json!(["established"])
        }),
        ("extra key", |d| d["summary"]["extra"] = 1.into()),
        ("flow id", |d| d["flows"][0]["id"] = "X1".into()),
    ];
    for (what, breakage) in breakages {
        let mut bad = good.clone();
        breakage(&mut bad);
        assert!(validate(&schema, &bad).is_err(), "a broken {what} passes");
    }
}

/// `sha256sum` of the coreutils, when present, agrees with the report's.
fn sha256sum(data: &[u8]) -> String {
    let ours = hwc::report::sha256::hex(data);
    if let Ok(mut child) = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(data).unwrap();
        let out = child.wait_with_output().unwrap();
        let theirs = String::from_utf8_lossy(&out.stdout);
        assert_eq!(theirs.split_whitespace().next(), Some(ours.as_str()));
    }
    ours
}

/// `../shared/schemas/sarif-schema-2.1.0.json` beside the repository (or
/// beside a folder above it, for worktrees).
fn sarif_schema() -> Option<PathBuf> {
    root()
        .ancestors()
        .skip(1)
        .map(|a| a.join("shared/schemas/sarif-schema-2.1.0.json"))
        .find(|p| p.exists())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
}

fn skip_loudly(what: &str) {
    let line = "!".repeat(78);
    eprintln!("\n{line}\n!!! SKIPPED: {what}\n{line}\n");
    assert!(!in_ci(), "{what} (required in CI)");
}

#[test]
fn sarif_follows_the_official_schema() {
    let Some(path) = sarif_schema() else {
        skip_loudly("the SARIF schema ../shared/schemas/sarif-schema-2.1.0.json is not there");
        return;
    };
    let schema = load_json(&path);
    let broken = std::env::temp_dir().join(format!("hwc-sarif-{}.hw", std::process::id()));
    std::fs::write(
        &broken,
        "host a = \nchain input policy drop {\n  accept tcp 22 from\n}\n",
    )
    .unwrap();
    let broken = broken.to_string_lossy().into_owned();
    let mut runs: Vec<Vec<String>> = examples().into_iter().map(|e| vec![e]).collect();
    runs.push(examples());
    runs.push(vec!["tests/ui/sema/wrong-kind.hw".into()]);
    runs.push(vec!["tests/ui/sema/include-spans/main.hw".into()]);
    runs.push(vec![broken.clone(), "tests/no-such-file.hw".into()]);
    for files in runs {
        let mut args = vec!["check", "--format", "sarif"];
        args.extend(files.iter().map(String::as_str));
        let out = hwc(&args);
        let log: Value = serde_json::from_str(&stdout(&out))
            .unwrap_or_else(|e| panic!("{files:?}: not JSON: {e}"));
        if let Err(e) = validate(&schema, &log) {
            panic!("{files:?}: {e}");
        }
        let run = &log["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        for r in run["results"].as_array().unwrap() {
            let i = r["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[i]["id"], r["ruleId"]);
            let region = &r["locations"][0]["physicalLocation"]["region"];
            assert!(region["startLine"].as_u64().unwrap() >= 1);
            assert!(region["startColumn"].as_u64().unwrap() >= 1);
        }
        assert_eq!(
            run["invocations"][0]["exitCode"].as_i64(),
            out.status.code().map(i64::from)
        );
    }
    // The wrong-kind error points at the use and, related, the definition.
    let out = hwc(&["check", "--format", "sarif", "tests/ui/sema/wrong-kind.hw"]);
    let log: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let r = &log["runs"][0]["results"][0];
    assert_eq!(r["ruleId"], "wrong-kind");
    assert!(!r["relatedLocations"][0]["message"]["text"]
        .as_str()
        .unwrap()
        .is_empty());
    snapshot("wrong-kind.sarif", &stdout(&out));
    let _ = std::fs::remove_file(&broken);
}

/// The SARIF schema itself rejects broken logs through this validator.
#[test]
fn the_official_sarif_schema_rejects_broken_logs() {
    let Some(path) = sarif_schema() else {
        skip_loudly("the SARIF schema ../shared/schemas/sarif-schema-2.1.0.json is not there");
        return;
    };
    let schema = load_json(&path);
    let out = hwc(&["check", "--format", "sarif", "tests/ui/sema/wrong-kind.hw"]);
    let good: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(validate(&schema, &good), Ok(()));
    let breakages: [Breakage; 5] = [
        ("version", |d| d["version"] = "2.0.0".into()),
        ("level", |d| {
            d["runs"][0]["results"][0]["level"] = "fatal".into()
        }),
        ("line 0", |d| {
            d["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
                0.into()
        }),
        ("no driver name", |d| {
            d["runs"][0]["tool"]["driver"]
                .as_object_mut()
                .unwrap()
                .remove("name");
        }),
        ("uri with a space", |d| {
            d["runs"][0]["artifacts"][0]["location"]["uri"] = "a b.hw".into()
        }),
    ];
    for (what, breakage) in breakages {
        let mut bad = good.clone();
        breakage(&mut bad);
        assert!(validate(&schema, &bad).is_err(), "a broken {what} passes");
    }
}

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// The size of a PNG image, from its IHDR chunk.
fn png_size(data: &[u8]) -> Option<(u32, u32)> {
    if data.len() < 24 || &data[..8] != b"\x89PNG\r\n\x1a\n" || &data[12..16] != b"IHDR" {
        return None;
    }
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    Some((be(&data[16..20]), be(&data[20..24])))
}

#[test]
fn html_reports_render_in_chromium() {
    // The page is self-contained: nothing is fetched, nothing runs.
    for file in examples() {
        let html = report("html", &file);
        for needle in [
            "<script", "<link", "src=", "@import", "url(", "http://", "https://",
        ] {
            let hits: Vec<&str> = html
                .lines()
                .filter(|l| {
                    l.contains(needle) && !l.contains("xmlns=\"http://www.w3.org/2000/svg\"")
                })
                .collect();
            assert!(hits.is_empty(), "{file}: `{needle}` in the HTML: {hits:?}");
        }
    }
    let Some(chromium) = chromium() else {
        skip_loudly("chromium is not installed (scripts/test.sh installs the Debian package)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("hwc-html-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for file in examples() {
        let name = stem(&file);
        let page = dir.join(format!("{name}.html"));
        let shot = dir.join(format!("{name}.png"));
        let profile = dir.join(format!("profile-{name}"));
        let out = hwc(&[
            "report",
            "--format",
            "html",
            "-o",
            page.to_str().unwrap(),
            &file,
        ]);
        assert_eq!(out.status.code(), Some(0));
        let run = Command::new("timeout")
            .arg("120")
            .arg(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--enable-logging=stderr",
                "--v=0",
                "--window-size=1280,2000",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("--screenshot={}", shot.display()))
            .arg(format!("file://{}", page.display()))
            .output()
            .expect("run chromium");
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{file}: chromium failed:\n{err}");
        let console: Vec<&str> = err
            .lines()
            .filter(|l| l.contains("Uncaught") || l.contains(":CONSOLE("))
            .collect();
        assert!(console.is_empty(), "{file}: console messages: {console:#?}");
        let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("{file}: no screenshot: {e}"));
        assert_eq!(png_size(&png), Some((1280, 2000)), "{file}");
        // A blank page compresses to a few kilobytes; a rendered report not.
        assert!(png.len() > 30_000, "{file}: the screenshot looks empty");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_policy_with_errors_gets_no_report() {
    let bad = std::env::temp_dir().join(format!("hwc-report-bad-{}.hw", std::process::id()));
    std::fs::write(
        &bad,
        "chain input policy drop {\n  accept tcp 22 from nowhere\n}\n",
    )
    .unwrap();
    let out = hwc(&["report", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown-name"), "{err}");
    assert!(err.contains("has errors"), "{err}");
    let out = hwc(&["report", "tests/no-such-file.hw"]);
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_file(&bad);
}

#[test]
fn output_file_and_source_date_epoch() {
    let dir = std::env::temp_dir().join(format!("hwc-report-out-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("r.md");
    let out = hwc(&["report", "-o", target.to_str().unwrap(), "examples/seed.hw"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let text = std::fs::read_to_string(&target).unwrap();
    assert_eq!(text, report("markdown", "examples/seed.hw"));
    assert!(text.contains("| Date | 2023-11-14T22:13:20Z |"));
    let bad_date = Command::new(env!("CARGO_BIN_EXE_hwc"))
        .args(["report", "examples/seed.hw"])
        .current_dir(root())
        .env("SOURCE_DATE_EPOCH", "soon")
        .output()
        .unwrap();
    assert_eq!(bad_date.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_date.stderr).contains("SOURCE_DATE_EPOCH"));
    let _ = std::fs::remove_dir_all(&dir);
}
