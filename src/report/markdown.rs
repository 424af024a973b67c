//! The report as GitHub-flavoured markdown, for a pull-request comment.
//!
//! The non-root egress table comes first (it is what a reviewer of a
//! server policy looks for), then the assertions, the findings and the
//! flows of every hook. Tables are capped so that a comment stays under
//! the size code hosts accept; the JSON report has everything.

use super::{short_location, terms_text, Flow, Report, MAX_RULES_SHOWN};
use std::fmt::Write;

/// At most this many flows are listed per hook.
pub const MAX_FLOWS_PER_HOOK: usize = 100;

/// A table cell: pipes escaped, line breaks as spaces.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Inline code that survives backticks in the text.
fn code(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ");
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}

fn rules_cell(f: &Flow, report: &Report) -> String {
    if let Some(t) = f.admitted_by_text(report) {
        return t;
    }
    let mut parts: Vec<String> = f
        .rules
        .iter()
        .take(MAX_RULES_SHOWN)
        .map(|r| {
            let may = if r.may_accept { " (may accept)" } else { "" };
            format!("{} {}{may}", short_location(&r.location), code(&r.text))
        })
        .collect();
    if f.rules.len() > MAX_RULES_SHOWN {
        parts.push(format!("and {} more", f.rules.len() - MAX_RULES_SHOWN));
    }
    parts.join("<br>")
}

fn witness_cell(f: &Flow) -> String {
    match &f.witness {
        Some(w) => code(&w.text) + if f.definite { "" } else { " (possible)" },
        None => "not found within the work budget".to_string(),
    }
}

