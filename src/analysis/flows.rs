//! Which rules accept the packets of a region: the flow question that
//! `nonroot-egress` and egress allow-lists (`assertion-failed`) share.
//!
//! Every accepting rule of a chain the hook reaches, the base chain's
//! policy and the packets the policy does not filter are asked in turn:
//! "does it accept a packet of the region?". A definite answer comes from
//! the under-approximation `Accept⁻` (the witness is accepted whatever the
//! rate limits do); a possible one only from `Accept⁺`. "Nothing here" is
//! claimed only from `Accept⁺` (SEMANTICS.md §3).

use super::Context;
use crate::ir::{Hook, Packet, Verdict};
use crate::space::eval::Answer;
use crate::space::reference::Decider;
use crate::space::{Approx, BoxSet};

/// One place that accepts packets of the region.
#[derive(Debug, Clone)]
pub struct Accepting {
    /// A rule, the base chain's policy, a missing base chain or a family
    /// the policy does not filter.
    pub decider: Decider,
    pub witness: Packet,
    /// The witness is accepted whatever the tests hwc does not model do;
    /// otherwise it only may be.
    pub definite: bool,
}

/// Everything that accepts packets of a region at one hook.
#[derive(Debug, Clone, Default)]
pub struct Accepted {
    pub by: Vec<Accepting>,
    /// Some check ran out of its work budget: more may be accepted.
    pub unknown: bool,
}

/// The rules, policy and unfiltered families that accept packets of
/// `region` at `hook`, one witness each. `unfiltered_families`: also
/// report packets of the families the policy does not filter (a missing
/// base chain is always reported).
pub fn accepted_in(
    ctx: &Context,
    hook: Hook,
    region: &BoxSet,
    unfiltered_families: bool,
) -> Accepted {
    let Some(an) = ctx.analysis() else {
        return Accepted {
            by: vec![],
            unknown: true,
        };
    };
    let mut out = Accepted::default();
    let base = ctx.policy.base_chain(hook);
    if let Some(base) = base {
        // Definite: what the under-approximation accepts.
        let under = an.decisions_in(
            base,
            region,
            Approx::Under,
            &|v| v == Some(Verdict::Accept),
            usize::MAX,
        );
        out.unknown |= under.unknown;
        out.by.extend(under.found.into_iter().map(|d| Accepting {
            decider: d.by,
            witness: d.witness,
            definite: true,
        }));
        if !an.is_exact() {
            // Possible: what the over-approximation may accept (opaque
            // targets included), where nothing definite was found.
            let over = an.decisions_in(
                base,
                region,
                Approx::Over,
                &|v| v != Some(Verdict::Drop),
                usize::MAX,
            );
            out.unknown |= over.unknown;
            for d in over.found {
                if !out.by.iter().any(|a| a.decider == d.by) {
                    out.by.push(Accepting {
                        decider: d.by,
                        witness: d.witness,
                        definite: false,
                    });
                }
            }
        }
    }
    if base.is_none() || unfiltered_families {
        match an.unfiltered(hook).intersect(region).check() {
            Answer::Witness(p) => out.by.push(Accepting {
                decider: if base.is_none() {
                    Decider::NoBaseChain
                } else {
                    Decider::FamilyNotFiltered
                },
                witness: p,
                definite: true,
            }),
            Answer::Unknown => out.unknown = true,
            Answer::Empty => {}
        }
    }
    out
}
