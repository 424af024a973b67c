//! The table of lint names and error codes: a public contract.
//!
//! Lint names appear in `--format json`, SARIF and `@allow(...)`; change
//! them only with a JSON version bump and a note in docs/.

use super::Severity;

/// A lint: a finding about a valid policy, which `@allow(name)` can suppress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LintInfo {
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
}

pub const LINTS: &[LintInfo] = &[
    LintInfo {
        name: "shadowed",
        severity: Severity::Error,
        summary: "the rule can never match: earlier rules decide all its packets, some differently",
    },
    LintInfo {
        name: "redundant",
        severity: Severity::Warning,
        summary: "removing the rule changes no packet's verdict",
    },
    LintInfo {
        name: "overlap",
        severity: Severity::Info,
        summary: "partial overlap with an earlier rule of another verdict",
    },
    LintInfo {
        name: "unreachable-chain",
        severity: Severity::Warning,
        summary: "a user chain that no rule reaches",
    },
    LintInfo {
        name: "nonroot-egress",
        severity: Severity::Warning,
        summary: "NEW outbound flows a non-root user can open that no `egress` block declares",
    },
    LintInfo {
        name: "assertion-failed",
        severity: Severity::Error,
        summary: "an `assert` or `egress` block does not hold",
    },
    LintInfo {
        name: "ipv6-unfiltered",
        severity: Severity::Warning,
        summary: "the policy or ruleset filters IPv4 only; IPv6 traffic passes untouched",
    },
    LintInfo {
        name: "ipv6-nd-blocked",
        severity: Severity::Warning,
        summary: "ICMPv6 neighbour discovery is dropped: the host loses IPv6",
    },
    LintInfo {
        name: "lockout",
        severity: Severity::Warning,
        summary: "no rule admits new inbound management (SSH) traffic",
    },
    LintInfo {
        name: "log-unlimited",
        severity: Severity::Warning,
        summary: "a log rule without a rate limit (a log flood)",
    },
    LintInfo {
        name: "default-accept",
        severity: Severity::Warning,
        summary: "a built-in chain whose default is accept",
    },
    LintInfo {
        name: "invalid-accepted",
        severity: Severity::Warning,
        summary: "conntrack INVALID packets are accepted",
    },
    LintInfo {
        name: "unused",
        severity: Severity::Warning,
        summary: "a definition no rule uses",
    },
];

/// An error code: a problem that makes the input invalid. Not suppressible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorInfo {
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
}