/// The markdown report.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let m = &report.meta;
    let p = &report.policy;
    let s = &report.summary;
    let _ = writeln!(out, "# Firewall report: {}\n", code(&p.name));
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| Policy file | {} |", code(&m.file));
    let _ = writeln!(out, "| SHA-256 | {} |", code(&m.sha256));
    for src in m.sources.iter().skip(1) {
        let _ = writeln!(
            out,
            "| Included | {} ({}) |",
            code(&src.path),
            code(&src.sha256[..12.min(src.sha256.len())])
        );
    }
    let _ = writeln!(out, "| Family | {} |", family_text(p.family));
    let _ = writeln!(out, "| Date | {} |", m.date);
    let _ = writeln!(out, "| hwc | {} |", m.hwc_version);
    if report.flows.iter().any(|f| !f.definite) {
        let _ = writeln!(
            out,
            "| Precision | some tests or targets are not modelled: flows marked *possible* may not happen |"
        );
    }
    let _ = writeln!(
        out,
        "\n**{}**, **{}**, {} ({} failing), {} errors, {} warnings, {} infos.\n",
        plural(s.flows, "accepted flow class", "accepted flow classes"),
        plural(
            s.nonroot_egress,
            "non-root egress flow",
            "non-root egress flows"
        ),
        plural(s.assertions, "assertion", "assertions"),
        s.assertions_failed,
        s.errors,
        s.warnings,
        s.infos
    );

    let _ = writeln!(out, "## Non-root egress\n");
    let _ = writeln!(
        out,
        "New outbound flows that a user other than root can open (not on `lo`).\n"
    );
    if report.nonroot_egress.is_empty() {
        let _ = writeln!(out, "None: only root can open outbound flows.\n");
    } else {
        let _ = writeln!(
            out,
            "| Flow | Who | To | Protocol | Out | Admitted by | Example |\n|---|---|---|---|---|---|---|"
        );
        for n in &report.nonroot_egress {
            let flow = report.flows.iter().find(|f| f.id == n.flow);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                n.flow,
                cell(&terms_text(&n.who)),
                cell(&terms_text(&n.to)),
                cell(&terms_text(&n.protocol)),
                cell(&terms_text(&n.oif)),
                cell(&flow.map(|f| rules_cell(f, report)).unwrap_or_default()),
                code(&n.witness.text) + if n.definite { "" } else { " (possible)" }
            );
        }
        out.push('\n');
    }

    let _ = writeln!(out, "## Assertions\n");
    if report.assertions.is_empty() {
        let _ = writeln!(out, "The policy states no assertions or egress blocks.\n");
    } else {
        let _ = writeln!(
            out,
            "| Status | Assertion | Where | Counterexample |\n|---|---|---|---|"
        );
        for a in &report.assertions {
            let status = match a.status {
                "holds" => "holds",
                "fails" => "**FAILS**",
                _ => "not checked",
            };
            let _ = writeln!(
                out,
                "| {status} | {} | {} | {} |",
                code(&a.text),
                short_location(&a.location),
                a.witness
                    .as_ref()
                    .map(|w| code(&w.text))
                    .unwrap_or_default()
            );
        }
        if report.assertions.iter().any(|a| a.status == "not-checked") {
            let _ = writeln!(
                out,
                "\nThis build of hwc does not check assertions (no `assertion-failed` lint)."
            );
        }
        out.push('\n');
    }

    let _ = writeln!(out, "## Findings\n");
    if report.findings.is_empty() {
        let _ = writeln!(out, "No findings.\n");
    } else {
        for f in &report.findings {
            let _ = writeln!(
                out,
                "- **{}[{}]** {}: {}",
                f.severity.name(),
                f.code,
                code(&format!("{}:{}:{}", f.file, f.line, f.column)),
                f.message
            );
            if let Some(w) = &f.witness {
                let _ = writeln!(out, "  - example packet: {}", code(&w.text));
            }
            for l in f.labels.iter().filter(|l| !l.primary) {
                let _ = writeln!(
                    out,
                    "  - {}: {}",
                    code(&format!("{}:{}:{}", l.file, l.line, l.column)),
                    l.message.as_deref().unwrap_or("related place")
                );
            }
            if let Some(h) = &f.help {
                let _ = writeln!(out, "  - help: {h}");
            }
        }
        out.push('\n');
    }

    let _ = writeln!(out, "## Accepted new flows\n");
    let _ = writeln!(
        out,
        "Packets in state new or untracked that each hook accepts, grouped by the rules that admit them. \
         Established and related packets follow these flows and are not listed.\n"
    );
    for h in &report.hooks {
        let flows: Vec<&Flow> = report.flows.iter().filter(|f| f.hook == h.hook).collect();
        let head = match (&h.chain, h.policy) {
            (Some(c), Some(pol)) => format!("chain `{c}`, policy {pol}"),
            _ => "no chain: everything is accepted".to_string(),
        };
        let _ = writeln!(out, "### {} ({head})\n", h.hook);
        if flows.is_empty() {
            let _ = writeln!(out, "No new flows are accepted.\n");
            continue;
        }
        let output = h.hook == "output";
        let show_from = flows.iter().any(|f| !f.from.is_empty());
        let show_in = flows.iter().any(|f| !f.iif.is_empty());
        let show_out = flows.iter().any(|f| !f.oif.is_empty());
        let show_other = flows.iter().any(|f| !f.other.is_empty());
        let mut header = vec!["Flow"];
        if output {
            header.push("Who");
        }
        if show_from {
            header.push("From");
        }
        header.extend(["To", "Protocol"]);
        if show_in {
            header.push("In");
        }
        if show_out {
            header.push("Out");
        }
        if show_other {
            header.push("Other");
        }
        header.extend(["State", "Admitted by", "Example"]);
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
        for f in flows.iter().take(MAX_FLOWS_PER_HOOK) {
            let mut row = vec![f.id.clone()];
            if output {
                row.push(cell(&terms_text(&f.who())));
            }
            if show_from {
                row.push(cell(&terms_text(&f.from)));
            }
            row.push(cell(&terms_text(&f.to)));
            row.push(cell(&terms_text(&f.protocol)));
            if show_in {
                row.push(cell(&terms_text(&f.iif)));
            }
            if show_out {
                row.push(cell(&terms_text(&f.oif)));
            }
            if show_other {
                row.push(cell(&terms_text(&f.other)));
            }
            row.push(f.states.join(", "));
            row.push(cell(&rules_cell(f, report)));
            row.push(witness_cell(f));
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        if flows.len() > MAX_FLOWS_PER_HOOK {
            let _ = writeln!(
                out,
                "\n{} more flows are not shown; the JSON and HTML reports list them all.",
                flows.len() - MAX_FLOWS_PER_HOOK
            );
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "<sub>Generated by hwc {} from {} (SHA-256 {}).</sub>",
        m.hwc_version,
        code(&m.file),
        code(&m.sha256[..12.min(m.sha256.len())])
    );
    out
}

pub fn family_text(f: &str) -> String {
    match f {
        "ip" => "`ip` (IPv4 only: IPv6 is not filtered)".to_string(),
        "ip6" => "`ip6` (IPv6 only: IPv4 is not filtered)".to_string(),
        "inet" => "`inet` (IPv4 and IPv6)".to_string(),
        other => format!("`{other}`"),
    }
}

pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_and_code_spans_are_escaped() {
        assert_eq!(cell("a | b\nc"), "a \\| b c");
        assert_eq!(code("x`y"), "`` x`y ``");
        assert_eq!(code("tcp 22"), "`tcp 22`");
    }
}
