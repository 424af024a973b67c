//! Typed lists of values: addresses, ports, ICMP types, protocol entries,
//! socket owners and interfaces. Used by definitions and by rule matches
//! alike; each function checks its literals, resolves the names in the
//! list and reports every bad element before giving up on the list.

use super::defs::{Class, DefValue};
use super::icmp;
use super::names::{did_you_mean, suggest, DefId};
use super::Sema;
use crate::diagnostics::Diagnostic;
use crate::ir::{
    self, dim, AddrRange, Family, FamilySet, IcmpSpec, Iface, OwnerRange, PortSet, L4,
};
use crate::source::{Span, Spanned};
use crate::syntax::ast::{IdKind, Proto, Value};
use std::collections::HashMap;
use std::net::IpAddr;

/// An address list: its ranges, and (when the policy filters one family)
/// the families of each element.
pub struct AddrList {
    pub ranges: Vec<AddrRange>,
    pub elems: Vec<AddrElem>,
}

pub struct AddrElem {
    /// The element's index in the value list.
    pub index: usize,
    pub families: FamilySet,
}

/// The largest uid or gid; `(uid_t)-1` means "no id" to the kernel.
pub const MAX_ID: u64 = u32::MAX as u64 - 1;

pub fn has_ports(proto: u8) -> bool {
    matches!(proto, dim::PROTO_TCP | dim::PROTO_UDP | dim::PROTO_SCTP)
}

pub fn proto_number(p: Proto) -> u8 {
    match p {
        Proto::Tcp => dim::PROTO_TCP,
        Proto::Udp => dim::PROTO_UDP,
        Proto::Sctp => dim::PROTO_SCTP,
        Proto::Icmp => dim::PROTO_ICMP,
        Proto::Icmpv6 => dim::PROTO_ICMPV6,
        Proto::Number(n) => n,
    }
}

/// The protocol as the user wrote it (`tcp`, `proto 47`).
pub fn proto_name(p: Proto) -> String {
    match p {
        Proto::Tcp => "tcp".into(),
        Proto::Udp => "udp".into(),
        Proto::Sctp => "sctp".into(),
        Proto::Icmp => "icmp".into(),
        Proto::Icmpv6 => "icmpv6".into(),
        Proto::Number(n) => format!("proto {n}"),
    }
}

/// The families a protocol alternative can match: ICMP is IPv4's and
/// ICMPv6 is IPv6's (for the type checks; see `lower`).
pub fn alt_families(alt: &L4) -> FamilySet {
    match alt.proto {
        dim::PROTO_ICMP => FamilySet::IP,
        dim::PROTO_ICMPV6 => FamilySet::IP6,
        _ => FamilySet::INET,
    }
}

pub fn family_name(f: Family) -> &'static str {
    match f {
        Family::V4 => "IPv4",
        Family::V6 => "IPv6",
    }
}

pub fn families_name(f: FamilySet) -> &'static str {
    match (f.v4, f.v6) {
        (true, true) => "IPv4 and IPv6",
        (true, false) => "IPv4",
        (false, true) => "IPv6",
        (false, false) => "no family",
    }
}

/// A value as the user wrote it, for messages (without backticks).
pub fn show(v: &Value) -> String {
    match v {
        Value::Cidr {
            addr,
            prefix: Some(p),
        } => format!("{addr}/{p}"),
        Value::Cidr { addr, prefix: None } => addr.to_string(),
        Value::AddrRange { lo, hi } => format!("{lo}-{hi}"),
        Value::Number(n) => n.to_string(),
        Value::NumRange { lo, hi } => format!("{lo}-{hi}"),
        Value::TypeCode { ty, code } => format!("{ty}/{code}"),
        Value::Str(s) => format!("\"{s}\""),
        Value::Name(n) => n.clone(),
        Value::Wildcard(w) if w.ends_with('+') => w.clone(),
        Value::Wildcard(w) => format!("{w}+"),
        Value::Id { kind, lo, hi } => {
            let k = match kind {
                IdKind::Uid => "uid",
                IdKind::Gid => "gid",
            };
            if lo == hi {
                format!("{k} {lo}")
            } else {
                format!("{k} {lo}-{hi}")
            }
        }
        Value::Service { proto, args } => {
            let mut s = proto_name(proto.node);
            let args: Vec<String> = args.iter().map(|a| show(&a.node)).collect();
            if !args.is_empty() {
                s.push(' ');
                s.push_str(&args.join(", "));
            }
            s
        }
    }
}

