//! An inline SVG picture of who can open which outbound flows: users and
//! groups on the left, destinations (protocol, address, interface) on the
//! right, one line per output flow class. Lines of flows that a user other
//! than root can open are red. No script, no fonts to fetch: text uses the
//! reader's sans-serif font, and long labels are cut with the full text in
//! a tooltip (`<title>`).

use super::{terms_text, Flow, Report};
use std::fmt::Write;

const WIDTH: u32 = 960;
const LEFT_X: u32 = 16;
const LEFT_W: u32 = 250;
const RIGHT_X: u32 = 560;
const RIGHT_W: u32 = 384;
const ROW: u32 = 32;
const BOX_H: u32 = 24;
const TOP: u32 = 44;
/// Characters that fit in a box at 12px (a generous average width).
const LEFT_CHARS: usize = 34;
const RIGHT_CHARS: usize = 54;

/// Escapes text for XML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// Where an output flow goes: `dns (udp 53, tcp 53) to resolver (…)`.
pub fn destination(f: &Flow) -> String {
    let mut s = terms_text(&f.protocol);
    if s == "any" {
        s = "anything".to_string();
    }
    s.push_str(" to ");
    s.push_str(&if f.to.is_empty() {
        "anywhere".to_string()
    } else {
        terms_text(&f.to)
    });
    if !f.oif.is_empty() {
        s.push_str(" via ");
        s.push_str(&terms_text(&f.oif));
    }
    s
}

struct Edge {
    from: usize,
    to: usize,
    nonroot: bool,
    title: String,
}

/// The picture, or `None` when no output flow is accepted.
pub fn users_to_destinations(report: &Report) -> Option<String> {
    let flows: Vec<&Flow> = report.flows.iter().filter(|f| f.hook == "output").collect();
    if flows.is_empty() {
        return None;
    }
    let mut left: Vec<String> = Vec::new();
    let mut right: Vec<String> = Vec::new();
    let mut edges: Vec<Edge> = Vec::new();
    let index = |v: &mut Vec<String>, s: String| match v.iter().position(|x| *x == s) {
        Some(i) => i,
        None => {
            v.push(s);
            v.len() - 1
        }
    };
    for f in &flows {
        let who = terms_text(&f.who());
        let dest = destination(f);
        let title = format!("{}: {who} → {dest}", f.id);
        let (a, b) = (index(&mut left, who), index(&mut right, dest));
        match edges.iter_mut().find(|e| e.from == a && e.to == b) {
            Some(e) => {
                e.nonroot |= f.nonroot_witness.is_some();
                e.title.push_str(&format!("; {}", f.id));
            }
            None => edges.push(Edge {
                from: a,
                to: b,
                nonroot: f.nonroot_witness.is_some(),
                title,
            }),
        }
    }
    let rows = left.len().max(right.len()) as u32;
    let height = TOP + rows * ROW + 56;
    // Each column is centred in the height of the taller one.
    let y_of = |i: usize, n: usize| -> u32 { TOP + (rows - n as u32) * ROW / 2 + i as u32 * ROW };
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"flows\" viewBox=\"0 0 {WIDTH} {height}\" \
         width=\"100%\" role=\"img\" aria-labelledby=\"svg-title\">\n\
         <title id=\"svg-title\">Which users can open which outbound flows</title>\n\
         <text x=\"{LEFT_X}\" y=\"22\" class=\"head\">Who (socket owner)</text>\n\
         <text x=\"{RIGHT_X}\" y=\"22\" class=\"head\">Destination</text>\n"
    );
    // Grey lines first, red on top.
    let mut order: Vec<&Edge> = edges.iter().collect();
    order.sort_by_key(|e| e.nonroot);
    for e in order {
        let y1 = y_of(e.from, left.len()) + BOX_H / 2;
        let y2 = y_of(e.to, right.len()) + BOX_H / 2;
        let x1 = LEFT_X + LEFT_W;
        let x2 = RIGHT_X;
        let mx = (x1 + x2) / 2;
        let class = if e.nonroot { "edge nonroot" } else { "edge" };
        let _ = writeln!(
            s,
            "<path class=\"{class}\" d=\"M{x1} {y1} C{mx} {y1}, {mx} {y2}, {x2} {y2}\"><title>{}</title></path>",
            esc(&e.title)
        );
    }
    let nonroot_left = |i: usize| edges.iter().any(|e| e.from == i && e.nonroot);
    let nonroot_right = |i: usize| edges.iter().any(|e| e.to == i && e.nonroot);
    for (i, label) in left.iter().enumerate() {
        let y = y_of(i, left.len());
        let class = if nonroot_left(i) {
            "node nonroot"
        } else {
            "node"
        };
        let _ = writeln!(
            s,
            "<g class=\"{class}\"><title>{}</title><rect x=\"{LEFT_X}\" y=\"{y}\" width=\"{LEFT_W}\" height=\"{BOX_H}\" rx=\"4\"/>\
             <text x=\"{}\" y=\"{}\">{}</text></g>",
            esc(label),
            LEFT_X + 8,
            y + 16,
            esc(&cut(label, LEFT_CHARS))
        );
    }
    for (i, label) in right.iter().enumerate() {
        let y = y_of(i, right.len());
        let class = if nonroot_right(i) {
            "node nonroot"
        } else {
            "node"
        };
        let _ = writeln!(
            s,
            "<g class=\"{class}\"><title>{}</title><rect x=\"{RIGHT_X}\" y=\"{y}\" width=\"{RIGHT_W}\" height=\"{BOX_H}\" rx=\"4\"/>\
             <text x=\"{}\" y=\"{}\">{}</text></g>",
            esc(label),
            RIGHT_X + 8,
            y + 16,
            esc(&cut(label, RIGHT_CHARS))
        );
    }
    let ly = height - 22;
    let _ = write!(
        s,
        "<g class=\"legend\">\
         <path class=\"edge nonroot\" d=\"M{LEFT_X} {ly} h36\"/><text x=\"{}\" y=\"{}\">a user other than root can open it</text>\
         <path class=\"edge\" d=\"M{} {ly} h36\"/><text x=\"{}\" y=\"{}\">root only, or on the loopback interface</text>\
         </g>\n</svg>",
        LEFT_X + 44,
        ly + 4,
        LEFT_X + 320,
        LEFT_X + 364,
        ly + 4
    );
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_cutting() {
        assert_eq!(esc("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }
}
