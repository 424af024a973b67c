//! `hwc check --format sarif`: diagnostics as a SARIF 2.1.0 log, for code
//! scanning services and editors.
//!
//! One run; the tool's rules are every lint and every error code (id = the
//! code, help = the lint's documentation); one result per diagnostic with
//! its primary place as the location, its other labels (the covering rules
//! of a `shadowed` rule, an earlier definition) as related locations, and
//! its witness packet in the message and, field by field, in the result's
//! properties. Every file read is an artifact with its SHA-256.
//!
//! Locations use the paths as given on the command line: a relative path
//! becomes a relative URI against `%SRCROOT%` (the directory hwc ran in).

use super::sha256;
use crate::analysis::lint_doc;
use crate::diagnostics::lints::{self, LINTS};
use crate::diagnostics::render::{display_path, json, location, packet_text, Location};
use crate::diagnostics::{Diagnostic, Severity};
use crate::source::{SourceMap, Span};
use serde_json::{json, Map, Value};

/// The SARIF version and the schema URI written into the log.
pub const SARIF_VERSION: &str = "2.1.0";
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The diagnostics of one file named on the command line.
#[derive(Debug, Clone, Copy)]
pub struct FileDiagnostics<'a> {
    pub sources: &'a SourceMap,
    pub diagnostics: &'a [Diagnostic],
}

/// A code's rule: its id, summary and documentation.
struct RuleMeta {
    id: &'static str,
    severity: Severity,
    summary: &'static str,
    doc: Option<String>,
    lint: bool,
}

fn rules() -> Vec<RuleMeta> {
    let mut out: Vec<RuleMeta> = LINTS
        .iter()
        .map(|l| RuleMeta {
            id: l.name,
            severity: l.severity,
            summary: l.summary,
            // `to_string`: the documentation may be static or built.
            doc: lint_doc(l.name).map(|d| d.to_string()),
            lint: true,
        })
        .collect();
    out.extend(lints::ERRORS.iter().map(|e| RuleMeta {
        id: e.name,
        severity: e.severity,
        summary: e.summary,
        doc: None,
        lint: false,
    }));
    out
}

pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// `nonroot-egress` → `NonrootEgress`.
fn pascal(id: &str) -> String {
    id.split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

/// The "What it does" section of a lint's documentation, as one paragraph.
fn what_it_does(doc: &str) -> Option<String> {
    let rest = doc.split("## What it does").nth(1)?;
    let section = rest.split("\n## ").next()?;
    let text = section.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}

/// `{ "text": ... }`, SARIF's message and multiformat string object.
fn text(s: impl Into<String>) -> Value {
    json!({ "text": s.into() })
}

fn rule_json(r: &RuleMeta) -> Value {
    let full = r
        .doc
        .as_deref()
        .and_then(what_it_does)
        .unwrap_or_else(|| r.summary.to_string());
    let mut help = Map::new();
    match r.doc.as_deref() {
        Some(doc) => {
            help.insert("text".into(), Value::String(doc.to_string()));
            help.insert("markdown".into(), Value::String(doc.to_string()));
        }
        None => {
            let t = format!(
                "{} This is an error in the policy: fix the place the diagnostic points at; \
                 `hwc explain {}` says more.",
                capitalise(r.summary),
                r.id
            );
            help.insert("text".into(), Value::String(t));
        }
    }
    json!({
        "id": r.id,
        "name": pascal(r.id),
        "shortDescription": text(r.summary),
        "fullDescription": text(full),
        "help": help,
        "defaultConfiguration": { "level": level(r.severity) },
        "properties": {
            "tags": [if r.lint { "lint" } else { "error" }]
        }
    })
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => {
            let mut t: String = f.to_uppercase().chain(c).collect();
            if !t.ends_with('.') {
                t.push('.');
            }
            t
        }
        None => String::new(),
    }
}

/// A path as a URI reference: relative paths stay relative (resolved
/// against `%SRCROOT%`), absolute ones become `file://` URIs. Characters
/// outside the unreserved set and `/` are percent-encoded.
pub fn path_uri(path: &str) -> (String, bool) {
    let encoded: String = path
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    if path.starts_with('/') {
        (format!("file://{encoded}"), false)
    } else {
        let rel = encoded.strip_prefix("./").unwrap_or(&encoded).to_string();
        (rel, true)
    }
}

