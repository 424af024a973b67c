//! The JSON report of `hwc check --format json`: a versioned contract,
//! documented in docs/json-output.md with a JSON Schema in
//! docs/check-output.schema.json. Adding a field is compatible; renaming,
//! removing or changing the meaning of one bumps [`VERSION`].

use super::super::{lints, Diagnostic, Severity};
use super::{location, packet_text, witness::proto_name, Counts};
use crate::ir::{Family, Owner, Packet};
use crate::source::SourceMap;
use serde::Serialize;

/// The version of the JSON document.
pub const VERSION: u32 = 1;

/// The whole document.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub version: u32,
    /// One entry per file named on the command line, in that order.
    pub files: Vec<FileReport>,
    /// Every diagnostic of every file, in file order.
    pub diagnostics: Vec<JsonDiagnostic>,
    pub summary: Summary,
}

/// One file named on the command line.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: String,
    /// The policy's name, when the file loaded without errors.
    pub policy: Option<String>,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub files: usize,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    /// The process exit code: 0 clean, 1 findings, 2 usage, I/O or internal
    /// error.
    pub exit_code: i32,
}

#[derive(Debug, Clone, Serialize)]
pub struct JsonDiagnostic {
    pub code: &'static str,
    /// The lint name when the code is a lint, else null.
    pub lint: Option<&'static str>,
    pub severity: Severity,
    /// Where the primary label is (possibly an included file).
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub message: String,
    pub help: Option<String>,
    pub note: Option<String>,
    pub labels: Vec<JsonLabel>,
    pub witness: Option<JsonPacket>,
}

#[derive(Debug, Clone, Serialize)]
pub struct JsonLabel {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    /// null when the label only marks the place.
    pub message: Option<String>,
    pub primary: bool,
}

/// A witness packet, field by field, plus the text humans see.
#[derive(Debug, Clone, Serialize)]
pub struct JsonPacket {
    /// `input`, `output` or `forward`.
    pub hook: &'static str,
    /// `ip` or `ip6`.
    pub family: &'static str,
    /// Input interface; null when there is none.
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub src: String,
    pub dst: String,
    /// The protocol number.
    pub proto: u8,
    /// `tcp`, `udp`, `icmp`, ... or `proto N`.
    pub protocol: String,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    pub icmp_type: Option<u8>,
    pub icmp_code: Option<u8>,
    /// `new`, `established`, `related`, `invalid` or `untracked`.
    pub state: &'static str,
    pub owner: JsonOwner,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct JsonOwner {
    /// `none` (no socket), `kernel` (a kernel socket) or `socket`.
    pub kind: &'static str,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

/// One diagnostic as JSON.
pub fn diagnostic(diag: &Diagnostic, sources: &SourceMap) -> JsonDiagnostic {
    let at = location(sources, diag.primary_span());
    JsonDiagnostic {
        code: diag.code,
        lint: lints::lint(diag.code).map(|l| l.name),
        severity: diag.severity,
        file: at.file,
        line: at.line,
        column: at.column,
        end_line: at.end_line,
        end_column: at.end_column,
        message: diag.message.clone(),
        help: diag.help.clone(),
        note: diag.note.clone(),
        labels: diag
            .labels
            .iter()
            .map(|l| {
                let at = location(sources, l.span);
                JsonLabel {
                    file: at.file,
                    line: at.line,
                    column: at.column,
                    end_line: at.end_line,
                    end_column: at.end_column,
                    message: (!l.message.is_empty()).then(|| l.message.clone()),
                    primary: l.primary,
                }
            })
            .collect(),
        witness: diag.witness.as_ref().map(packet),
    }
}

pub fn packet(p: &Packet) -> JsonPacket {
    let (kind, uid, gid) = match p.owner {
        Owner::NoSocket => ("none", None, None),
        Owner::Kernel => ("kernel", None, None),
        Owner::Socket { uid, gid } => ("socket", Some(uid), Some(gid)),
    };
    let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    JsonPacket {
        hook: p.hook.name(),
        family: match p.family {
            Family::V4 => "ip",
            Family::V6 => "ip6",
        },
        iif: nonempty(&p.iif),
        oif: nonempty(&p.oif),
        src: p.src.to_string(),
        dst: p.dst.to_string(),
        proto: p.proto,
        protocol: proto_name(p.proto),
        sport: p.sport,
        dport: p.dport,
        icmp_type: p.icmp_type,
        icmp_code: p.icmp_code,
        state: p.state.name(),
        owner: JsonOwner { kind, uid, gid },
        text: packet_text(p),
    }
}

impl FileReport {
    pub fn new(path: String, policy: Option<String>, counts: Counts) -> FileReport {
        FileReport {
            path,
            policy,
            errors: counts.errors,
            warnings: counts.warnings,
            infos: counts.infos,
        }
    }
}

impl Summary {
    pub fn new(files: usize, counts: Counts, exit_code: i32) -> Summary {
        Summary {
            files,
            errors: counts.errors,
            warnings: counts.warnings,
            infos: counts.infos,
            exit_code,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{dim, CtState, Hook};
    use crate::source::Span;

    #[test]
    fn lint_field_and_labels() {
        let mut sources = SourceMap::new();
        let f = sources.add("p.hw", "accept tcp 22\ndrop tcp 22\n");
        let d = Diagnostic::new("shadowed", "the rule can never match", Span::new(f, 14, 25))
            .label(Span::new(f, 0, 13), "covers it")
            .witness(Packet {
                hook: Hook::Input,
                family: Family::V4,
                iif: "eth0".into(),
                oif: String::new(),
                src: "198.51.100.1".parse().unwrap(),
                dst: "192.0.2.1".parse().unwrap(),
                proto: dim::PROTO_TCP,
                sport: Some(1024),
                dport: Some(22),
                icmp_type: None,
                icmp_code: None,
                state: CtState::New,
                owner: Owner::NoSocket,
            });
        let j = serde_json::to_value(diagnostic(&d, &sources)).unwrap();
        assert_eq!(j["code"], "shadowed");
        assert_eq!(j["lint"], "shadowed");
        assert_eq!(j["severity"], "error");
        assert_eq!(
            (j["line"].as_u64(), j["column"].as_u64()),
            (Some(2), Some(1))
        );
        assert_eq!(j["end_column"], 12);
        assert_eq!(j["labels"][0]["primary"], true);
        assert!(j["labels"][0]["message"].is_null());
        assert_eq!(j["labels"][1]["message"], "covers it");
        assert_eq!(j["witness"]["protocol"], "tcp");
        assert_eq!(j["witness"]["oif"], serde_json::Value::Null);
        assert_eq!(j["witness"]["owner"]["kind"], "none");

        let e = Diagnostic::error("syntax", "expected a rule", Span::new(f, 0, 1));
        let j = serde_json::to_value(diagnostic(&e, &sources)).unwrap();
        assert!(j["lint"].is_null());
        assert!(j["witness"].is_null());
    }
}
