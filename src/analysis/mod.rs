//! The lint registry: every lint of [`crate::diagnostics::lints::LINTS`]
//! that has an implementation is one row of [`REGISTRY`], and
//! [`analyze`] runs them all and applies `@allow(...)` suppression in this
//! one place.
//!
//! Adding a lint: write `src/analysis/<name>.rs` with a
//! `pub fn check(policy: &ir::Policy) -> Vec<Diagnostic>` whose doc comment
//! is the user documentation, then add one [`Lint`] row below.

use crate::diagnostics::{lints, Diagnostic};
use crate::ir;
use crate::source::Span;

/// A lint check: every finding of one lint on one policy, before
/// suppression.
pub type LintFn = fn(&ir::Policy) -> Vec<Diagnostic>;

/// One registered lint.
#[derive(Debug, Clone, Copy)]
pub struct Lint {
    /// The lint's name, a row of [`lints::LINTS`].
    pub name: &'static str,
    pub check: LintFn,
}

/// The registered lints, in the order they run. Their findings are
/// returned in this order (within one lint, in the lint's own order).
pub const REGISTRY: &[Lint] = &[];

/// Runs every registered lint on `policy` and drops the findings that an
/// `@allow(...)` on the rule, its chain, the definition or the egress block
/// suppresses.
pub fn analyze(policy: &ir::Policy) -> Vec<Diagnostic> {
    REGISTRY
        .iter()
        .flat_map(|lint| (lint.check)(policy))
        .filter(|d| !is_suppressed(policy, d))
        .collect()
}

/// Whether an `@allow(code)` covers the primary place of `diag`. Only lints
/// can be suppressed; errors never are.
pub fn is_suppressed(policy: &ir::Policy, diag: &Diagnostic) -> bool {
    if !lints::is_lint(diag.code) {
        return false;
    }
    let at = diag.primary_span();
    let allows = |list: &[String]| list.iter().any(|name| name == diag.code);
    for chain in &policy.chains {
        if covers(chain.span, at) && allows(&chain.allow) {
            return true;
        }
        for rule in &chain.rules {
            if covers(rule.span, at) && (allows(&rule.allow) || allows(&chain.allow)) {
                return true;
            }
        }
    }
    policy
        .definitions
        .iter()
        .any(|d| covers(d.span, at) && allows(&d.allow))
        || policy
            .egress
            .iter()
            .any(|e| covers(e.span, at) && allows(&e.allow))
}

fn covers(outer: Span, inner: Span) -> bool {
    outer.file == inner.file && outer.start <= inner.start && inner.end <= outer.end
}

/// The explanation of a lint for `hwc explain NAME`, in four sections
/// (What it does, Why is this bad, Example, How to fix). Its one-line
/// summary and severity are in [`lints::LINTS`].
pub fn lint_doc(name: &str) -> Option<&'static str> {
    LINT_DOCS
        .iter()
        .find(|(lint, _)| *lint == name)
        .map(|(_, doc)| *doc)
}