fn what_value(v: &Value) -> &'static str {
    match v {
        Value::Cidr { .. } | Value::AddrRange { .. } => "an address",
        Value::Number(_) | Value::NumRange { .. } => "a number",
        Value::TypeCode { .. } => "an ICMP type/code",
        Value::Str(_) => "a quoted name",
        Value::Name(_) => "a name",
        Value::Wildcard(_) => "an interface pattern",
        Value::Id {
            kind: IdKind::Uid, ..
        } => "a user id",
        Value::Id {
            kind: IdKind::Gid, ..
        } => "a group id",
        Value::Service { .. } => "a protocol entry",
    }
}

/// The span from the first to the last value of a list.
pub fn list_span(values: &[Spanned<Value>]) -> Option<Span> {
    let first = values.first()?.span;
    let last = values.last()?.span;
    Some(if first.file == last.file {
        first.to(last)
    } else {
        first
    })
}

fn family_of(a: IpAddr) -> (Family, u128) {
    match a {
        IpAddr::V4(v4) => (Family::V4, u32::from(v4) as u128),
        IpAddr::V6(v6) => (Family::V6, u128::from(v6)),
    }
}

fn family_bits(f: Family) -> u8 {
    match f {
        Family::V4 => 32,
        Family::V6 => 128,
    }
}

fn addr_text(f: Family, v: u128) -> String {
    match f {
        Family::V4 => std::net::Ipv4Addr::from(v as u32).to_string(),
        Family::V6 => std::net::Ipv6Addr::from(v).to_string(),
    }
}

/// The single name of a one-element list, used to name IR sets.
pub fn sole_name(values: &[Spanned<Value>]) -> Option<String> {
    match values {
        [Spanned {
            node: Value::Name(n),
            ..
        }] => Some(n.clone()),
        _ => None,
    }
}

