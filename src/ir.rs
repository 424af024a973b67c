//! The resolved policy: what every analysis, backend and report works on.
//!
//! A [`Policy`] is a list of chains of rules over fully resolved matches. A
//! rule's match is a conjunction of [`Cond`]s; each condition is one typed
//! test ([`Test`]) that may be negated. Names are resolved, types checked,
//! families known. Both the `.hw` front end (`sema`) and the iptables-save
//! reader (`import`) produce this type.
//!
//! INVARIANT: values are in range (ports ≤ 65535, IPv4 addresses < 2³², ICMP
//! types ≤ 255, ranges have `lo <= hi`); every set is non-empty. Anything the
//! IR cannot say exactly is an explicit [`Test::Opaque`] or [`Action::Opaque`],
//! never dropped.
//!
//! Packet values use one encoding shared with the packet-set engine, see
//! [`dim`]: every field is a `u128` coordinate.

use crate::source::Span;
use std::fmt;

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Family {
    /// IPv4 (`ip`)
    V4,
    /// IPv6 (`ip6`)
    V6,
}

impl Family {
    pub const ALL: [Family; 2] = [Family::V4, Family::V6];

    /// Largest address of the family, as a `u128` coordinate.
    pub fn max_addr(self) -> u128 {
        match self {
            Family::V4 => u32::MAX as u128,
            Family::V6 => u128::MAX,
        }
    }

    pub fn keyword(self) -> &'static str {
        match self {
            Family::V4 => "ip",
            Family::V6 => "ip6",
        }
    }
}

/// Which families a policy filters: `ip`, `ip6` or `inet` (both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct FamilySet {
    pub v4: bool,
    pub v6: bool,
}

impl FamilySet {
    pub const INET: FamilySet = FamilySet { v4: true, v6: true };
    pub const IP: FamilySet = FamilySet {
        v4: true,
        v6: false,
    };
    pub const IP6: FamilySet = FamilySet {
        v4: false,
        v6: true,
    };

    pub fn contains(self, f: Family) -> bool {
        match f {
            Family::V4 => self.v4,
            Family::V6 => self.v6,
        }
    }

    pub fn keyword(self) -> &'static str {
        match (self.v4, self.v6) {
            (true, true) => "inet",
            (true, false) => "ip",
            (false, true) => "ip6",
            (false, false) => "none",
        }
    }
}

/// The netfilter hook a built-in chain hangs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Hook {
    Input,
    Output,
    Forward,
}

impl Hook {
    pub const ALL: [Hook; 3] = [Hook::Input, Hook::Output, Hook::Forward];

    pub fn name(self) -> &'static str {
        match self {
            Hook::Input => "input",
            Hook::Output => "output",
            Hook::Forward => "forward",
        }
    }
}

/// Conntrack states (`ct state`, `--ctstate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum CtState {
    New = 0,
    Established = 1,
    Related = 2,
    Invalid = 3,
    Untracked = 4,
}

impl CtState {
    pub const ALL: [CtState; 5] = [
        CtState::New,
        CtState::Established,
        CtState::Related,
        CtState::Invalid,
        CtState::Untracked,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CtState::New => "new",
            CtState::Established => "established",
            CtState::Related => "related",
            CtState::Invalid => "invalid",
            CtState::Untracked => "untracked",
        }
    }

    pub fn from_index(i: u128) -> Option<CtState> {
        CtState::ALL.get(usize::try_from(i).ok()?).copied()
    }
}

/// Coordinates of each packet field, shared by the IR, the packet-set
/// engine and the evaluators.
pub mod dim {
    /// The fields of a packet, in the order the engine stores them.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
    pub enum Dim {
        /// 0 = IPv4, 1 = IPv6.
        Family = 0,
        /// Input interface name, see [`iface_code`].
        Iif = 1,
        /// Output interface name.
        Oif = 2,
        /// Source address; IPv4 addresses use `0..2³²`.
        Src = 3,
        Dst = 4,
        /// Layer-4 protocol number `0..=255`.
        Proto = 5,
        /// `0..=65535`, or [`NONE_PORT`] for protocols without ports.
        Sport = 6,
        Dport = 7,
        /// `0..=255`, or [`NONE_ICMP`] for non-ICMP packets.
        IcmpType = 8,
        IcmpCode = 9,
        /// A [`super::CtState`] as its index.
        State = 10,
        /// A uid `0..2³²`, or [`KERNEL_SOCKET`], or [`NO_SOCKET`].
        Uid = 11,
        /// A gid, same encoding as `Uid`.
        Gid = 12,
    }

    pub const COUNT: usize = 13;