/// The artifacts (every file read, once), by display path.
struct Artifacts {
    paths: Vec<String>,
    json: Vec<Value>,
}

impl Artifacts {
    fn index(&self, path: &str) -> Option<usize> {
        self.paths.iter().position(|p| p == path)
    }
}

fn artifacts(files: &[FileDiagnostics]) -> Artifacts {
    let mut a = Artifacts {
        paths: Vec::new(),
        json: Vec::new(),
    };
    for f in files {
        for (_, file) in f.sources.files() {
            let path = display_path(&file.path);
            if a.index(&path).is_some() {
                continue;
            }
            let (uri, relative) = path_uri(&path);
            let mut loc = Map::new();
            loc.insert("uri".into(), Value::String(uri));
            if relative {
                loc.insert("uriBaseId".into(), Value::String("%SRCROOT%".into()));
            }
            let mut art = Map::new();
            art.insert("location".into(), Value::Object(loc));
            // A file that could not be read is in the map with no text;
            // it gets no hash rather than the hash of nothing.
            if !file.text.is_empty() {
                art.insert("length".into(), json!(file.text.len()));
                art.insert(
                    "hashes".into(),
                    json!({ "sha-256": sha256::hex(file.text.as_bytes()) }),
                );
            }
            a.paths.push(path);
            a.json.push(Value::Object(art));
        }
    }
    a
}

fn physical(arts: &Artifacts, at: &Location, snippet: Option<&str>) -> Value {
    let (uri, relative) = path_uri(&at.file);
    let mut loc = Map::new();
    loc.insert("uri".into(), Value::String(uri));
    if relative {
        loc.insert("uriBaseId".into(), Value::String("%SRCROOT%".into()));
    }
    if let Some(i) = arts.index(&at.file) {
        loc.insert("index".into(), json!(i));
    }
    let mut region = json!({
        "startLine": at.line,
        "startColumn": at.column,
        "endLine": at.end_line,
        "endColumn": at.end_column,
    });
    if let Some(s) = snippet.filter(|s| !s.is_empty()) {
        region["snippet"] = text(s);
    }
    json!({ "artifactLocation": loc, "region": region })
}

fn snippet(sources: &SourceMap, span: Span) -> Option<&str> {
    ((span.file.0 as usize) < sources.len()).then(|| sources.get(span.file).slice(span))
}

fn result(
    d: &Diagnostic,
    sources: &SourceMap,
    arts: &Artifacts,
    rule_index: &dyn Fn(&str) -> Option<usize>,
) -> Value {
    let primary = d.primary_span();
    let mut message = d.message.clone();
    if let Some(w) = &d.witness {
        message.push_str(&format!(" (example packet: {})", packet_text(w)));
    }
    let mut r = Map::new();
    r.insert("ruleId".into(), Value::String(d.code.to_string()));
    if let Some(i) = rule_index(d.code) {
        r.insert("ruleIndex".into(), json!(i));
    }
    r.insert("level".into(), Value::String(level(d.severity).into()));
    r.insert("message".into(), text(message));
    r.insert(
        "locations".into(),
        json!([{
            "physicalLocation": physical(arts, &location(sources, primary), snippet(sources, primary))
        }]),
    );
    let related: Vec<Value> = d
        .labels
        .iter()
        .filter(|l| !l.primary)
        .enumerate()
        .map(|(i, l)| {
            let msg = if l.message.is_empty() {
                "related place".to_string()
            } else {
                l.message.clone()
            };
            json!({
                "id": i + 1,
                "physicalLocation": physical(arts, &location(sources, l.span), snippet(sources, l.span)),
                "message": text(msg),
            })
        })
        .collect();
    if !related.is_empty() {
        r.insert("relatedLocations".into(), Value::Array(related));
    }
    let mut props = Map::new();
    if let Some(label) = d.labels.iter().find(|l| l.primary && !l.message.is_empty()) {
        props.insert("label".into(), Value::String(label.message.clone()));
    }
    if let Some(h) = &d.help {
        props.insert("help".into(), Value::String(h.clone()));
    }
    if let Some(n) = &d.note {
        props.insert("note".into(), Value::String(n.clone()));
    }
    if let Some(w) = &d.witness {
        props.insert(
            "witness".into(),
            serde_json::to_value(json::packet(w)).unwrap_or(Value::Null),
        );
    }
    if !props.is_empty() {
        r.insert("properties".into(), Value::Object(props));
    }
    Value::Object(r)
}