/// The explanation of every lint, in the four sections of a lint's doc
/// comment. A lint file's own doc comment replaces its row here once the
/// lint is implemented.
const LINT_DOCS: &[(&str, &str)] = &[
    (
        "shadowed",
        "## What it does
Finds a rule that can never match because earlier rules already decide every
packet it would match, and at least some of them with a different verdict.

## Why is this bad
The rule looks like it does something but never fires. Usually it was added
below a catch-all, and the traffic it was meant to allow (or block) gets the
opposite verdict.

## Example
```
chain input policy drop {
  drop  from 198.51.100.0/24
  accept tcp 22 from 198.51.100.7     # never matches: dropped above
}
```

## How to fix
Move the rule above the rules that cover it (the diagnostic labels them), or
delete it if the earlier verdict is the one you want.",
    ),
    (
        "redundant",
        "## What it does
Finds a rule whose removal would change the verdict of no packet: earlier
rules, or the rules and the chain policy after it, already give every packet
it matches the same verdict.

## Why is this bad
Redundant rules make a policy longer and harder to review, and hide the rule
that really decides a packet.

## Example
```
chain input policy drop {
  accept tcp 80, 443
  accept tcp 443                      # already accepted above
}
```

## How to fix
Delete the rule, or narrow the earlier rule if this one was meant to be the
only one admitting that traffic.",
    ),
    (
        "overlap",
        "## What it does
Reports a rule that partially overlaps an earlier rule with another verdict:
some of its packets are decided by the earlier rule, others by this one.

## Why is this bad
Nothing is wrong by itself, but a partial overlap is a common source of
surprises: the later rule does less than it says. It is reported as
information only.

## Example
```
chain input policy drop {
  drop   from 198.51.100.0/25
  accept tcp 22 from 198.51.100.0/24  # half of these are dropped above
}
```

## How to fix
If the overlap is intended, add `@allow(overlap)` with a comment saying why;
otherwise narrow one of the two rules.",
    ),
    (
        "unreachable-chain",
        "## What it does
Finds a user chain that no `jump` or `goto` from a built-in chain reaches.

## Why is this bad
Its rules never run. Usually a `jump` was forgotten or removed.

## Example
```
chain ssh-in {
  accept from admins
}
chain input policy drop {
  accept state established, related   # no `jump ssh-in`
}
```

## How to fix
Add a `jump` (or `goto`) to the chain where its rules should apply, or delete
the chain.",
    ),
    (
        "nonroot-egress",
        "## What it does
Finds new outbound flows that a user other than root can open and that no
`egress` block declares.

## Why is this bad
A compromised service (a web server running as `www-data`) can call home, send
spam or scan other hosts through such a path. Most server policies mean to
allow only a few destinations (DNS, NTP) to non-root users.

## Example
```
chain output policy drop {
  accept state new                    # any user, anywhere
}
```

## How to fix
Restrict the accepting rule to `user root` or to the destinations the service
needs, or declare the intended flows in an `egress user not root only { ... }`
block.",
    ),
    (
        "assertion-failed",
        "## What it does
Checks every `assert allow|deny|reachable` and every `egress ... only { }`
block against the rules, and reports the ones that do not hold with a
concrete counterexample packet.

## Why is this bad
An assertion states an intent (\"telnet is never accepted\"); when it fails,
the rules do not do what their author meant.

## Example
```
chain input policy accept {}
assert deny input state new tcp 23    # fails: the policy accepts it
```

## How to fix
Read the counterexample packet: it shows a packet that gets the wrong verdict.
Fix the rule that decides it (or correct the assertion if the intent changed).",
    ),
    (
        "ipv6-unfiltered",
        "## What it does
Reports a policy or ruleset that filters IPv4 only, so that IPv6 packets pass
untouched.

## Why is this bad
Most hosts have IPv6 enabled, often with global addresses. An `iptables`-only
firewall leaves every IPv6 port open because `ip6tables` chains default to
accept.

## Example
```
policy web {
  family ip                           # IPv6 is not filtered at all
}
```

## How to fix
Use `family inet` so that the rules apply to both families, or add an IPv6
ruleset.",
    ),
    (
        "ipv6-nd-blocked",
        "## What it does
Finds policies that drop ICMPv6 neighbour discovery (types 133-136) or
multicast listener discovery packets.

## Why is this bad
Without neighbour discovery a host cannot find its router or neighbours: it
loses IPv6 connectivity entirely, often long after the change, when caches
expire. These packets are UNTRACKED, so `state established, related` does not
admit them.

## Example
```
policy host { family inet }
chain input policy drop {
  accept state established, related   # NDP is dropped
}
```

## How to fix
Accept the neighbour discovery types early in `input` and `output`:
`accept icmpv6 nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert`.",
    ),
    (
        "lockout",
        "## What it does
Reports an input policy where no rule admits new inbound SSH (TCP port 22)
connections.

## Why is this bad
Loading such a ruleset on a remote server locks its administrators out; the
only way back is a console.

## Example
```
chain input policy drop {
  accept state established, related
  accept tcp 80
}
```

## How to fix
Admit SSH from the admin network (`accept state new tcp 22 from admins`), or
add `@allow(lockout)` on the chain when the host is managed another way.",
    ),
    (
        "log-unlimited",
        "## What it does
Finds `log` rules without a `limit`.

## Why is this bad
A log rule at the end of a chain logs every dropped packet: a scan or a flood
fills the disk and the kernel log buffer, and hides the messages that matter.

## Example
```
chain input policy drop {
  log prefix \"INPUT \"
}
```

## How to fix
Add a rate limit: `log prefix \"INPUT \" limit 10/minute burst 5`.",
    ),
    (
        "default-accept",
        "## What it does
Reports a built-in chain (`input`, `output`, `forward`) whose default is
accept, either written as `policy accept` or because the chain or its
`policy` is missing (the kernel's default).

## Why is this bad
Every packet that no rule mentions is let through: a firewall that allows by
default only blocks what its author thought of.

## Example
```
chain input {
  drop tcp 23
}
```

## How to fix
Write `policy drop` and accept what is needed explicitly, or add
`@allow(default-accept)` to the chain with a reason.",
    ),
    (
        "invalid-accepted",
        "## What it does
Finds packets in conntrack state INVALID that the policy accepts.

## Why is this bad
INVALID packets belong to no known connection: out-of-window TCP segments,
malformed packets, stray ICMP errors. Accepting them helps scans and some
evasion techniques.

## Example
```
chain input policy drop {
  accept tcp 80                        # also accepts INVALID packets
}
```

## How to fix
Add `drop state invalid` near the top of the chain, before the accepting
rules.",
    ),
    (
        "unused",
        "## What it does
Finds definitions (`host`, `net`, `service`, `user`, `group`, `iface`, `list`)
that no rule, assertion, egress block or other definition uses.

## Why is this bad
An unused definition is often a sign of a rule that was meant to use it and
does not, or a leftover that misleads readers.

## Example
```
host backup = 192.0.2.20              # never used
```

## How to fix
Use it where it was meant to be used, or delete it.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lint_has_a_doc_and_every_doc_a_lint() {
        for l in lints::LINTS {
            let doc = lint_doc(l.name).unwrap_or_default();
            assert!(doc.contains("## How to fix"), "`{}` has no doc", l.name);
        }
        for (name, _) in LINT_DOCS {
            assert!(lints::is_lint(name), "doc for unknown lint `{name}`");
        }
    }

    fn policy_with_rule(rule_allow: &[&str], chain_allow: &[&str]) -> ir::Policy {
        let f = crate::source::FileId(0);
        ir::Policy {
            name: "p".into(),
            family: ir::FamilySet::INET,
            origin: ir::Origin::Policy,
            chains: vec![ir::Chain {
                name: "input".into(),
                kind: ir::ChainKind::Base(ir::Hook::Input),
                policy: Some(ir::Verdict::Drop),
                rules: vec![ir::Rule {
                    matches: ir::Match::default(),
                    action: ir::Action::Accept,
                    span: Span::new(f, 30, 50),
                    allow: rule_allow.iter().map(|s| s.to_string()).collect(),
                    comment: None,
                }],
                span: Span::new(f, 0, 20),
                allow: chain_allow.iter().map(|s| s.to_string()).collect(),
            }],
            assertions: vec![],
            egress: vec![],
            definitions: vec![],
            span: Span::new(f, 0, 0),
        }
    }

    #[test]
    fn allow_on_the_rule_or_its_chain_suppresses_that_lint_only() {
        let f = crate::source::FileId(0);
        let on_rule = Diagnostic::new("redundant", "r", Span::new(f, 35, 40));
        let elsewhere = Diagnostic::new("redundant", "r", Span::new(f, 60, 70));
        let other_lint = Diagnostic::new("overlap", "o", Span::new(f, 35, 40));
        let error = Diagnostic::new("syntax", "s", Span::new(f, 35, 40));

        let p = policy_with_rule(&["redundant", "syntax"], &[]);
        assert!(is_suppressed(&p, &on_rule));
        assert!(!is_suppressed(&p, &elsewhere));
        assert!(!is_suppressed(&p, &other_lint));
        assert!(!is_suppressed(&p, &error), "errors are never suppressed");

        let p = policy_with_rule(&[], &["overlap"]);
        assert!(is_suppressed(&p, &other_lint));
        assert!(!is_suppressed(&p, &on_rule));
    }

    #[test]
    fn registered_lints_are_in_the_table() {
        for l in REGISTRY {
            assert!(lints::is_lint(l.name), "`{}` is not in LINTS", l.name);
        }
    }
}