impl Sema<'_> {
    pub fn wrong_value(&mut self, v: &Spanned<Value>, expected: &str) {
        self.diags.push(
            Diagnostic::error(
                "wrong-value",
                format!(
                    "expected {expected}, found {} `{}`",
                    what_value(&v.node),
                    show(&v.node)
                ),
                v.span,
            )
            .primary_label(format!("expected {expected}"))
            .help(format!("write {expected} here")),
        );
    }

    fn out_of_range(&mut self, span: Span, what: &str, max: u64, text: String) {
        self.diags.push(
            Diagnostic::error(
                "out-of-range",
                format!("{what} `{text}` is out of range"),
                span,
            )
            .primary_label(format!("at most {max}"))
            .help(format!("valid values are 0 to {max}")),
        );
    }

    fn empty_range(&mut self, span: Span, what: &str, lo: String, hi: String) {
        self.diags.push(
            Diagnostic::error(
                "bad-range",
                format!("{what} range `{lo}-{hi}` is empty: it starts after it ends"),
                span,
            )
            .primary_label("the start is greater than the end")
            .help(format!("write the smaller value first: `{hi}-{lo}`")),
        );
    }

    /// Addresses, networks, ranges and names of address definitions.
    /// The families of each element are recorded only when the policy
    /// filters one family (for the `family-excluded` check).
    pub fn addrs(&mut self, values: &[Spanned<Value>], user: Option<DefId>) -> Option<AddrList> {
        let mut out = AddrList {
            ranges: Vec::new(),
            elems: Vec::new(),
        };
        let track = self.family != FamilySet::INET;
        let mut ok = true;
        for (index, v) in values.iter().enumerate() {
            let before = out.ranges.len();
            match &v.node {
                Value::Cidr { addr, prefix } => match self.cidr(v.span, *addr, *prefix) {
                    Some(r) => out.ranges.push(r),
                    None => {
                        ok = false;
                        continue;
                    }
                },
                Value::AddrRange { lo, hi } => {
                    let (fl, l) = family_of(*lo);
                    let (fh, h) = family_of(*hi);
                    if fl != fh {
                        self.diags.push(
                            Diagnostic::error(
                                "bad-range",
                                format!("address range `{}` mixes IPv4 and IPv6", show(&v.node)),
                                v.span,
                            )
                            .primary_label(format!(
                                "`{lo}` is {} but `{hi}` is {}",
                                family_name(fl),
                                family_name(fh)
                            ))
                            .help("both ends of a range must be of the same family"),
                        );
                        ok = false;
                        continue;
                    }
                    if l > h {
                        self.empty_range(v.span, "address", lo.to_string(), hi.to_string());
                        ok = false;
                        continue;
                    }
                    out.ranges.push(AddrRange {
                        family: fl,
                        lo: l,
                        hi: h,
                    });
                }
                Value::Name(n) => match self.resolve(n, v.span, &[Class::Addr], user) {
                    Some((_, val)) => {
                        if let DefValue::Addrs(r) = &*val {
                            out.ranges.extend_from_slice(r);
                        }
                    }
                    None => {
                        ok = false;
                        continue;
                    }
                },
                _ => {
                    self.wrong_value(v, "an address");
                    ok = false;
                    continue;
                }
            }
            if track {
                let added = &out.ranges[before..];
                out.elems.push(AddrElem {
                    index,
                    families: FamilySet {
                        v4: added.iter().any(|r| r.family == Family::V4),
                        v6: added.iter().any(|r| r.family == Family::V6),
                    },
                });
            }
        }
        ok.then_some(out)
    }

    fn cidr(&mut self, span: Span, addr: IpAddr, prefix: Option<u8>) -> Option<AddrRange> {
        let (family, value) = family_of(addr);
        let bits = family_bits(family);
        let p = prefix.unwrap_or(bits);
        if p > bits {
            self.diags.push(
                Diagnostic::error(
                    "prefix-too-long",
                    format!(
                        "prefix `/{p}` is too long for the {} address `{addr}`",
                        family_name(family)
                    ),
                    span,
                )
                .primary_label(format!(
                    "{} prefixes are at most /{bits}",
                    family_name(family)
                ))
                .help(format!("use a prefix from /0 to /{bits}")),
            );
            return None;
        }
        let host_bits = u32::from(bits - p);
        let host_mask = if host_bits >= 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        let net = value & !host_mask;
        if net != value {
            let fixed = format!("{}/{p}", addr_text(family, net));
            self.diags.push(
                Diagnostic::new(
                    "host-bits-set",
                    format!("`{addr}/{p}` has host bits set"),
                    span,
                )
                .primary_label(format!("this is the network `{fixed}`"))
                .help(format!(
                    "write `{fixed}`; the bits after the prefix are ignored"
                )),
            );
        }
        Some(AddrRange {
            family,
            lo: net,
            hi: net | host_mask,
        })
    }

    /// Port numbers, ranges and names of port lists.
    pub fn ports(&mut self, values: &[Spanned<Value>], user: Option<DefId>) -> Option<PortSet> {
        let mut ranges = Vec::new();
        let mut ok = true;
        for v in values {
            match &v.node {
                Value::Number(n) if *n <= 65535 => ranges.push((*n as u16, *n as u16)),
                Value::Number(n) => {
                    self.out_of_range(v.span, "port", 65535, n.to_string());
                    ok = false;
                }
                Value::NumRange { lo, hi } if lo > hi => {
                    self.empty_range(v.span, "port", lo.to_string(), hi.to_string());
                    ok = false;
                }
                Value::NumRange { lo, hi } if *hi > 65535 => {
                    self.out_of_range(v.span, "port", 65535, format!("{lo}-{hi}"));
                    ok = false;
                }
                Value::NumRange { lo, hi } => ranges.push((*lo as u16, *hi as u16)),
                Value::Name(n) => match self.resolve(n, v.span, &[Class::Port], user) {
                    Some((_, val)) => {
                        if let DefValue::Ports(p) = &*val {
                            ranges.extend_from_slice(p);
                        }
                    }
                    None => ok = false,
                },
                _ => {
                    self.wrong_value(v, "a port");
                    ok = false;
                }
            }
        }
        ok.then(|| PortSet {
            name: sole_name(values),
            ranges,
        })
    }

    /// ICMP or ICMPv6 types: numbers, `type/code`, names of the family.
    /// `Some(None)` means any type (`any`).
    fn icmp_types(
        &mut self,
        values: &[Spanned<Value>],
        family: Family,
    ) -> Option<Option<Vec<IcmpSpec>>> {
        let mut specs = Vec::new();
        let mut any = false;
        let mut ok = true;
        let proto = match family {
            Family::V4 => "icmp",
            Family::V6 => "icmpv6",
        };
        for v in values {
            match &v.node {
                Value::Number(n) if *n <= 255 => specs.push(IcmpSpec {
                    ty: *n as u8,
                    code: None,
                }),
                Value::NumRange { lo, hi } if lo > hi => {
                    self.empty_range(v.span, "icmp type", lo.to_string(), hi.to_string());
                    ok = false;
                }
                Value::NumRange { lo, hi } if *hi <= 255 => {
                    specs.extend((*lo..=*hi).map(|t| IcmpSpec {
                        ty: t as u8,
                        code: None,
                    }));
                }
                Value::Number(_) | Value::NumRange { .. } => {
                    self.out_of_range(v.span, "icmp type", 255, show(&v.node));
                    ok = false;
                }
                Value::TypeCode { ty, code } if *ty <= 255 && *code <= 255 => {
                    specs.push(IcmpSpec {
                        ty: *ty as u8,
                        code: Some((*code as u8, *code as u8)),
                    })
                }
                Value::TypeCode { .. } => {
                    self.out_of_range(v.span, "icmp type/code", 255, show(&v.node));
                    ok = false;
                }
                Value::Name(n) if n.eq_ignore_ascii_case("any") => any = true,
                Value::Name(n) => match icmp::lookup(family, n) {
                    Some(s) => specs.push(s),
                    None => {
                        ok = false;
                        let other = match family {
                            Family::V4 => Family::V6,
                            Family::V6 => Family::V4,
                        };
                        if icmp::lookup(other, n).is_some() {
                            let right = match other {
                                Family::V4 => "icmp",
                                Family::V6 => "icmpv6",
                            };
                            self.diags.push(
                                Diagnostic::error(
                                    "icmp-family",
                                    format!("`{n}` is an {right} type, not an {proto} type"),
                                    v.span,
                                )
                                .primary_label(format!(
                                    "not a type of `{proto}` ({})",
                                    family_name(family)
                                ))
                                .help(format!(
                                    "write `{right} {n}` to match it in {}",
                                    family_name(other)
                                )),
                            );
                        } else {
                            let hint = suggest(n, icmp::names(family));
                            self.diags.push(
                                Diagnostic::error("unknown-icmp-type", format!("unknown {proto} type `{n}`"), v.span)
                                    .primary_label(format!("not an {proto} type name"))
                                    .help(did_you_mean(
                                        hint,
                                        format!("use an {proto} type name such as `echo-request`, or a number 0-255"),
                                    )),
                            );
                        }
                    }
                },
                _ => {
                    self.wrong_value(v, &format!("an {proto} type"));
                    ok = false;
                }
            }
        }
        if !ok {
            return None;
        }
        Some((!any).then_some(specs))
    }

    /// One protocol entry: `tcp 80, 443`, `icmp echo-request`, `proto gre`.
    pub fn proto_entry(
        &mut self,
        proto: &Spanned<Proto>,
        args: &[Spanned<Value>],
        user: Option<DefId>,
    ) -> Option<L4> {
        let p = proto_number(proto.node);
        let mut alt = L4 {
            proto: p,
            sport: None,
            dport: None,
            icmp: None,
            service: None,
        };
        if args.is_empty() {
            return Some(alt);
        }
        if has_ports(p) {
            alt.dport = Some(self.ports(args, user)?);
        } else if p == dim::PROTO_ICMP || p == dim::PROTO_ICMPV6 {
            let family = if p == dim::PROTO_ICMP {
                Family::V4
            } else {
                Family::V6
            };
            alt.icmp = self.icmp_types(args, family)?;
        } else {
            let span = list_span(args).unwrap_or(proto.span);
            self.diags.push(
                Diagnostic::error(
                    "port-without-protocol",
                    format!("`{}` has no ports or ICMP types", proto_name(proto.node)),
                    span,
                )
                .primary_label(
                    "ports need `tcp`, `udp` or `sctp`; ICMP types need `icmp` or `icmpv6`",
                )
                .label(proto.span, "this protocol has neither")
                .help(format!(
                    "remove the values after `{}`",
                    proto_name(proto.node)
                )),
            );
            return None;
        }
        Some(alt)
    }

    /// The values of a `service` definition: protocol entries and names of
    /// other services. Alternatives of one protocol are merged.
    pub fn service_def(&mut self, values: &[Spanned<Value>], id: DefId) -> Option<Vec<L4>> {
        let mut alts = Vec::new();
        let mut ok = true;
        for v in self.continue_icmp(values) {
            match &v.node {
                Value::Service { proto, args } => match self.proto_entry(proto, args, Some(id)) {
                    Some(a) => alts.push(a),
                    None => ok = false,
                },
                Value::Name(n) => match self.resolve(n, v.span, &[Class::Service], Some(id)) {
                    Some((_, val)) => {
                        if let DefValue::Services(s) = &*val {
                            alts.extend(s.iter().cloned());
                        }
                    }
                    None => ok = false,
                },
                _ => {
                    self.wrong_value(&v, "a protocol entry like `tcp 80` or a service name");
                    ok = false;
                }
            }
        }
        ok.then(|| merge_alts(alts))
    }

    /// In a service, a bare word after an `icmp`/`icmpv6` entry is a
    /// service name by the grammar. When no definition has that name and
    /// it is an ICMP type name, it continues the ICMP entry instead:
    /// `icmpv6 nd-router-solicit, nd-router-advert` reads as one entry.
    fn continue_icmp(&self, values: &[Spanned<Value>]) -> Vec<Spanned<Value>> {
        let mut out: Vec<Spanned<Value>> = Vec::with_capacity(values.len());
        for v in values {
            if let Value::Name(n) = &v.node {
                let is_icmp_name = n.eq_ignore_ascii_case("any")
                    || Family::ALL.iter().any(|&f| icmp::lookup(f, n).is_some());
                if is_icmp_name && !self.syms.def_index.contains_key(n.as_str()) {
                    if let Some(Spanned {
                        node: Value::Service { proto, args },
                        span,
                    }) = out.last_mut()
                    {
                        if matches!(proto.node, Proto::Icmp | Proto::Icmpv6) {
                            args.push(v.clone());
                            if span.file == v.span.file {
                                *span = span.to(v.span);
                            }
                            continue;
                        }
                    }
                }
            }
            out.push(v.clone());
        }
        out
    }

    /// Socket owners: `uid N`, `uid N-M`, a quoted name, a name of a
    /// definition of the same kind. `root` (bare, when nothing else is
    /// called so, or quoted) is uid or gid 0 on every Linux host.
    pub fn owners(
        &mut self,
        values: &[Spanned<Value>],
        kind: IdKind,
        user: Option<DefId>,
    ) -> Option<Vec<OwnerRange>> {
        let (word, class, def_word) = match kind {
            IdKind::Uid => ("uid", Class::User, "user"),
            IdKind::Gid => ("gid", Class::Group, "group"),
        };
        let mut out = Vec::new();
        let mut ok = true;
        for v in values {
            match &v.node {
                Value::Id { kind: k, lo, hi } if *k == kind => {
                    if lo > hi {
                        self.empty_range(v.span, word, lo.to_string(), hi.to_string());
                        ok = false;
                    } else if *hi > MAX_ID {
                        self.out_of_range(v.span, word, MAX_ID, format!("{lo}-{hi}"));
                        ok = false;
                    } else {
                        out.push(OwnerRange {
                            lo: *lo as u32,
                            hi: *hi as u32,
                            host_name: None,
                        });
                    }
                }
                Value::Id { .. } => {
                    self.diags.push(
                        Diagnostic::error(
                            "wrong-value",
                            format!("expected a {def_word}, found `{}`", show(&v.node)),
                            v.span,
                        )
                        .primary_label(format!("a {def_word} is written `{word} N`"))
                        .help(format!("write `{word}` instead")),
                    );
                    ok = false;
                }
                Value::Str(s) if s == "root" => out.push(OwnerRange {
                    lo: 0,
                    hi: 0,
                    host_name: Some(s.clone()),
                }),
                Value::Str(s) => {
                    if self.check_owner_name(s, v.span, def_word) {
                        out.push(self.symbolic_owner(kind, s));
                    } else {
                        ok = false;
                    }
                }
                Value::Name(n) if n == "root" && !self.syms.def_index.contains_key("root") => out
                    .push(OwnerRange {
                        lo: 0,
                        hi: 0,
                        host_name: None,
                    }),
                Value::Name(n) => match self.resolve(n, v.span, &[class], user) {
                    Some((_, val)) => {
                        if let DefValue::Owners(o) = &*val {
                            out.extend(o.iter().cloned());
                        }
                    }
                    None => ok = false,
                },
                Value::Number(n) => {
                    self.diags.push(
                        Diagnostic::error("wrong-value", format!("expected a {def_word}, found the number `{n}`"), v.span)
                            .primary_label(format!("write `{word} {n}` for a numeric id"))
                            .help(format!("numeric ids are written `{word} {n}`; names are quoted, like \"www-data\"")),
                    );
                    ok = false;
                }
                _ => {
                    self.wrong_value(
                        v,
                        &format!("a {def_word} (`{word} N`, a quoted name or a `{def_word}` name)"),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    fn check_owner_name(&mut self, s: &str, span: Span, what: &str) -> bool {
        let bad = s.is_empty()
            || s.chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == ':');
        if bad {
            self.diags.push(
                Diagnostic::error(
                    "invalid-string",
                    format!("`\"{}\"` is not a valid {what} name", s.escape_debug()),
                    span,
                )
                .primary_label("empty, or contains a space, a control character or `:`")
                .help(format!(
                    "write the {what} name as it appears in {}",
                    if what == "user" {
                        "/etc/passwd"
                    } else {
                        "/etc/group"
                    }
                )),
            );
        }
        !bad
    }

    /// A name resolved on the host at load time: one symbolic id per
    /// distinct name and kind, in order of first use.
    fn symbolic_owner(&mut self, kind: IdKind, name: &str) -> OwnerRange {
        let table: &mut HashMap<String, usize> = match kind {
            IdKind::Uid => &mut self.owner_names[0],
            IdKind::Gid => &mut self.owner_names[1],
        };
        let next = table.len();
        let k = *table.entry(name.to_string()).or_insert(next);
        let id = ir::symbolic_id(k);
        OwnerRange {
            lo: id,
            hi: id,
            host_name: Some(name.to_string()),
        }
    }

    /// Interfaces: bare or quoted names, `eth+` patterns, names of `iface`
    /// definitions. A bare word that is no definition is an interface name.
    pub fn ifaces(&mut self, values: &[Spanned<Value>], user: Option<DefId>) -> Option<Vec<Iface>> {
        let mut out = Vec::new();
        let mut ok = true;
        for v in values {
            let lit = match &v.node {
                Value::Name(n) => {
                    if self.syms.def_index.contains_key(n.as_str()) {
                        let Some(id) = self.lookup_def(n, v.span, &[Class::Iface], user) else {
                            ok = false;
                            continue;
                        };
                        let help = format!("write `\"{n}\"` to mean the interface named `{n}`");
                        match self.resolve_id(id, v.span, &[Class::Iface], Some(&help)) {
                            Some((_, val)) => {
                                if let DefValue::Ifaces(i) = &*val {
                                    out.extend(i.iter().cloned());
                                }
                            }
                            None => ok = false,
                        }
                        continue;
                    }
                    Some((n.as_str(), false))
                }
                Value::Str(s) => Some(match s.strip_suffix('+') {
                    Some(prefix) => (prefix, true),
                    None => (s.as_str(), false),
                }),
                Value::Wildcard(w) => Some((w.strip_suffix('+').unwrap_or(w), true)),
                _ => None,
            };
            match lit {
                Some((name, wildcard)) if self.check_iface(name, wildcard, v) => out.push(Iface {
                    name: name.to_string(),
                    wildcard,
                }),
                Some(_) => ok = false,
                None => {
                    self.wrong_value(v, "an interface name");
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    fn check_iface(&mut self, name: &str, wildcard: bool, v: &Spanned<Value>) -> bool {
        let problem = if name.is_empty() && !wildcard {
            Some("an interface name cannot be empty".to_string())
        } else if name.len() > dim::IFNAME_MAX {
            Some(format!(
                "it is {} bytes long; Linux allows at most {}",
                name.len(),
                dim::IFNAME_MAX
            ))
        } else if name == "." || name == ".." {
            Some("`.` and `..` are not interface names".to_string())
        } else if name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
        {
            Some(
                "interface names cannot contain `/`, `:`, spaces or control characters".to_string(),
            )
        } else {
            None
        };
        if let Some(p) = problem {
            self.diags.push(
                Diagnostic::error(
                    "invalid-iface",
                    format!("`{}` is not a valid interface name", show(&v.node)),
                    v.span,
                )
                .primary_label(p)
                .help("write the name as `ip link` shows it; end it with `+` to match every name with that prefix"),
            );
            return false;
        }
        true
    }
}

/// Merges alternatives of the same protocol (and service name) into one:
/// `tcp 80, tcp 443` is `tcp 80, 443`; an alternative without ports or
/// types absorbs the others of its protocol.
pub fn merge_alts(alts: Vec<L4>) -> Vec<L4> {
    let mut out: Vec<L4> = Vec::with_capacity(alts.len());
    let mut at: HashMap<(u8, Option<String>), usize> = HashMap::new();
    for a in alts {
        let key = (a.proto, a.service.clone());
        match at.get(&key) {
            Some(&i) if a.sport.is_none() && out[i].sport.is_none() => {
                let o = &mut out[i];
                o.dport = match (o.dport.take(), a.dport) {
                    (Some(mut x), Some(y)) => {
                        if x.name != y.name {
                            x.name = None;
                        }
                        x.ranges.extend(y.ranges);
                        Some(x)
                    }
                    _ => None,
                };
                o.icmp = match (o.icmp.take(), a.icmp) {
                    (Some(mut x), Some(y)) => {
                        x.extend(y);
                        Some(x)
                    }
                    _ => None,
                };
            }
            _ => {
                at.insert(key, out.len());
                out.push(a);
            }
        }
    }
    out
}
