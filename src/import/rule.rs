//! The pieces of one rule while it is being read: conditions in source
//! order, the protocol given with `-p`, and the family evidence the rule
//! carries.

use crate::ir::{Cond, Family, IcmpSpec, OwnerNegation, PortSet, Test, L4};
use crate::source::Span;

/// What `-p` said.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProtoUse {
    /// `None` for `all`.
    pub proto: Option<u8>,
    pub negated: bool,
    /// The index of its condition in [`RuleBuilder::conds`], if it made one.
    pub cond: Option<usize>,
    pub span: Span,
}

/// A field of a protocol match that a module (`tcp`, `multiport`, `icmp`)
/// adds to the protocol of `-p`.
#[derive(Debug, Clone)]
pub(crate) enum L4Field {
    Sport(Vec<(u16, u16)>),
    Dport(Vec<(u16, u16)>),
    /// `None`: any ICMP type (`--icmp-type any`).
    Icmp(Option<IcmpSpec>),
}

/// Why a rule shows its family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EvidenceKind {
    /// An address or address range (`-s`, `-d`, `--src-range`).
    Address,
    /// `-m icmp` or `-m icmp6`.
    IcmpModule,
    /// A `--reject-with` reason of one family.
    RejectWith,
    /// `-p icmpv6` / `-p ipv6-icmp`: legal in both, so it only tips the
    /// balance when nothing else does.
    ProtoName,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Evidence {
    pub family: Family,
    pub span: Span,
    pub kind: EvidenceKind,
}

impl Evidence {
    /// Strong evidence contradicts the other family: such a rule cannot
    /// come from the other tool.
    pub fn is_strong(&self) -> bool {
        self.kind != EvidenceKind::ProtoName
    }
}

#[derive(Debug, Default)]
pub(crate) struct RuleBuilder {
    pub conds: Vec<Cond>,
    pub proto: Option<ProtoUse>,
    pub comment: Option<String>,
    pub evidence: Vec<Evidence>,
    /// An error was reported for this rule: it is left out.
    pub failed: bool,
}

impl RuleBuilder {
    pub fn push(&mut self, test: Test, negated: bool, span: Span) -> usize {
        let mut c = Cond::new(test, span);
        c.negated = negated;
        c.owner_negation = OwnerNegation::Xt;
        self.conds.push(c);
        self.conds.len() - 1
    }

    pub fn evidence(&mut self, family: Family, span: Span, kind: EvidenceKind) {
        self.evidence.push(Evidence { family, span, kind });
    }

    /// Adds ports or an ICMP type of protocol `proto`. A positive field is
    /// merged into the `-p` condition when that slot is still free, so
    /// `-p tcp -m tcp --dport 22` is one condition `tcp dport 22`; a
    /// negated field becomes its own negated condition (`not (tcp dport
    /// 22)`, which together with `-p tcp` means "tcp, port not 22").
    pub fn add_l4(&mut self, proto: u8, field: L4Field, negated: bool, span: Span) {
        if !negated {
            if let Some(ProtoUse {
                proto: Some(p),
                negated: false,
                cond: Some(i),
                ..
            }) = self.proto
            {
                if p == proto {
                    let cond = &mut self.conds[i];
                    if let Test::L4(alts) = &mut cond.test {
                        if let [l4] = alts.as_mut_slice() {
                            if merge_field(l4, &field) {
                                cond.span = cond.span.to(span);
                                return;
                            }
                        }
                    }
                }
            }
        }
        let mut l4 = L4 {
            proto,
            sport: None,
            dport: None,
            icmp: None,
            service: None,
        };
        merge_field(&mut l4, &field);
        self.push(Test::L4(vec![l4]), negated, span);
    }
}

/// Sets `field` in `l4` if that slot is free; `false` when it is taken.
fn merge_field(l4: &mut L4, field: &L4Field) -> bool {
    let ports = |r: &Vec<(u16, u16)>| PortSet {
        name: None,
        ranges: r.clone(),
    };
    match field {
        L4Field::Sport(r) if l4.sport.is_none() => l4.sport = Some(ports(r)),
        L4Field::Dport(r) if l4.dport.is_none() => l4.dport = Some(ports(r)),
        L4Field::Icmp(spec) if l4.icmp.is_none() => {
            if let Some(s) = spec {
                l4.icmp = Some(vec![*s]);
            }
        }
        _ => return false,
    }
    true
}
