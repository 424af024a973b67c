//! The report as one self-contained HTML file: inline CSS (with print
//! styles), an inline SVG picture of who reaches which destinations, the
//! flow matrix of every hook and the tables of the markdown report. No
//! scripts, no fonts, images or styles from the network.

use super::markdown::{family_text, plural};
use super::svg::{self, esc};
use super::{short_location, terms_text, Flow, HookInfo, Report, MAX_RULES_SHOWN};
use std::fmt::Write;

/// A flow matrix with more rows or columns than this is left out (the
/// table below it lists every flow).
const MAX_MATRIX_ROWS: usize = 40;
const MAX_MATRIX_COLS: usize = 12;

const CSS: &str = r#"
:root { --fg: #1b1f23; --muted: #57606a; --line: #d0d7de; --bg-alt: #f6f8fa;
  --red: #b42318; --red-bg: #fdecea; --green: #1a7f37; --green-bg: #e6f4ea;
  --amber: #9a6700; --amber-bg: #fff8c5; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--fg); margin: 0 auto; max-width: 1240px; padding: 24px 28px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 20px 0 6px; }
p.lead { color: var(--muted); margin: 0 0 12px; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
code { background: var(--bg-alt); border-radius: 4px; padding: 1px 4px; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg-alt); font-weight: 600; }
td:first-child { white-space: nowrap; }
td.who { min-width: 7.5em; }
td.example { min-width: 16em; }
tbody tr:nth-child(even) td { background: #fbfcfd; }
table.meta { width: auto; }
table.meta th { width: 9em; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0 4px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 150px; }
.card .n { font-size: 24px; font-weight: 700; display: block; }
.card.bad { border-color: var(--red); background: var(--red-bg); }
.card.bad .n { color: var(--red); }
.card.good .n { color: var(--green); }
.status { font-weight: 600; white-space: nowrap; }
.status.holds { color: var(--green); }
.status.fails { color: var(--red); }
.status.not-checked { color: var(--amber); }
tr.nonroot td { background: var(--red-bg) !important; }
.sev { font-weight: 700; text-transform: lowercase; }
.sev.error { color: var(--red); }
.sev.warning { color: var(--amber); }
.sev.info { color: var(--muted); }
ul.findings { padding-left: 0; list-style: none; }
ul.findings > li { border: 1px solid var(--line); border-left: 4px solid var(--line); border-radius: 6px; padding: 8px 12px; margin: 8px 0; }
ul.findings > li.error { border-left-color: var(--red); }
ul.findings > li.warning { border-left-color: #d4a72c; }
ul.findings dl { margin: 4px 0 0; display: grid; grid-template-columns: 9em 1fr; gap: 2px 8px; }
ul.findings dt { color: var(--muted); }
ul.findings dd { margin: 0; }
.muted { color: var(--muted); }
figure { margin: 8px 0 16px; border: 1px solid var(--line); border-radius: 8px; padding: 8px; }
figcaption { color: var(--muted); font-size: 12.5px; padding: 4px 8px 0; }
svg.flows { display: block; max-width: 100%; height: auto; }
svg.flows text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: var(--fg); }
svg.flows text.head { font-weight: 600; fill: var(--muted); }
svg.flows .node rect { fill: #eef2f6; stroke: #8c959f; }
svg.flows .node.nonroot rect { fill: var(--red-bg); stroke: var(--red); }
svg.flows .edge { fill: none; stroke: #8c959f; stroke-width: 1.5; }
svg.flows .edge.nonroot { stroke: var(--red); stroke-width: 2.2; }
table.matrix td { min-width: 8em; }
table.matrix th[scope=row] { background: var(--bg-alt); }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  h2 { break-after: avoid; }
  h3 { break-after: avoid; }
  table, figure, ul.findings > li { break-inside: auto; }
  tr, ul.findings > li, figure { break-inside: avoid; }
  thead { display: table-header-group; }
  code { background: none; padding: 0; }
  tbody tr:nth-child(even) td { background: none; }
  .card { border-width: 1px; }
  a { color: inherit; text-decoration: none; }
  @page { margin: 14mm; }
}
"#;

fn code(s: &str) -> String {
    format!("<code>{}</code>", esc(s))
}

/// Escapes prose whose `backticked` parts (user input in messages) become
/// code.
fn prose(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    if parts.len() % 2 == 0 {
        // An unpaired backtick: show the text as it is.
        return esc(s);
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| if i % 2 == 1 { code(p) } else { esc(p) })
        .collect()
}

fn terms(t: &[String]) -> String {
    if t.is_empty() {
        "<span class=\"muted\">any</span>".to_string()
    } else {
        t.iter()
            .map(|x| esc(x))
            .collect::<Vec<_>>()
            .join(" <i>and</i> ")
    }
}

fn rules_cell(f: &Flow, report: &Report) -> String {
    if let Some(t) = f.admitted_by_text(report) {
        return prose(&t);
    }
    let mut parts: Vec<String> = f
        .rules
        .iter()
        .take(MAX_RULES_SHOWN)
        .map(|r| {
            let via = match &r.via {
                Some(v) if v.len() > 1 => {
                    format!(" <span class=\"muted\">via {}</span>", esc(&v.join(" → ")))
                }
                _ => String::new(),
            };
            let may = if r.may_accept { " (may accept)" } else { "" };
            format!(
                "<span class=\"mono\">{}</span> {}{via}{may}",
                esc(&short_location(&r.location)),
                code(&r.text)
            )
        })
        .collect();
    if f.rules.len() > MAX_RULES_SHOWN {
        parts.push(format!(
            "<span class=\"muted\">and {} more</span>",
            f.rules.len() - MAX_RULES_SHOWN
        ));
    }
    parts.join("<br>")
}

fn witness_cell(f: &Flow) -> String {
    match &f.witness {
        Some(w) if f.definite => code(&w.text),
        Some(w) => format!("{} <span class=\"muted\">(possible)</span>", code(&w.text)),
        None => "<span class=\"muted\">not found within the work budget</span>".to_string(),
    }
}

/// The HTML report.
pub fn render(report: &Report) -> String {
    let m = &report.meta;
    let p = &report.policy;
    let s = &report.summary;
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"hwc {}\">\n\
         <title>Firewall report: {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(&m.hwc_version),
        esc(&p.name)
    );
    let _ = writeln!(o, "<header>\n<h1>Firewall report: {}</h1>", esc(&p.name));
    let _ = writeln!(
        o,
        "<p class=\"lead\">What this policy lets in and out: accepted new flows, who can open outbound connections, assertions and findings.</p>"
    );
    let _ = writeln!(o, "<table class=\"meta\">");
    let _ = writeln!(o, "<tr><th>Policy file</th><td>{}</td></tr>", code(&m.file));
    let _ = writeln!(o, "<tr><th>SHA-256</th><td>{}</td></tr>", code(&m.sha256));
    for src in m.sources.iter().skip(1) {
        let _ = writeln!(
            o,
            "<tr><th>Included</th><td>{} <span class=\"muted mono\">{}</span></td></tr>",
            code(&src.path),
            esc(&src.sha256)
        );
    }
    let family = family_text(p.family).replace('`', "");
    let _ = writeln!(o, "<tr><th>Family</th><td>{}</td></tr>", esc(&family));
    let _ = writeln!(o, "<tr><th>Date</th><td>{}</td></tr>", esc(&m.date));
    let _ = writeln!(o, "<tr><th>hwc</th><td>{}</td></tr>", esc(&m.hwc_version));
    if report.flows.iter().any(|f| !f.definite) {
        let _ = writeln!(
            o,
            "<tr><th>Precision</th><td>Some tests or targets are not modelled: flows marked <i>possible</i> may not happen.</td></tr>"
        );
    }
    let _ = writeln!(o, "</table>\n</header>");

    let card = |n: usize, what: &str, bad: bool| {
        let class = if bad {
            "card bad"
        } else if n == 0 {
            "card good"
        } else {
            "card"
        };
        format!(
            "<div class=\"{class}\"><span class=\"n\">{n}</span>{}</div>",
            esc(what)
        )
    };
    let _ = writeln!(
        o,
        "<div class=\"cards\">{}{}{}{}{}</div>",
        card(s.flows, "accepted flow classes", false),
        card(
            s.nonroot_egress,
            "non-root egress flows",
            s.nonroot_egress > 0
        ),
        card(
            s.assertions_failed,
            &format!("of {} assertions fail", s.assertions),
            s.assertions_failed > 0
        ),
        card(s.errors, "errors", s.errors > 0),
        card(s.warnings, "warnings", false),
    );

    // Non-root egress, front and centre.
    let _ = writeln!(o, "<section id=\"egress\">\n<h2>Non-root egress</h2>");
    let _ = writeln!(
        o,
        "<p class=\"lead\">New outbound flows that a user other than root can open (not on <code>lo</code>).</p>"
    );
    if report.nonroot_egress.is_empty() {
        let _ = writeln!(o, "<p>None: only root can open outbound flows.</p>");
    } else {
        let _ = writeln!(
            o,
            "<table>\n<thead><tr><th>Flow</th><th>Who</th><th>To</th><th>Protocol</th><th>Out</th><th>Admitted by</th><th>Example</th></tr></thead>\n<tbody>"
        );
        for n in &report.nonroot_egress {
            let flow = report.flows.iter().find(|f| f.id == n.flow);
            let _ = writeln!(
                o,
                "<tr class=\"nonroot\"><td><a href=\"#{0}\">{0}</a></td><td class=\"who\">{1}</td><td>{2}</td><td>{3}</td><td>{4}</td><td>{5}</td><td class=\"example\">{6}</td></tr>",
                esc(&n.flow),
                terms(&n.who),
                terms(&n.to),
                terms(&n.protocol),
                terms(&n.oif),
                flow.map(|f| rules_cell(f, report)).unwrap_or_default(),
                code(&n.witness.text)
                    + if n.definite {
                        ""
                    } else {
                        " <span class=\"muted\">(possible)</span>"
                    }
            );
        }
        let _ = writeln!(o, "</tbody>\n</table>");
    }
    if let Some(pic) = svg::users_to_destinations(report) {
        let _ = writeln!(
            o,
            "<figure>\n{pic}\n<figcaption>Who can open which outbound flows (output chain, new and untracked). Red: a user other than root can open it.</figcaption>\n</figure>"
        );
    }
    let _ = writeln!(o, "</section>");

    // Assertions.
    let _ = writeln!(o, "<section id=\"assertions\">\n<h2>Assertions</h2>");
    if report.assertions.is_empty() {
        let _ = writeln!(
            o,
            "<p>The policy states no assertions or egress blocks.</p>"
        );
    } else {
        let _ = writeln!(
            o,
            "<table>\n<thead><tr><th>Status</th><th>Assertion</th><th>Where</th><th>Counterexample</th></tr></thead>\n<tbody>"
        );
        for a in &report.assertions {
            let label = match a.status {
                "holds" => "holds",
                "fails" => "fails",
                _ => "not checked",
            };
            let _ = writeln!(
                o,
                "<tr><td class=\"status {}\">{label}</td><td>{}</td><td class=\"mono\">{}</td><td>{}</td></tr>",
                a.status,
                code(&a.text),
                esc(&short_location(&a.location)),
                a.witness.as_ref().map(|w| code(&w.text)).unwrap_or_default()
            );
        }
        let _ = writeln!(o, "</tbody>\n</table>");
        if report.assertions.iter().any(|a| a.status == "not-checked") {
            let _ = writeln!(
                o,
                "<p class=\"muted\">This build of hwc does not check assertions (no <code>assertion-failed</code> lint).</p>"
            );
        }
    }
    let _ = writeln!(o, "</section>");

    // Findings.
    let _ = writeln!(o, "<section id=\"findings\">\n<h2>Findings</h2>");
    if report.findings.is_empty() {
        let _ = writeln!(o, "<p>No findings.</p>");
    } else {
        let _ = writeln!(o, "<ul class=\"findings\">");
        for f in &report.findings {
            let sev = f.severity.name();
            let _ = write!(
                o,
                "<li class=\"{sev}\"><span class=\"sev {sev}\">{sev}[{}]</span> {} <span class=\"mono muted\">{}:{}:{}</span>\n<dl>",
                esc(f.code),
                prose(&f.message),
                esc(&f.file),
                f.line,
                f.column
            );
            if let Some(w) = &f.witness {
                let _ = write!(o, "<dt>example packet</dt><dd>{}</dd>", code(&w.text));
            }
            for l in f.labels.iter().filter(|l| !l.primary) {
                let _ = write!(
                    o,
                    "<dt class=\"mono\">{}:{}:{}</dt><dd>{}</dd>",
                    esc(&l.file),
                    l.line,
                    l.column,
                    prose(l.message.as_deref().unwrap_or("related place"))
                );
            }
            if let Some(n) = &f.note {
                let _ = write!(o, "<dt>note</dt><dd>{}</dd>", prose(n));
            }
            if let Some(h) = &f.help {
                let _ = write!(o, "<dt>help</dt><dd>{}</dd>", prose(h));
            }
            let _ = writeln!(o, "</dl></li>");
        }
        let _ = writeln!(o, "</ul>");
    }
    let _ = writeln!(o, "</section>");

    // Flows of every hook: the matrix, then the table.
    let _ = writeln!(o, "<section id=\"flows\">\n<h2>Accepted new flows</h2>");
    let _ = writeln!(
        o,
        "<p class=\"lead\">Packets in state new or untracked that each hook accepts, grouped by the rules that admit them. Established and related packets follow these flows and are not listed.</p>"
    );
    for h in &report.hooks {
        hook_section(&mut o, report, h);
    }
    let _ = writeln!(o, "</section>");
    let _ = writeln!(
        o,
        "<footer>Generated by hwc {} from {} (SHA-256 <span class=\"mono\">{}</span>) on {}.</footer>\n</body>\n</html>",
        esc(&m.hwc_version),
        esc(&m.file),
        esc(&m.sha256),
        esc(&m.date)
    );
    o
}

fn hook_section(o: &mut String, report: &Report, h: &HookInfo) {
    let flows: Vec<&Flow> = report.flows.iter().filter(|f| f.hook == h.hook).collect();
    let head = match (&h.chain, h.policy) {
        (Some(c), Some(pol)) => format!("chain <code>{}</code>, policy {pol}", esc(c)),
        _ => "no chain: everything is accepted".to_string(),
    };
    let _ = writeln!(
        o,
        "<h3 id=\"hook-{0}\">{0} <span class=\"muted\">({head}; {1})</span></h3>",
        h.hook,
        plural(flows.len(), "flow class", "flow classes")
    );
    if flows.is_empty() {
        let _ = writeln!(o, "<p>No new flows are accepted.</p>");
        return;
    }
    let output = h.hook == "output";
    matrix(o, &flows, output);
    let show_from = flows.iter().any(|f| !f.from.is_empty());
    let show_in = flows.iter().any(|f| !f.iif.is_empty());
    let show_out = flows.iter().any(|f| !f.oif.is_empty());
    let show_other = flows.iter().any(|f| !f.other.is_empty());
    let mut head = String::from("<th>Flow</th>");
    if output {
        head.push_str("<th>Who</th>");
    }
    if show_from {
        head.push_str("<th>From</th>");
    }
    head.push_str("<th>To</th><th>Protocol</th>");
    if show_in {
        head.push_str("<th>In</th>");
    }
    if show_out {
        head.push_str("<th>Out</th>");
    }
    if show_other {
        head.push_str("<th>Other</th>");
    }
    head.push_str("<th>State</th><th>Admitted by</th><th>Example</th>");
    let _ = writeln!(o, "<table>\n<thead><tr>{head}</tr></thead>\n<tbody>");
    for f in flows {
        let class = if f.nonroot_witness.is_some() {
            " class=\"nonroot\""
        } else {
            ""
        };
        let _ = write!(o, "<tr id=\"{0}\"{class}><td>{0}</td>", esc(&f.id));
        if output {
            let _ = write!(o, "<td class=\"who\">{}</td>", terms(&f.who()));
        }
        if show_from {
            let _ = write!(o, "<td>{}</td>", terms(&f.from));
        }
        let _ = write!(
            o,
            "<td>{}</td><td>{}</td>",
            terms(&f.to),
            terms(&f.protocol)
        );
        if show_in {
            let _ = write!(o, "<td>{}</td>", terms(&f.iif));
        }
        if show_out {
            let _ = write!(o, "<td>{}</td>", terms(&f.oif));
        }
        if show_other {
            let _ = write!(o, "<td>{}</td>", terms(&f.other));
        }
        let _ = writeln!(
            o,
            "<td>{}</td><td>{}</td><td class=\"example\">{}</td></tr>",
            esc(&f.states.join(", ")),
            rules_cell(f, report),
            witness_cell(f)
        );
    }
    let _ = writeln!(o, "</tbody>\n</table>");
}

/// The flow matrix of a hook: sources (who, for output) down, destinations
/// across, the protocols of the flows in the cells.
fn matrix(o: &mut String, flows: &[&Flow], output: bool) {
    let row_key = |f: &Flow| {
        if output {
            terms_text(&f.who())
        } else {
            terms_text(&f.from)
        }
    };
    let col_key = |f: &Flow| terms_text(&f.to);
    let mut rows: Vec<String> = Vec::new();
    let mut cols: Vec<String> = Vec::new();
    for f in flows {
        for (v, k) in [(&mut rows, row_key(f)), (&mut cols, col_key(f))] {
            if !v.contains(&k) {
                v.push(k);
            }
        }
    }
    if rows.len() > MAX_MATRIX_ROWS || cols.len() > MAX_MATRIX_COLS {
        let _ = writeln!(
            o,
            "<p class=\"muted\">{} sources and {} destinations: too many for a matrix; the table lists every flow.</p>",
            rows.len(),
            cols.len()
        );
        return;
    }
    let corner = if output { "who \\ to" } else { "from \\ to" };
    let _ = write!(
        o,
        "<table class=\"matrix\">\n<thead><tr><th>{}</th>",
        esc(corner)
    );
    for c in &cols {
        let _ = write!(o, "<th scope=\"col\">{}</th>", esc(c));
    }
    let _ = writeln!(o, "</tr></thead>\n<tbody>");
    for r in &rows {
        let _ = write!(o, "<tr><th scope=\"row\">{}</th>", esc(r));
        for c in &cols {
            let cell: Vec<String> = flows
                .iter()
                .filter(|f| row_key(f) == *r && col_key(f) == *c)
                .map(|f| {
                    let mut what = terms_text(&f.protocol);
                    if !f.iif.is_empty() {
                        what.push_str(&format!(" in {}", terms_text(&f.iif)));
                    }
                    if !f.oif.is_empty() {
                        what.push_str(&format!(" out {}", terms_text(&f.oif)));
                    }
                    format!("<a href=\"#{0}\">{0}</a> {1}", esc(&f.id), esc(&what))
                })
                .collect();
            let _ = write!(o, "<td>{}</td>", cell.join("<br>"));
        }
        let _ = writeln!(o, "</tr>");
    }
    let _ = writeln!(o, "</tbody>\n</table>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backticks_become_code_and_everything_is_escaped() {
        assert_eq!(
            prose("`a<b` is <not> used"),
            "<code>a&lt;b</code> is &lt;not&gt; used"
        );
        assert_eq!(prose("odd ` tick"), "odd ` tick");
    }
}
