//! The `hwc` binary as a user and a tool see it: exit codes, help, colour,
//! and the JSON contract checked against docs/check-output.schema.json.

use hwc::diagnostics::lints;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `hwc ARGS` in the repository root, without a terminal and with the
/// environment variables that change output removed.
fn hwc_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hwc"));
    cmd.args(args)
        .current_dir(root())
        .env_remove("NO_COLOR")
        .env_remove("COLUMNS")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("TERM");
    for (k, v) in env {
        cmd.env(k, v);
    }
    match cmd.output() {
        Ok(out) => out,
        Err(e) => panic!("cannot run hwc: {e}"),
    }
}

fn hwc(args: &[&str]) -> Output {
    hwc_env(args, &[("NO_COLOR", "1")])
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A file in a fresh temporary directory.
fn temp_policy(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hwc-cli-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn examples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "hw"))
        .collect();
    v.sort();
    assert!(v.len() >= 5, "examples/ should hold the example policies");
    v
}

const CLEAN: &str = "\
policy tiny {
  family inet
}
user root = uid 0
service nd = icmpv6 nd-router-solicit, nd-router-advert, nd-neighbor-solicit,
             nd-neighbor-advert, mld-listener-query, mld-listener-report,
             mld-listener-done, mld2-listener-report
chain input policy drop {
  accept state established, related
  drop state invalid
  accept service nd
  accept state new tcp 22 from 198.51.100.0/24
}
chain output policy drop {
  accept state established, related
  drop state invalid
  accept service nd
  accept state new user root
}
chain forward policy drop {}
";

#[test]
fn help_and_version_exit_zero() {
    for args in [
        &["--help"][..],
        &["check", "--help"],
        &["explain", "--help"],
        &["help", "check"],
    ] {
        let out = hwc(args);
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains("Usage: hwc"), "{args:?}: {text}");
        assert!(text.contains("Examples:"), "{args:?}: {text}");
    }
    let top = stdout(&hwc(&["--help"]));
    assert!(top.contains("check") && top.contains("explain"), "{top}");
    let out = hwc(&["--version"]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).starts_with("hwc "), "{}", stdout(&out));
}

#[test]
fn usage_errors_exit_two() {
    for args in [
        &[][..],
        &["check"],
        &["check", "--format", "xml", "examples/webserver.hw"],
        &["check", "--deny", "everything", "examples/webserver.hw"],
        &["frobnicate"],
        &["explain", "no-such-lint"],
    ] {
        let out = hwc(args);
        assert_eq!(code(&out), 2, "{args:?}");
        assert!(
            !stderr(&out).is_empty(),
            "{args:?}: a usage error explains itself"
        );
    }
}

#[test]
fn unreadable_files_exit_two() {
    let out = hwc(&["check", "tests/no-such-file.hw"]);
    assert_eq!(code(&out), 2);
    let text = stdout(&out);
    assert!(
        text.contains("error[io]: cannot read `tests/no-such-file.hw`: no such file"),
        "{text}"
    );
    // A directory is not a policy file.
    let out = hwc(&["check", "tests"]);
    assert_eq!(code(&out), 2, "{}", stdout(&out));
    // One unreadable file among good ones still fails the run, and the
    // good ones are still checked.
    let out = hwc(&[
        "check",
        "--format",
        "json",
        "examples/webserver.hw",
        "tests/no-such-file.hw",
    ]);
    assert_eq!(code(&out), 2);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["files"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["files"][0]["policy"], "webserver");
}