    pub const ALL: [Dim; COUNT] = [
        Dim::Family,
        Dim::Iif,
        Dim::Oif,
        Dim::Src,
        Dim::Dst,
        Dim::Proto,
        Dim::Sport,
        Dim::Dport,
        Dim::IcmpType,
        Dim::IcmpCode,
        Dim::State,
        Dim::Uid,
        Dim::Gid,
    ];

    pub const NONE_PORT: u128 = 65536;
    pub const NONE_ICMP: u128 = 256;
    /// A socket the kernel owns (TCP RST, ICMP errors): it has no uid.
    pub const KERNEL_SOCKET: u128 = 1 << 32;
    /// No socket at all (forwarded and incoming packets).
    pub const NO_SOCKET: u128 = (1 << 32) + 1;

    pub const PROTO_ICMP: u8 = 1;
    pub const PROTO_TCP: u8 = 6;
    pub const PROTO_UDP: u8 = 17;
    pub const PROTO_ICMPV6: u8 = 58;
    pub const PROTO_SCTP: u8 = 132;

    /// Interface names are at most 15 bytes (IFNAMSIZ − 1).
    pub const IFNAME_MAX: usize = 15;

    /// The largest coordinate of each dimension.
    pub fn max(d: Dim) -> u128 {
        match d {
            Dim::Family => 1,
            Dim::Iif | Dim::Oif => iface_code(&[0xff; IFNAME_MAX]),
            Dim::Src | Dim::Dst => u128::MAX,
            Dim::Proto => 255,
            Dim::Sport | Dim::Dport => NONE_PORT,
            Dim::IcmpType | Dim::IcmpCode => NONE_ICMP,
            Dim::State => 4,
            Dim::Uid | Dim::Gid => NO_SOCKET,
        }
    }

    /// An interface name as a coordinate: its bytes, big-endian, padded
    /// with zeros to 16 bytes. The order of codes is the lexicographic order
    /// of names, so `eth+` (every name starting with `eth`) is the interval
    /// `[iface_code("eth"), iface_prefix_end("eth")]`. The empty name (no
    /// interface, e.g. the input interface of a locally generated packet) is 0.
    pub fn iface_code(name: &[u8]) -> u128 {
        let mut bytes = [0u8; 16];
        let n = name.len().min(IFNAME_MAX);
        bytes[..n].copy_from_slice(&name[..n]);
        u128::from_be_bytes(bytes)
    }

    /// The largest code of a name that starts with `prefix`.
    pub fn iface_prefix_end(prefix: &[u8]) -> u128 {
        let mut bytes = [0u8; 16];
        let n = prefix.len().min(IFNAME_MAX);
        bytes[..n].copy_from_slice(&prefix[..n]);
        for b in bytes.iter_mut().take(IFNAME_MAX).skip(n) {
            *b = 0xff;
        }
        u128::from_be_bytes(bytes)
    }

    /// The interface name of a code (trailing zero bytes dropped).
    pub fn iface_name(code: u128) -> String {
        let bytes = code.to_be_bytes();
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(16);
        String::from_utf8_lossy(&bytes[..end]).into_owned()
    }
}

/// A closed interval of coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Range {
    pub lo: u128,
    pub hi: u128,
}

impl Range {
    pub fn new(lo: u128, hi: u128) -> Range {
        debug_assert!(lo <= hi);
        Range { lo, hi }
    }

    pub fn point(v: u128) -> Range {
        Range { lo: v, hi: v }
    }

    pub fn contains(&self, v: u128) -> bool {
        self.lo <= v && v <= self.hi
    }
}

/// A set of addresses of one or both families, with the name it was
/// defined under (backends use it for named sets and comments).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AddrSet {
    pub name: Option<String>,
    pub ranges: Vec<AddrRange>,
}

/// An inclusive address range of one family; a CIDR is a range whose ends
/// are aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AddrRange {
    pub family: Family,
    pub lo: u128,
    pub hi: u128,
}

impl AddrRange {
    /// The prefix length if this range is exactly one CIDR block.
    pub fn as_prefix(&self) -> Option<u8> {
        let bits: u32 = match self.family {
            Family::V4 => 32,
            Family::V6 => 128,
        };
        let size = self.hi.wrapping_sub(self.lo).wrapping_add(1);
        if size == 0 {
            // The whole IPv6 space.
            return (self.lo == 0 && bits == 128).then_some(0);
        }
        if !size.is_power_of_two() || self.lo % size != 0 {
            return None;
        }
        let host_bits = size.trailing_zeros();
        (host_bits <= bits).then(|| (bits - host_bits) as u8)
    }
}

/// A set of port ranges (with the name it was defined under, if any).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PortSet {
    pub name: Option<String>,
    pub ranges: Vec<(u16, u16)>,
}

/// An ICMP or ICMPv6 type, with an optional code range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IcmpSpec {
    pub ty: u8,
    /// `None`: any code.
    pub code: Option<(u8, u8)>,
}

