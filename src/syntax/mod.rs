//! Text → AST. The grammar is `grammar/hw.pest`; pest types never leave
//! this module.
//!
//! - `parser`: the statement driver: blank lines, `{ }` blocks,
//!   annotations and recovery after an error;
//! - `build`: pest pairs of one statement → AST, checking literals
//!   (addresses, numbers, strings, protocol names) on the way;
//! - `expected`: turns a pest failure into a diagnostic an admin can read;
//! - `fast`: a hand-written reader for well-formed rules, the statement a
//!   large policy is made of; it declines anything else, and pest reads it.
//!
//! INVARIANT: parsing never panics, whatever the input, and every span it
//! returns lies inside the text on character boundaries.

pub mod ast;
mod build;
mod expected;
mod fast;
pub mod fmt;
mod grammar;
mod parser;
#[cfg(test)]
mod tests;

use crate::diagnostics::Diagnostic;
use crate::source::FileId;

/// Parses one file. Never fails and never panics: returns every item that
/// parsed and a diagnostic for every syntax error.
pub fn parse(file: FileId, text: &str) -> (ast::File, Vec<Diagnostic>) {
    parser::parse(file, text)
}

/// The reserved words of the language: none of them can name anything.
pub const KEYWORDS: &[&str] = &[
    "accept",
    "allow",
    "assert",
    "burst",
    "chain",
    "comment",
    "deny",
    "dport",
    "drop",
    "egress",
    "family",
    "from",
    "gid",
    "goto",
    "group",
    "host",
    "icmp",
    "icmpv6",
    "iface",
    "include",
    "jump",
    "level",
    "limit",
    "list",
    "log",
    "net",
    "not",
    "oface",
    "only",
    "policy",
    "prefix",
    "proto",
    "reachable",
    "reject",
    "return",
    "sctp",
    "service",
    "sport",
    "state",
    "tcp",
    "to",
    "udp",
    "uid",
    "user",
];

pub fn is_keyword(word: &str) -> bool {
    KEYWORDS.binary_search(&word).is_ok()
}