#[test]
fn exit_status_follows_severity() {
    let clean = temp_policy("clean.hw", CLEAN);
    let clean = clean.to_str().unwrap();
    let out = hwc(&["check", clean]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(stdout(&out).ends_with("in 1 file\n"), "{}", stdout(&out));
    let out = hwc(&["check", "--deny", "warnings", clean]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));

    let broken = temp_policy(
        "broken.hw",
        "chain input policy drop {\n  accept tcp 22 from\n}\n",
    );
    let out = hwc(&["check", broken.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(stdout(&out).contains("error["), "{}", stdout(&out));
}

#[test]
fn examples_pass_check() {
    for ex in examples() {
        let path = ex
            .strip_prefix(root())
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let out = hwc(&["check", "--format", "json", &path]);
        let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(code(&out), 0, "{path}: {}", stdout(&out));
        assert_eq!(v["summary"]["errors"], 0, "{path}: {}", stdout(&out));
        assert!(v["files"][0]["policy"].is_string(), "{path} did not load");
    }
}

#[test]
fn colour_only_on_request_or_terminal() {
    let args = ["check", "tests/no-such-file.hw"];
    let plain = stdout(&hwc_env(&args, &[]));
    assert!(!plain.contains('\x1b'), "no terminal, no colour: {plain}");
    let forced = stdout(&hwc_env(&["--color", "always", args[0], args[1]], &[]));
    assert!(forced.contains("\x1b["), "--color always: {forced}");
    let never = stdout(&hwc_env(
        &["--color", "never", args[0], args[1]],
        &[("CLICOLOR_FORCE", "1")],
    ));
    assert!(!never.contains('\x1b'), "{never}");
}

#[test]
fn json_output_validates_against_the_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("docs/check-output.schema.json")).unwrap(),
    )
    .unwrap();
    let broken = temp_policy(
        "syntax.hw",
        "host a = \nchain input policy drop {\n  accept tcp 22 from\n}\n",
    );
    let mut runs: Vec<Vec<String>> = examples()
        .iter()
        .map(|p| {
            vec![p
                .strip_prefix(root())
                .unwrap()
                .to_string_lossy()
                .into_owned()]
        })
        .collect();
    runs.push(vec![broken.to_string_lossy().into_owned()]);
    runs.push(vec!["tests/no-such-file.hw".into()]);
    runs.push(
        examples()
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect(),
    );
    for files in runs {
        let mut args = vec!["check", "--format", "json"];
        args.extend(files.iter().map(String::as_str));
        let out = hwc(&args);
        let doc: Value = match serde_json::from_str(&stdout(&out)) {
            Ok(v) => v,
            Err(e) => panic!("{files:?}: not JSON ({e}): {}", stdout(&out)),
        };
        if let Err(e) = validate(&schema, &schema, &doc, "$") {
            panic!("{files:?}: {e}\n{}", stdout(&out));
        }
        assert_eq!(doc["summary"]["exit_code"], code(&out), "{files:?}");
        assert_eq!(doc["files"].as_array().map(Vec::len), Some(files.len()));
        for d in doc["diagnostics"].as_array().unwrap() {
            let c = d["code"].as_str().unwrap();
            assert!(
                lints::is_lint(c) || lints::ERRORS.iter().any(|e| e.name == c),
                "code `{c}` is in neither table"
            );
            assert_eq!(d["lint"].as_str(), lints::is_lint(c).then_some(c));
            let primaries = d["labels"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|l| l["primary"] == true);
            assert_eq!(primaries.count(), 1, "exactly one primary label: {d}");
        }
    }
}

