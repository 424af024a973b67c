//! Backends: the resolved policy ([`crate::ir::Policy`]) as firewall text.
//!
//! - [`iptables::emit`] writes `iptables-restore` and `ip6tables-restore`
//!   input for the `filter` table, one text per family the policy filters.
//! - [`nftables::emit`] writes one `nft -f` script that atomically replaces
//!   hwc's own tables and leaves every other table (Docker's, for one)
//!   alone.
//!
//! Both share [`lower`], which turns IR rules (unions, negations, owner
//! tests that must never be negated in the kernel) into kernel rules with
//! the same meaning, and [`quote`], the one place that validates and quotes
//! every user string that reaches the output. Backends never see the AST
//! and do no I/O. Every kernel rule carries a comment `FILE:LINE` pointing
//! to the `.hw` rule it implements.

pub mod iptables;
pub(crate) mod lower;
pub mod nft_read;
pub mod nftables;
pub mod quote;
pub mod validate;

use crate::ir::Family;
use crate::source::{SourceMap, Span};

/// A firewall tool hwc writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Iptables,
    Nftables,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Iptables => "iptables",
            Target::Nftables => "nftables",
        }
    }
}

/// One generated text and the file-name suffix the CLI gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// `ipt4` (iptables-restore), `ipt6` (ip6tables-restore) or `nft`.
    pub suffix: &'static str,
    pub text: String,
}

/// Compiles a policy for a target: one artifact per text the target needs.
pub fn compile(
    policy: &crate::ir::Policy,
    sources: Option<&SourceMap>,
    target: Target,
) -> Result<Vec<Artifact>, Vec<crate::diagnostics::Diagnostic>> {
    match target {
        Target::Iptables => {
            let out = iptables::emit(policy, sources)?;
            let mut v = Vec::new();
            if let Some(text) = out.v4 {
                v.push(Artifact {
                    suffix: "ipt4",
                    text,
                });
            }
            if let Some(text) = out.v6 {
                v.push(Artifact {
                    suffix: "ipt6",
                    text,
                });
            }
            Ok(v)
        }
        Target::Nftables => Ok(vec![Artifact {
            suffix: "nft",
            text: nftables::emit(policy, sources)?,
        }]),
    }
}

/// `FILE:LINE` of a span, for rule comments; `None` without sources.
pub(crate) fn location(sources: Option<&SourceMap>, span: Span) -> Option<String> {
    let sources = sources?;
    if span.file.0 as usize >= sources.len() {
        return None;
    }
    let file = sources.get(span.file);
    let (line, _) = file.line_col(span.start);
    Some(format!("{}:{line}", file.path.display()))
}

/// The comment text of a kernel rule: where it came from, then the
/// author's comment.
pub(crate) fn rule_comment(
    sources: Option<&SourceMap>,
    span: Span,
    comment: Option<&str>,
) -> Option<String> {
    match (location(sources, span), comment) {
        (Some(l), Some(c)) => Some(format!("{l} {c}")),
        (Some(l), None) => Some(l),
        (None, Some(c)) => Some(c.to_string()),
        (None, None) => None,
    }
}

/// A line saying where the text came from, for the output's header.
pub(crate) fn origin(policy: &crate::ir::Policy, sources: Option<&SourceMap>) -> String {
    match location(sources, policy.span) {
        Some(loc) => format!("policy `{}` ({loc})", policy.name),
        None => format!("policy `{}`", policy.name),
    }
}

/// An address range as the tools write it: `a`, `a/len` or `a-b`.
pub(crate) fn addr_range(family: Family, lo: u128, hi: u128) -> String {
    let r = crate::ir::AddrRange { family, lo, hi };
    if lo == hi {
        return addr(family, lo);
    }
    match r.as_prefix() {
        Some(len) => format!("{}/{len}", addr(family, lo)),
        None => format!("{}-{}", addr(family, lo), addr(family, hi)),
    }
}

pub(crate) fn addr(family: Family, v: u128) -> String {
    match family {
        Family::V4 => std::net::Ipv4Addr::from(v as u32).to_string(),
        Family::V6 => std::net::Ipv6Addr::from(v).to_string(),
    }
}

/// The name iptables and nft both know for common protocols; a number
/// otherwise (no dependency on the host's /etc/protocols).
pub(crate) fn proto_name(p: u8, v6_icmp_name: &'static str) -> String {
    match p {
        1 => "icmp".into(),
        6 => "tcp".into(),
        17 => "udp".into(),
        58 => v6_icmp_name.into(),
        132 => "sctp".into(),
        n => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_print_as_the_tools_read_them() {
        assert_eq!(
            addr_range(Family::V4, 0x0a00_0000, 0x0aff_ffff),
            "10.0.0.0/8"
        );
        assert_eq!(addr_range(Family::V4, 1, 1), "0.0.0.1");
        assert_eq!(addr_range(Family::V4, 10, 20), "0.0.0.10-0.0.0.20");
        assert_eq!(addr_range(Family::V4, 0, u32::MAX as u128), "0.0.0.0/0");
        assert_eq!(addr_range(Family::V6, 0, u128::MAX), "::/0");
    }
}

#[cfg(test)]
mod semantics_tests;
