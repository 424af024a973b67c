//! Errors of the iptables-save reader: each malformed dump's diagnostics,
//! rendered with their labelled spans, in one snapshot per case.

use hwc::diagnostics::Diagnostic;
use hwc::import;
use hwc::source::{FileId, SourceFile};
use std::fmt::Write as _;

const HEAD: &str =
    "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:user - [0:0]\n";

/// A small text rendering: message, location, the line with the label
/// underlined, help and note.
fn render(text: &str, diags: &[Diagnostic]) -> String {
    let f = SourceFile::new("dump", text);
    let mut out = String::new();
    for d in diags {
        let _ = writeln!(out, "{}[{}]: {}", d.severity.name(), d.code, d.message);
        for l in &d.labels {
            let (line, col) = f.line_col(l.span.start);
            let src = f.line_text(line);
            let width = f.slice(l.span).chars().count().max(1);
            let mark = if l.primary { "^" } else { "-" };
            let _ = writeln!(out, "  --> {line}:{col}");
            let _ = writeln!(out, "   | {src}");
            let _ = writeln!(
                out,
                "   | {}{} {}",
                " ".repeat(col - 1),
                mark.repeat(width),
                l.message
            );
        }
        if let Some(n) = &d.note {
            let _ = writeln!(out, "  = note: {n}");
        }
        if let Some(h) = &d.help {
            let _ = writeln!(out, "  = help: {h}");
        }
    }
    out
}

fn case(name: &str, text: &str) {
    let (policy, diags) = import::read_dump(FileId(0), text);
    assert!(
        diags.iter().any(Diagnostic::is_error),
        "{name}: expected an error"
    );
    assert!(policy.is_none(), "{name}: a policy despite errors");
    for d in &diags {
        assert_eq!(d.labels.iter().filter(|l| l.primary).count(), 1);
        assert!(d.help.is_some(), "{name}: `{}` has no help", d.message);
        for l in &d.labels {
            assert!(l.span.end as usize <= text.len());
            assert!(text.is_char_boundary(l.span.start as usize));
            assert!(!l.span.is_empty(), "{name}: empty label span");
        }
    }
    insta::assert_snapshot!(name, format!("{text}\n----\n{}", render(text, &diags)));
}

fn rules(r: &str) -> String {
    format!("{HEAD}{r}\nCOMMIT\n")
}