/// The SARIF log of one `hwc check` run. `exit_code` is the run's exit
/// status (2 means hwc could not do its job: `executionSuccessful` false).
pub fn log(files: &[FileDiagnostics], exit_code: i32) -> Value {
    let rules = rules();
    let rule_index = |code: &str| rules.iter().position(|r| r.id == code);
    let arts = artifacts(files);
    let results: Vec<Value> = files
        .iter()
        .flat_map(|f| {
            f.diagnostics
                .iter()
                .map(|d| result(d, f.sources, &arts, &rule_index))
                .collect::<Vec<_>>()
        })
        .collect();
    json!({
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {
                "driver": {
                    "name": "hwc",
                    "fullName": "hwc, a policy language and verifier for Linux host firewalls",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": rules.iter().map(rule_json).collect::<Vec<_>>(),
                }
            },
            "invocations": [{
                "executionSuccessful": exit_code != 2,
                "exitCode": exit_code,
            }],
            "originalUriBaseIds": {
                "%SRCROOT%": {
                    "description": text("the directory hwc ran in; relative paths of the command line resolve against it")
                }
            },
            "artifacts": arts.json,
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_uris() {
        assert_eq!(pascal("nonroot-egress"), "NonrootEgress");
        assert_eq!(pascal("syntax"), "Syntax");
        assert_eq!(
            path_uri("examples/web server.hw"),
            ("examples/web%20server.hw".to_string(), true)
        );
        assert_eq!(path_uri("./a.hw"), ("a.hw".to_string(), true));
        assert_eq!(
            path_uri("/etc/hwc/é.hw"),
            ("file:///etc/hwc/%C3%A9.hw".to_string(), false)
        );
    }

    #[test]
    fn every_code_is_a_rule_with_a_description() {
        let log = log(&[], 0);
        let rules = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        assert_eq!(rules.len(), LINTS.len() + lints::ERRORS.len());
        for r in rules {
            assert!(!r["fullDescription"]["text"].as_str().unwrap().is_empty());
            assert!(!r["help"]["text"].as_str().unwrap().is_empty());
        }
        let shadowed = rules.iter().find(|r| r["id"] == "shadowed").unwrap();
        assert_eq!(shadowed["defaultConfiguration"]["level"], "error");
        assert!(shadowed["fullDescription"]["text"]
            .as_str()
            .unwrap()
            .starts_with("Finds a rule that can never match"));
        let overlap = rules.iter().find(|r| r["id"] == "overlap").unwrap();
        assert_eq!(overlap["defaultConfiguration"]["level"], "note");
    }

    #[test]
    fn a_result_has_its_place_related_places_and_witness() {
        let mut sources = SourceMap::new();
        let f = sources.add("p.hw", "accept tcp 22\ndrop tcp 22\n");
        let d = Diagnostic::new("shadowed", "the rule can never match", Span::new(f, 14, 25))
            .label(Span::new(f, 0, 13), "this rule decides its packets first");
        let diags = [d];
        let log = log(
            &[FileDiagnostics {
                sources: &sources,
                diagnostics: &diags,
            }],
            1,
        );
        let run = &log["runs"][0];
        let r = &run["results"][0];
        assert_eq!(r["ruleId"], "shadowed");
        assert_eq!(r["level"], "error");
        let region = &r["locations"][0]["physicalLocation"]["region"];
        assert_eq!(region["startLine"], 2);
        assert_eq!(region["startColumn"], 1);
        assert_eq!(region["endColumn"], 12);
        assert_eq!(region["snippet"]["text"], "drop tcp 22");
        let rel = &r["relatedLocations"][0];
        assert_eq!(rel["physicalLocation"]["region"]["startLine"], 1);
        assert_eq!(
            rel["message"]["text"],
            "this rule decides its packets first"
        );
        assert_eq!(run["artifacts"][0]["location"]["uri"], "p.hw");
        assert_eq!(
            run["artifacts"][0]["hashes"]["sha-256"],
            sha256::hex(b"accept tcp 22\ndrop tcp 22\n")
        );
        assert_eq!(run["invocations"][0]["executionSuccessful"], true);
    }
}