/// One protocol-level alternative of a rule: a protocol with optional ports
/// or ICMP types. A service is a union of these.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct L4 {
    pub proto: u8,
    pub sport: Option<PortSet>,
    pub dport: Option<PortSet>,
    /// Only for ICMP (family IPv4) and ICMPv6 (family IPv6). An ICMP match
    /// implies its family.
    pub icmp: Option<Vec<IcmpSpec>>,
    /// The service name this alternative came from, if any.
    pub service: Option<String>,
}

/// A socket owner range: uids or gids `lo..=hi`, and the user or group
/// name when the policy named one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OwnerRange {
    pub lo: u32,
    pub hi: u32,
    /// A name resolved on the host at load time (`"www-data"`). The
    /// analysis gives every distinct name its own symbolic uid (see
    /// [`symbolic_id`]); backends emit the name.
    pub host_name: Option<String>,
}

/// The first uid/gid used for names resolved only at load time. Names get
/// consecutive ids from here, so they never collide with each other or with
/// the ids a policy writes as numbers in practice (documented in
/// docs/language.md).
pub const SYMBOLIC_ID_BASE: u32 = 0xF000_0000;

pub fn symbolic_id(index: usize) -> u32 {
    SYMBOLIC_ID_BASE + index as u32
}

/// An interface name or a `+` prefix pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Iface {
    pub name: String,
    pub wildcard: bool,
}

impl Iface {
    pub fn range(&self) -> Range {
        let b = self.name.as_bytes();
        if self.wildcard {
            Range::new(dim::iface_code(b), dim::iface_prefix_end(b))
        } else {
            Range::point(dim::iface_code(b))
        }
    }
}

impl fmt::Display for Iface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.name, if self.wildcard { "+" } else { "" })
    }
}

/// A rate limit (`limit 10/minute burst 5`, `-m limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimit {
    pub rate: u32,
    /// Seconds per unit: 1, 60, 3600 or 86400.
    pub per_seconds: u32,
    pub burst: Option<u32>,
}

/// One typed test on a packet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Test {
    /// The packet is of this family.
    Family(Family),
    /// Input interface is one of these.
    Iif(Vec<Iface>),
    /// Output interface is one of these.
    Oif(Vec<Iface>),
    Src(AddrSet),
    Dst(AddrSet),
    /// A union of protocol alternatives.
    L4(Vec<L4>),
    /// `multiport --ports`: the source *or* the destination port is in the
    /// set (for tcp, udp or sctp packets).
    AnyPort(PortSet),
    State(Vec<CtState>),
    /// The socket's uid is in one of these ranges. A socketless or kernel
    /// packet never matches; negated, see [`Cond`].
    Uid(Vec<OwnerRange>),
    Gid(Vec<OwnerRange>),
    /// Rate limited: matches some packets and not others, depending on
    /// time. Modelled as "may match" (see SEMANTICS.md §3).
    Limit(RateLimit),
    /// A match the IR cannot model (an unknown iptables match, `-m recent`,
    /// ...). `text` is what the user wrote. Sound approximation per question.
    Opaque(String),
}

/// How a negated owner test treats packets without a user socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum OwnerNegation {
    /// iptables (`! --uid-owner`): socketless packets match the negation.
    Xt,
    /// nftables (`meta skuid !=`): socketless packets match neither form.
    Nft,
}

/// A possibly negated test, with the source it came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cond {
    pub negated: bool,
    pub test: Test,
    /// Only meaningful for negated `Uid`/`Gid` tests.
    pub owner_negation: OwnerNegation,
    pub span: Span,
}

impl Cond {
    pub fn new(test: Test, span: Span) -> Cond {
        Cond {
            negated: false,
            test,
            owner_negation: OwnerNegation::Nft,
            span,
        }
    }

    pub fn negate(mut self) -> Cond {
        self.negated = !self.negated;
        self
    }
}

/// A conjunction of conditions. An empty match matches every packet.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Match {
    pub conds: Vec<Cond>,
}

/// A final verdict for a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Verdict {
    Accept,
    Drop,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Accept => "accept",
            Verdict::Drop => "drop",
        }
    }
}

/// `reject` reasons, as the kernel's REJECT target knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum RejectWith {
    TcpReset,
    IcmpNetUnreachable,
    IcmpHostUnreachable,
    IcmpPortUnreachable,
    IcmpProtoUnreachable,
    IcmpNetProhibited,
    IcmpHostProhibited,
    IcmpAdminProhibited,
    Icmp6NoRoute,
    Icmp6AdmProhibited,
    Icmp6AddrUnreachable,
    Icmp6PortUnreachable,
}

/// Log level (syslog priorities).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum LogLevel {
    Emerg = 0,
    Alert = 1,
    Crit = 2,
    Err = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct LogSpec {
    /// At most 29 bytes (checked by sema; the kernel limit).
    pub prefix: Option<String>,
    pub level: Option<LogLevel>,
    /// NFLOG rather than LOG (import only).
    pub nflog: bool,
}