#[test]
fn words_and_values() {
    case(
        "unterminated_quote",
        &rules(r#"-A INPUT -m comment --comment "abc -j ACCEPT"#),
    );
    case("bad_address", &rules("-A INPUT -s 10.0.0.300 -j ACCEPT"));
    case("host_name", &rules("-A INPUT -d example.com -j ACCEPT"));
    case("bad_prefix", &rules("-A INPUT -d 10.0.0.0/33 -j ACCEPT"));
    case(
        "bad_ports",
        &rules("-A INPUT -p tcp -m tcp --dport 70000 -j ACCEPT\n-A INPUT -p tcp -m tcp --dport ssh -j ACCEPT\n-A INPUT -p tcp -m tcp --sport 9:1 -j ACCEPT"),
    );
    case("unknown_protocol", &rules("-A INPUT -p foo -j ACCEPT"));
    case(
        "bad_icmp_type",
        &rules("-A INPUT -p icmp -m icmp --icmp-type echo -j ACCEPT"),
    );
    case(
        "bad_state",
        &rules("-A INPUT -m state --state NEW,FOO -j ACCEPT"),
    );
    case(
        "long_interface",
        &rules("-A INPUT -i averyveryverylongname0 -j ACCEPT"),
    );
    case("bad_log_level", &rules("-A INPUT -j LOG --log-level loud"));
    case(
        "bad_reject_reason",
        &rules("-A INPUT -j REJECT --reject-with icmp-go-away"),
    );
    case(
        "bad_rate",
        &rules("-A INPUT -m limit --limit 3/fortnight -j ACCEPT"),
    );
    case(
        "bad_owner",
        &rules("-A OUTPUT -m owner --uid-owner 10-2 -j ACCEPT"),
    );
}

#[test]
fn options_and_modules() {
    case(
        "tcp_without_protocol",
        &rules("-A INPUT -m tcp --dport 22 -j ACCEPT"),
    );
    case(
        "tcp_module_for_udp",
        &rules("-A INPUT -p udp -m tcp --dport 22 -j ACCEPT"),
    );
    case(
        "multiport_without_protocol",
        &rules("-A INPUT -m multiport --dports 22,80 -j ACCEPT"),
    );
    case("missing_value", &rules("-A INPUT -s -j ACCEPT"));
    case(
        "option_without_module",
        &rules("-A INPUT --dport 22 -j ACCEPT"),
    );
    case(
        "unknown_target_option",
        &rules("-A INPUT -j LOG --log-colour red"),
    );
    case(
        "double_negation",
        &rules("-A INPUT ! ! -s 10.0.0.1 -j DROP"),
    );
    case("trailing_negation", &rules("-A INPUT -j DROP !"));
    case(
        "negated_match_module",
        &rules("-A INPUT ! -m state --state NEW -j DROP"),
    );
    case(
        "negated_limit",
        &rules("-A INPUT -m limit ! --limit 3/min -j ACCEPT"),
    );
    case("two_targets", &rules("-A INPUT -j ACCEPT -j DROP"));
    case("two_protocols", &rules("-A INPUT -p tcp -p udp -j DROP"));
    case("stray_word", &rules("-A INPUT -s 10.0.0.1 oops -j DROP"));
    case(
        "nat_state_in_state_module",
        &rules("-A INPUT -m state --state DNAT -j ACCEPT"),
    );
}

#[test]
fn chains_and_tables() {
    case("undeclared_chain", &rules("-A nosuch -j ACCEPT"));
    case("jump_to_undeclared_chain", &rules("-A INPUT -j nosuch"));
    case("goto_a_target", &rules("-A INPUT -g ACCEPT"));
    case(
        "jump_with_options",
        &rules("-A INPUT -j user --log-prefix x"),
    );
    case(
        "chain_cycle",
        "*filter\n:INPUT ACCEPT [0:0]\n:a - [0:0]\n:b - [0:0]\n-A INPUT -j a\n-A a -j b\n-A b -p tcp -j a\nCOMMIT\n",
    );
    case(
        "duplicate_chain",
        "*filter\n:INPUT ACCEPT [0:0]\n:a - [0:0]\n:a - [0:0]\nCOMMIT\n",
    );
    case(
        "duplicate_table",
        "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n*filter\n:INPUT DROP [0:0]\nCOMMIT\n",
    );
    case(
        "missing_commit",
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j DROP\n",
    );
    case(
        "line_outside_table",
        "-A INPUT -j DROP\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\nCOMMIT\n",
    );
    case(
        "chain_policies",
        "*filter\n:INPUT - [0:0]\n:mine ACCEPT [0:0]\n:OUTPUT QUEUE [0:0]\n:FORWARD\nCOMMIT\n",
    );
    case("iptables_command", &rules("-D INPUT 1"));
    case("insert_position", &rules("-I INPUT 5 -j DROP"));
    case("no_table", "# just a comment\n\n");
}

#[test]
fn families() {
    case(
        "ipv4_address_in_ip6tables_dump",
        "# Generated by ip6tables-save v1.8.9 on Mon Jan  1 00:00:00 2024\n*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 10.0.0.1/32 -j ACCEPT\n-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT\nCOMMIT\n",
    );
    case(
        "mixed_families_by_content",
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 10.0.0.1 -j ACCEPT\n-A INPUT -s 10.0.0.2 -j ACCEPT\n-A INPUT -d 2001:db8::1 -j ACCEPT\nCOMMIT\n",
    );
    case(
        "mixed_list",
        &rules("-A INPUT -s 10.0.0.1,2001:db8::1 -j ACCEPT"),
    );
}

/// One pass reports every bad line and still reads the good ones.
#[test]
fn reading_goes_on_after_errors() {
    let text = rules(
        "-A INPUT -s 10.0.0.300 -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -p nope -j DROP\n-A INPUT -j nowhere\n-A INPUT -j ACCEPT",
    );
    let (policy, diags) = import::read_dump(FileId(0), &text);
    assert!(policy.is_none());
    let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["dump-syntax", "dump-syntax", "dump-unknown-chain"]);
    case("several_errors", &text);
}
