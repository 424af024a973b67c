//! hwc: a policy language and verifier for Linux host firewalls.
//!
//! The pipeline runs one way: [`syntax`] (text → AST) → [`sema`] (names,
//! includes, types → [`ir`]) → [`space`] / [`analysis`] / [`backend`] /
//! [`report`]; [`import`] reads iptables-save dumps into the same IR. Only
//! [`cli`] does I/O. See ARCHITECTURE.md.

#![forbid(unsafe_code)]

pub mod analysis;
pub mod backend;
pub mod cli;
pub mod diagnostics;
pub mod import;
pub mod ir;
pub mod lsp;
pub mod report;
pub mod sema;
pub mod source;
pub mod space;
pub mod syntax;
pub mod testgen;