/// Every non-lint code a diagnostic may carry. Stages add rows here when
/// they add a code; `default_severity` panics in tests on an unknown code.
pub const ERRORS: &[ErrorInfo] = &[
    ErrorInfo {
        name: "syntax",
        severity: Severity::Error,
        summary: "the text is not valid .hw syntax",
    },
    ErrorInfo {
        name: "io",
        severity: Severity::Error,
        summary: "a file could not be read",
    },
    ErrorInfo {
        name: "include-not-found",
        severity: Severity::Error,
        summary: "an included file does not exist",
    },
    ErrorInfo {
        name: "include-cycle",
        severity: Severity::Error,
        summary: "files include each other in a cycle",
    },
    ErrorInfo {
        name: "duplicate-policy",
        severity: Severity::Error,
        summary: "more than one `policy` header",
    },
    ErrorInfo {
        name: "duplicate-setting",
        severity: Severity::Error,
        summary: "a policy setting is given twice",
    },
    ErrorInfo {
        name: "unknown-family",
        severity: Severity::Error,
        summary: "a `family` other than `ip`, `ip6` or `inet`",
    },
    ErrorInfo {
        name: "unknown-name",
        severity: Severity::Error,
        summary: "a name that no definition defines",
    },
    ErrorInfo {
        name: "duplicate-definition",
        severity: Severity::Error,
        summary: "two definitions with the same name",
    },
    ErrorInfo {
        name: "wrong-kind",
        severity: Severity::Error,
        summary: "a name used as the wrong kind of definition (a service where an address belongs)",
    },
    ErrorInfo {
        name: "definition-cycle",
        severity: Severity::Error,
        summary: "definitions that refer to each other in a cycle",
    },
    ErrorInfo {
        name: "definition-too-deep",
        severity: Severity::Error,
        summary: "definitions nested too deeply",
    },
    ErrorInfo {
        name: "unknown-lint",
        severity: Severity::Error,
        summary: "`@allow` names a lint that does not exist",
    },
    ErrorInfo {
        name: "wrong-value",
        severity: Severity::Error,
        summary: "a value of the wrong type (a port where an address belongs)",
    },
    ErrorInfo {
        name: "mixed-list",
        severity: Severity::Error,
        summary: "a `list` that mixes addresses and ports",
    },
    ErrorInfo {
        name: "empty-list",
        severity: Severity::Error,
        summary: "a definition or match without values",
    },
    ErrorInfo {
        name: "out-of-range",
        severity: Severity::Error,
        summary: "a port, ICMP type or id outside its range",
    },
    ErrorInfo {
        name: "bad-range",
        severity: Severity::Error,
        summary: "a range whose start is after its end, or that mixes IPv4 and IPv6",
    },
    ErrorInfo {
        name: "prefix-too-long",
        severity: Severity::Error,
        summary: "a CIDR prefix longer than its family allows",
    },
    ErrorInfo {
        name: "host-bits-set",
        severity: Severity::Warning,
        summary: "a CIDR network with bits set after the prefix",
    },
    ErrorInfo {
        name: "invalid-iface",
        severity: Severity::Error,
        summary: "a string that cannot be an interface name",
    },
    ErrorInfo {
        name: "invalid-string",
        severity: Severity::Error,
        summary: "a user or group name, log prefix or comment with characters the kernel refuses",
    },
    ErrorInfo {
        name: "unknown-icmp-type",
        severity: Severity::Error,
        summary: "an ICMP or ICMPv6 type name that does not exist",
    },
    ErrorInfo {
        name: "icmp-family",
        severity: Severity::Error,
        summary: "an ICMPv6 type after `icmp`, or an ICMP type after `icmpv6`",
    },
    ErrorInfo {
        name: "unknown-state",
        severity: Severity::Error,
        summary: "a connection state other than new, established, related, invalid, untracked",
    },
    ErrorInfo {
        name: "port-without-protocol",
        severity: Severity::Error,
        summary: "ports in a rule or entry without `tcp`, `udp` or `sctp`",
    },
    ErrorInfo {
        name: "ports-never-match",
        severity: Severity::Error,
        summary: "`sport`/`dport` excludes every port of the rule's protocol",
    },
    ErrorInfo {
        name: "family-mismatch",
        severity: Severity::Error,
        summary: "matches of one rule with no address family in common (it never matches)",
    },
    ErrorInfo {
        name: "family-excluded",
        severity: Severity::Error,
        summary: "an address or protocol of a family the policy does not filter",
    },
    ErrorInfo {
        name: "owner-outside-output",
        severity: Severity::Error,
        summary: "`user`/`group` where packets have no local socket (input, forward)",
    },
    ErrorInfo {
        name: "iface-in-output",
        severity: Severity::Error,
        summary: "`iface` where packets have no input interface (output)",
    },
    ErrorInfo {
        name: "oface-in-input",
        severity: Severity::Error,
        summary: "`oface` where packets have no output interface (input)",
    },
    ErrorInfo {
        name: "negated-comment",
        severity: Severity::Error,
        summary: "`not comment`",
    },
    ErrorInfo {
        name: "duplicate-comment",
        severity: Severity::Error,
        summary: "two comments on one rule",
    },
    ErrorInfo {
        name: "comment-too-long",
        severity: Severity::Error,
        summary: "a comment longer than nftables allows (128 bytes)",
    },
    ErrorInfo {
        name: "bad-limit",
        severity: Severity::Error,
        summary: "a `limit` rate of 0, faster than the kernel counts, or a bad burst",
    },
    ErrorInfo {
        name: "unknown-reject-reason",
        severity: Severity::Error,
        summary: "a reject reason that does not exist",
    },
    ErrorInfo {
        name: "tcp-reset-not-tcp",
        severity: Severity::Error,
        summary: "`reject tcp-reset` in a rule that matches more than tcp",
    },
    ErrorInfo {
        name: "reject-family",
        severity: Severity::Error,
        summary: "an ICMP reject reason for packets of the other family",
    },
    ErrorInfo {
        name: "log-prefix-too-long",
        severity: Severity::Error,
        summary: "a log prefix longer than the kernel's 29 bytes",
    },
    ErrorInfo {
        name: "unknown-log-level",
        severity: Severity::Error,
        summary: "a log level that is not a syslog level",
    },
    ErrorInfo {
        name: "duplicate-chain",
        severity: Severity::Error,
        summary: "two chains with the same name",
    },
    ErrorInfo {
        name: "unknown-chain",
        severity: Severity::Error,
        summary: "`jump`, `goto` or `assert` names a chain that does not exist",
    },
    ErrorInfo {
        name: "jump-to-builtin",
        severity: Severity::Error,
        summary: "`jump` or `goto` to a built-in chain",
    },
    ErrorInfo {
        name: "chain-cycle",
        severity: Severity::Error,
        summary: "chains that call each other in a cycle",
    },
    ErrorInfo {
        name: "return-outside-user-chain",
        severity: Severity::Error,
        summary: "`return` in a built-in chain",
    },
    ErrorInfo {
        name: "policy-on-user-chain",
        severity: Severity::Error,
        summary: "a default policy on a user chain",
    },
    ErrorInfo {
        name: "assert-on-user-chain",
        severity: Severity::Error,
        summary: "an `assert` about a user chain rather than `input`, `output` or `forward`",
    },
    ErrorInfo {
        name: "bad-egress-selector",
        severity: Severity::Error,
        summary: "an egress block that selects neither a user nor a group",
    },
    // Import (iptables-save dumps).
    ErrorInfo {
        name: "dump-syntax",
        severity: Severity::Error,
        summary: "a line of an iptables-save dump is malformed",
    },
    ErrorInfo {
        name: "dump-duplicate",
        severity: Severity::Error,
        summary: "a table or chain is declared twice in a dump",
    },
    ErrorInfo {
        name: "dump-unknown-chain",
        severity: Severity::Error,
        summary: "a rule uses a chain the table does not declare",
    },
    ErrorInfo {
        name: "dump-chain-cycle",
        severity: Severity::Error,
        summary: "chains of a dump jump to each other in a cycle",
    },
    ErrorInfo {
        name: "dump-family",
        severity: Severity::Error,
        summary: "an address or ICMP match of the other family in a dump",
    },
    ErrorInfo {
        name: "dump-unknown-target",
        severity: Severity::Warning,
        summary: "a target hwc does not know; kept as one that may decide anything",
    },
    ErrorInfo {
        name: "out-of-scope-table",
        severity: Severity::Warning,
        summary: "a table other than `filter` is read but not analysed",
    },
    ErrorInfo {
        name: "no-filter-table",
        severity: Severity::Warning,
        summary: "a dump without a `filter` table: nothing filters packets",
    },
    ErrorInfo {
        name: "not-importable",
        severity: Severity::Warning,
        summary: "a rule `.hw` cannot express is left out of the imported policy",
    },
    // Backends (`hwc compile`, `hwc apply`).
    ErrorInfo {
        name: "compile-name",
        severity: Severity::Error,
        summary: "a chain, interface, user or group name the target firewall cannot use",
    },
    ErrorInfo {
        name: "compile-opaque",
        severity: Severity::Error,
        summary: "an imported match or target that hwc cannot translate",
    },
    ErrorInfo {
        name: "compile-string",
        severity: Severity::Error,
        summary: "a log prefix or other string the target firewall cannot hold",
    },
    ErrorInfo {
        name: "compile-unsupported",
        severity: Severity::Error,
        summary: "a rule the target cannot express with the same meaning",
    },
    ErrorInfo {
        name: "internal",
        severity: Severity::Error,
        summary: "hwc itself went wrong; please report it",
    },
];

pub fn lint(name: &str) -> Option<&'static LintInfo> {
    LINTS.iter().find(|l| l.name == name)
}

pub fn is_lint(name: &str) -> bool {
    lint(name).is_some()
}

/// The default severity of a code (lint or error).
pub fn default_severity(code: &str) -> Severity {
    if let Some(l) = lint(code) {
        return l.severity;
    }
    if let Some(e) = ERRORS.iter().find(|e| e.name == code) {
        return e.severity;
    }
    debug_assert!(false, "unknown diagnostic code `{code}`");
    Severity::Error
}