/// A validator for the subset of JSON Schema (2020-12) our schema uses.
/// It rejects keywords it does not know, so that it never silently skips
/// a constraint.
fn validate(root: &Value, schema: &Value, v: &Value, at: &str) -> Result<(), String> {
    let obj = schema
        .as_object()
        .ok_or(format!("{at}: schema is not an object"))?;
    for (key, rule) in obj {
        match key.as_str() {
            "$schema" | "$id" | "title" | "description" | "$defs" => {}
            "$ref" => {
                let name = rule
                    .as_str()
                    .and_then(|r| r.strip_prefix("#/$defs/"))
                    .ok_or(format!("{at}: unsupported $ref {rule}"))?;
                validate(root, &root["$defs"][name], v, at)?;
            }
            "type" => {
                let types: Vec<&str> = match rule {
                    Value::String(s) => vec![s.as_str()],
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    _ => return Err(format!("{at}: bad type {rule}")),
                };
                let ok = types.iter().any(|t| match *t {
                    "null" => v.is_null(),
                    "boolean" => v.is_boolean(),
                    "string" => v.is_string(),
                    "integer" => v.is_u64() || v.is_i64(),
                    "number" => v.is_number(),
                    "array" => v.is_array(),
                    "object" => v.is_object(),
                    _ => false,
                });
                if !ok {
                    return Err(format!("{at}: {v} is not of type {rule}"));
                }
            }
            "const" if v != rule => return Err(format!("{at}: {v} is not {rule}")),
            "const" => {}
            "enum" => {
                if !rule.as_array().is_some_and(|a| a.contains(v)) {
                    return Err(format!("{at}: {v} is not one of {rule}"));
                }
            }
            "minimum" | "maximum" => {
                if let (Some(n), Some(bound)) = (v.as_f64(), rule.as_f64()) {
                    let bad = if key == "minimum" {
                        n < bound
                    } else {
                        n > bound
                    };
                    if bad {
                        return Err(format!("{at}: {n} is out of range ({key} {bound})"));
                    }
                }
            }
            "required" => {
                if let Some(o) = v.as_object() {
                    for name in rule
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                    {
                        if !o.contains_key(name) {
                            return Err(format!("{at}: missing `{name}`"));
                        }
                    }
                }
            }
            "properties" => {
                if let Some(o) = v.as_object() {
                    for (name, sub) in rule.as_object().into_iter().flatten() {
                        if let Some(x) = o.get(name) {
                            validate(root, sub, x, &format!("{at}.{name}"))?;
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let (Some(o), Value::Bool(false)) = (v.as_object(), rule) {
                    let known = &obj["properties"];
                    for name in o.keys() {
                        if known.get(name).is_none() {
                            return Err(format!("{at}: unexpected key `{name}`"));
                        }
                    }
                }
            }
            "items" => {
                for (i, x) in v.as_array().into_iter().flatten().enumerate() {
                    validate(root, rule, x, &format!("{at}[{i}]"))?;
                }
            }
            "minItems" => {
                if let (Some(a), Some(n)) = (v.as_array(), rule.as_u64()) {
                    if (a.len() as u64) < n {
                        return Err(format!("{at}: fewer than {n} items"));
                    }
                }
            }
            "oneOf" => {
                let matching = rule
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|s| validate(root, s, v, at).is_ok())
                    .count();
                if matching != 1 {
                    return Err(format!(
                        "{at}: {v} matches {matching} alternatives of oneOf"
                    ));
                }
            }
            other => return Err(format!("{at}: the test validator does not know `{other}`")),
        }
    }
    Ok(())
}

#[test]
fn the_validator_rejects_bad_documents() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("docs/check-output.schema.json")).unwrap(),
    )
    .unwrap();
    let good = serde_json::json!({
        "version": 1,
        "files": [{"path": "a.hw", "policy": "a", "errors": 0, "warnings": 1, "infos": 0}],
        "diagnostics": [{
            "code": "unused", "lint": "unused", "severity": "warning", "file": "a.hw",
            "line": 1, "column": 1, "end_line": 1, "end_column": 5, "message": "m",
            "help": null, "note": null,
            "labels": [{"file": "a.hw", "line": 1, "column": 1, "end_line": 1, "end_column": 5,
                        "message": null, "primary": true}],
            "witness": null
        }],
        "summary": {"files": 1, "errors": 0, "warnings": 1, "infos": 0, "exit_code": 0}
    });
    assert_eq!(validate(&schema, &schema, &good, "$"), Ok(()));
    let mut bad = good.clone();
    bad["version"] = 2.into();
    assert!(validate(&schema, &schema, &bad, "$").is_err());
    let mut bad = good.clone();
    bad["diagnostics"][0]["severity"] = "fatal".into();
    assert!(validate(&schema, &schema, &bad, "$").is_err());
    let mut bad = good.clone();
    bad["diagnostics"][0]["labels"] = serde_json::json!([]);
    assert!(validate(&schema, &schema, &bad, "$").is_err());
    let mut bad = good.clone();
    bad["summary"]["extra"] = 1.into();
    assert!(validate(&schema, &schema, &bad, "$").is_err());
    let mut bad = good;
    bad["diagnostics"][0]["witness"] = serde_json::json!({"hook": "input"});
    assert!(validate(&schema, &schema, &bad, "$").is_err());
}