/// Index of a chain in [`Policy::chains`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct ChainId(pub u32);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    Accept,
    Drop,
    Reject(Option<RejectWith>),
    /// Non-terminal: logs and goes on.
    Log(LogSpec),
    Jump(ChainId),
    Goto(ChainId),
    Return,
    /// A target with no effect on the verdict that hwc does not model
    /// (MARK, CONNMARK, counters; import only). Non-terminal.
    Continue(String),
    /// A target hwc cannot model that may end the chain with any verdict
    /// (NFQUEUE, unknown targets; import only).
    Opaque(String),
}

impl Action {
    /// The verdict of a terminal action, if it has one.
    pub fn verdict(&self) -> Option<Verdict> {
        match self {
            Action::Accept => Some(Verdict::Accept),
            Action::Drop | Action::Reject(_) => Some(Verdict::Drop),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    pub matches: Match,
    pub action: Action,
    /// The whole rule in its source (a `.hw` line or a dump line).
    pub span: Span,
    /// Lint names suppressed on this rule (`@allow(...)`).
    pub allow: Vec<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ChainKind {
    /// A built-in chain on a hook, with a default policy.
    Base(Hook),
    /// A user-defined chain, entered by `jump`/`goto`.
    User,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Chain {
    pub name: String,
    pub kind: ChainKind,
    /// The default verdict of a base chain; `None` for user chains.
    pub policy: Option<Verdict>,
    pub rules: Vec<Rule>,
    /// The chain's header (`chain input policy drop`, `:INPUT DROP`).
    pub span: Span,
    pub allow: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum AssertKind {
    Allow,
    Deny,
    Reachable,
}

/// `assert allow|deny|reachable CHAIN MATCH`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Assertion {
    pub kind: AssertKind,
    pub chain: ChainId,
    pub matches: Match,
    pub span: Span,
}

/// `egress user|group SELECTOR only { ... }`: every NEW outbound flow the
/// selected sockets can open must match one of `allowed`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Egress {
    /// A `Uid` or `Gid` condition, possibly negated (`user not root`). A
    /// negated selector still selects only packets with a user socket.
    pub selector: Cond,
    pub allowed: Vec<Match>,
    pub span: Span,
    pub allow: Vec<String>,
}

/// What a definition defines, for the `unused` lint and for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum DefKind {
    Host,
    Net,
    Service,
    User,
    Group,
    Iface,
    List,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Definition {
    pub name: String,
    pub kind: DefKind,
    /// The name in the definition.
    pub span: Span,
    /// Whether any rule, assertion or other definition refers to it.
    pub used: bool,
    pub allow: Vec<String>,
}

/// Where a policy came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Origin {
    /// A `.hw` policy.
    Policy,
    /// An `iptables-save` (IPv4) or `ip6tables-save` (IPv6) dump.
    Dump(Family),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Policy {
    pub name: String,
    pub family: FamilySet,
    pub origin: Origin,
    pub chains: Vec<Chain>,
    pub assertions: Vec<Assertion>,
    pub egress: Vec<Egress>,
    pub definitions: Vec<Definition>,
    /// The span of the `policy` header, or of the first line of a dump.
    pub span: Span,
}

impl Policy {
    pub fn chain(&self, id: ChainId) -> &Chain {
        &self.chains[id.0 as usize]
    }

    pub fn chain_id(&self, name: &str) -> Option<ChainId> {
        self.chains
            .iter()
            .position(|c| c.name == name)
            .map(|i| ChainId(i as u32))
    }

    /// The base chain on a hook, if the policy has one.
    pub fn base_chain(&self, hook: Hook) -> Option<ChainId> {
        self.chains
            .iter()
            .position(|c| c.kind == ChainKind::Base(hook))
            .map(|i| ChainId(i as u32))
    }
}

/// A socket owner of a concrete packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Owner {
    /// No socket: forwarded or incoming packets.
    NoSocket,
    /// A kernel socket without a file (TCP RST, ICMP errors, NDP).
    Kernel,
    /// A user socket with this uid and gid.
    Socket { uid: u32, gid: u32 },
}

/// One concrete packet at one hook: what the evaluators decide, what
/// witnesses are, and what `hwc trace --packet` parses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Packet {
    pub hook: Hook,
    pub family: Family,
    /// Empty when there is none (the input interface of an output packet).
    pub iif: String,
    pub oif: String,
    pub src: std::net::IpAddr,
    pub dst: std::net::IpAddr,
    pub proto: u8,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    pub icmp_type: Option<u8>,
    pub icmp_code: Option<u8>,
    pub state: CtState,
    pub owner: Owner,
}
