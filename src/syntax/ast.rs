//! The abstract syntax tree of a `.hw` file, exactly as written.
//!
//! The AST is untyped where the grammar cannot know the type: a value in a
//! definition or a match may be an address, a number, a name or a quoted
//! string, and `sema` decides what it means. Every node keeps its span.
//! INVARIANT: nothing here depends on pest; `syntax::parser` builds it.

use crate::source::{Span, Spanned};
use std::net::IpAddr;

pub type Ident = Spanned<String>;

/// One parsed file. `items` holds every item that parsed, also when other
/// items of the file had syntax errors.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Policy(PolicyDecl),
    Include(Include),
    Def(Def),
    Chain(ChainDecl),
    Assert(AssertDecl),
    Egress(EgressDecl),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Policy(p) => p.span,
            Item::Include(i) => i.span,
            Item::Def(d) => d.span,
            Item::Chain(c) => c.span,
            Item::Assert(a) => a.span,
            Item::Egress(e) => e.span,
        }
    }
}

/// `@allow(lint, lint)` in front of a rule, chain or definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    pub allow: Vec<Ident>,
    pub span: Span,
}

/// `policy NAME { family inet }`
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDecl {
    pub name: Ident,
    pub settings: Vec<Spanned<Setting>>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Setting {
    /// `family ip|ip6|inet`; the word as written, checked by sema.
    Family(Ident),
}

/// `include "path.hw"`
#[derive(Debug, Clone, PartialEq)]
pub struct Include {
    pub path: Spanned<String>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DefKind {
    Host,
    Net,
    Service,
    User,
    Group,
    Iface,
    /// A plain named list; its element type comes from its values.
    List,
}

impl DefKind {
    pub fn keyword(self) -> &'static str {
        match self {
            DefKind::Host => "host",
            DefKind::Net => "net",
            DefKind::Service => "service",
            DefKind::User => "user",
            DefKind::Group => "group",
            DefKind::Iface => "iface",
            DefKind::List => "list",
        }
    }
}

/// `host NAME = value, value` and the other definitions.
#[derive(Debug, Clone, PartialEq)]
pub struct Def {
    pub annotations: Vec<Annotation>,
    pub kind: Spanned<DefKind>,
    pub name: Ident,
    pub values: Vec<Spanned<Value>>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    Tcp,
    Udp,
    Sctp,
    Icmp,
    Icmpv6,
    /// `proto N` or a named protocol (`proto gre`) resolved by the parser.
    Number(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    Uid,
    Gid,
}

/// A value in a definition or a match list.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An address or network: `192.0.2.1`, `198.51.100.0/24`, `2001:db8::/32`.
    Cidr { addr: IpAddr, prefix: Option<u8> },
    /// An address range: `192.0.2.10-192.0.2.20`.
    AddrRange { lo: IpAddr, hi: IpAddr },
    /// A number: a port, an ICMP type, a protocol number.
    Number(u64),
    /// A numeric range `lo-hi` (ports, uids).
    NumRange { lo: u64, hi: u64 },
    /// An ICMP `type/code` pair.
    TypeCode { ty: u64, code: u64 },
    /// A quoted string: a user or group name resolved on the host, an
    /// interface name.
    Str(String),
    /// A bare word: a reference to a definition, an ICMP type name, an
    /// interface name, a state.
    Name(String),
    /// A bare interface pattern ending in `+` (`eth+`).
    Wildcard(String),
    /// `uid 0`, `gid 100-199`.
    Id { kind: IdKind, lo: u64, hi: u64 },
    /// A service entry: `tcp 80, 443`, `udp 53`, `icmp echo-request`.
    /// `args` are ports (for tcp, udp, sctp) or ICMP types.
    Service {
        proto: Spanned<Proto>,
        args: Vec<Spanned<Value>>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    Accept,
    Drop,
}

/// `chain NAME [policy accept|drop] { rules }`
#[derive(Debug, Clone, PartialEq)]
pub struct ChainDecl {
    pub annotations: Vec<Annotation>,
    pub name: Ident,
    pub policy: Option<Spanned<Verdict>>,
    pub rules: Vec<RuleDecl>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RuleDecl {
    pub annotations: Vec<Annotation>,
    pub action: Spanned<Action>,
    pub matches: Vec<Spanned<MatchExpr>>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Accept,
    Drop,
    /// `reject [REASON]`, e.g. `reject tcp-reset`.
    Reject(Option<Ident>),
    Log(LogOpts),
    Jump(Ident),
    Goto(Ident),
    Return,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogOpts {
    pub prefix: Option<Spanned<String>>,
    /// The level word or number as written (`warn`, `info`, `4`).
    pub level: Option<Ident>,
}

/// One match of a rule; `not` may negate any of them.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchExpr {
    /// The span of the `not` keyword when present.
    pub not: Option<Span>,
    pub kind: MatchKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateUnit {
    Second,
    Minute,
    Hour,
    Day,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MatchKind {
    /// `tcp`, `tcp 22`, `udp 53, 123`, `icmp echo-request`, `proto 47`:
    /// a protocol with optional destination ports or ICMP types.
    Proto {
        proto: Spanned<Proto>,
        args: Vec<Spanned<Value>>,
    },
    /// `sport PORTS`
    Sport(Vec<Spanned<Value>>),
    /// `dport PORTS`
    Dport(Vec<Spanned<Value>>),
    /// `service NAME, NAME`
    Service(Vec<Ident>),
    /// `from ADDRS`
    From(Vec<Spanned<Value>>),
    /// `to ADDRS`
    To(Vec<Spanned<Value>>),
    /// `iface IFACES` (input interface)
    Iface(Vec<Spanned<Value>>),
    /// `oface IFACES` (output interface)
    Oface(Vec<Spanned<Value>>),
    /// `state new, established`
    State(Vec<Ident>),
    /// `user root`, `user uid 1000-1999`, `user "www-data"`
    User(Vec<Spanned<Value>>),
    /// `group adm`, `group gid 4`
    Group(Vec<Spanned<Value>>),
    /// `limit 10/minute burst 5`
    Limit {
        rate: Spanned<u64>,
        unit: Spanned<RateUnit>,
        burst: Option<Spanned<u64>>,
    },
    /// `comment "text"`
    Comment(Spanned<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssertKind {
    Allow,
    Deny,
    Reachable,
}

/// `assert allow|deny|reachable CHAIN MATCHES`
#[derive(Debug, Clone, PartialEq)]
pub struct AssertDecl {
    pub kind: Spanned<AssertKind>,
    pub chain: Ident,
    pub matches: Vec<Spanned<MatchExpr>>,
    pub span: Span,
}

/// `egress user|group [not] SELECTOR only { entries }`
#[derive(Debug, Clone, PartialEq)]
pub struct EgressDecl {
    pub annotations: Vec<Annotation>,
    pub selector: Spanned<MatchExpr>,
    pub entries: Vec<EgressEntry>,
    pub span: Span,
}

/// One line of an egress block: the matches of one allowed flow class.
#[derive(Debug, Clone, PartialEq)]
pub struct EgressEntry {
    pub matches: Vec<Spanned<MatchExpr>>,
    pub span: Span,
}
