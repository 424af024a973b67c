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
