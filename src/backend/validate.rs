//! Translation validation: every text `hwc compile` emits is read back
//! into IR and proved equivalent to the policy it came from, packet by
//! packet, by the packet-set engine, before anything is written.
//!
//! - `iptables-restore` texts go through the iptables-save reader
//!   ([`crate::import`]) with their family forced; each is compared with
//!   the policy on the packets of its family only.
//! - The `nft -f` script goes through [`super::nft_read`] and is compared
//!   on every family its table filters.
//!
//! The readers give each tool's own semantics (negated owner tests are
//! `Xt` from iptables, `Nft` from nft), so a lowering that got a negation
//! wrong for one tool shows as a difference. Rate limits are compared in
//! both instantiations (see [`crate::space::equiv`]). A failure is a bug
//! in hwc and carries a witness packet.

use super::{nft_read, Artifact};
use crate::ir::{Family, FamilySet, OwnerRange, Policy, Test};
use crate::source::FileId;
use crate::space::equiv::{check_equivalent, Difference, Equivalence};
use std::collections::HashMap;

/// Why an emitted text was not proved equivalent to its policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The text does not read back (the reader's message).
    Unreadable {
        artifact: &'static str,
        reason: String,
    },
    /// A packet the text and the policy decide differently. `left` of the
    /// difference is the policy's verdict, `right` the text's.
    Differ {
        artifact: &'static str,
        difference: Box<Difference>,
    },
    /// The policy filters a family no text covers.
    MissingFamily { family: Family },
    /// The engine could not decide (budget, complexity).
    Unknown {
        artifact: &'static str,
        reason: String,
    },
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Unreadable { artifact, reason } => {
                write!(
                    f,
                    "the generated {artifact} text does not read back: {reason}"
                )
            }
            Failure::Differ {
                artifact,
                difference: d,
            } => {
                write!(
                    f,
                    "the generated {artifact} text differs from the policy at the {} hook: `{}` gets {} from the policy and {} from the text",
                    d.hook.name(),
                    d.packet,
                    d.left.name(),
                    d.right.name()
                )?;
                if !d.assumption.describe().is_empty() {
                    write!(f, " {}", d.assumption.describe())?;
                }
                Ok(())
            }
            Failure::MissingFamily { family } => write!(
                f,
                "no generated text filters the policy's {} packets",
                family.keyword()
            ),
            Failure::Unknown { artifact, reason } => write!(
                f,
                "could not prove the generated {artifact} text equivalent to the policy: {reason}"
            ),
        }
    }
}

/// What was proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proved {
    /// False when rate limits were compared in both instantiations.
    pub exact: bool,
    /// How many texts were read back.
    pub artifacts: usize,
}

/// Reads every artifact back and proves it equivalent to `policy`.
pub fn validate(policy: &Policy, artifacts: &[Artifact]) -> Result<Proved, Failure> {
    let mut exact = true;
    let mut covered = FamilySet {
        v4: false,
        v6: false,
    };
    for a in artifacts {
        let (mut read, families) = read_back(policy, a)?;
        align_owner_names(&mut read, policy);
        covered.v4 |= families.v4;
        covered.v6 |= families.v6;
        match check_equivalent(policy, &read, families) {
            Equivalence::Equivalent { exact: e } => exact &= e,
            Equivalence::Differ(difference) => {
                return Err(Failure::Differ {
                    artifact: a.suffix,
                    difference: Box::new(difference),
                })
            }
            Equivalence::Unknown { hook } => {
                return Err(Failure::Unknown {
                    artifact: a.suffix,
                    reason: format!("the {} hook ran out of its work budget", hook.name()),
                })
            }
            Equivalence::Error(e) => {
                return Err(Failure::Unknown {
                    artifact: a.suffix,
                    reason: e.to_string(),
                })
            }
        }
    }
    for family in Family::ALL {
        if policy.family.contains(family) && !covered.contains(family) {
            return Err(Failure::MissingFamily { family });
        }
    }
    Ok(Proved {
        exact,
        artifacts: artifacts.len(),
    })
}

/// An artifact as IR, and the families it is responsible for.
fn read_back(policy: &Policy, a: &Artifact) -> Result<(Policy, FamilySet), Failure> {
    let unreadable = |reason: String| Failure::Unreadable {
        artifact: a.suffix,
        reason,
    };
    match a.suffix {
        "ipt4" | "ipt6" => {
            let family = if a.suffix == "ipt4" {
                Family::V4
            } else {
                Family::V6
            };
            let options = crate::import::ImportOptions {
                family: Some(family),
                name: Some(policy.name.clone()),
            };
            let (read, diags) = crate::import::read_dump_with(FileId(0), &a.text, &options);
            let read = read.ok_or_else(|| {
                let first = diags.iter().find(|d| d.is_error()).or(diags.first());
                unreadable(first.map_or_else(String::new, |d| {
                    let line = a.text[..(d.primary_span().start as usize).min(a.text.len())]
                        .matches('\n')
                        .count()
                        + 1;
                    format!("line {line}: {}", d.message)
                }))
            })?;
            let families = if family == Family::V4 {
                FamilySet::IP
            } else {
                FamilySet::IP6
            };
            Ok((read, families))
        }
        "nft" => {
            let read =
                nft_read::read(&a.text, &policy.name).map_err(|e| unreadable(e.to_string()))?;
            let families = read.family;
            Ok((read, families))
        }
        other => Err(unreadable(format!("unknown kind of text `{other}`"))),
    }
}

/// Gives the read-back policy's owner names the symbolic ids the source
/// policy gave them (each reader numbers names in its own order of first
/// appearance).
fn align_owner_names(read: &mut Policy, source: &Policy) {
    let mut ids: [HashMap<String, u32>; 2] = [HashMap::new(), HashMap::new()];
    let each = |p: &Policy, f: &mut dyn FnMut(usize, &OwnerRange)| {
        for c in p
            .chains
            .iter()
            .flat_map(|c| &c.rules)
            .flat_map(|r| &r.matches.conds)
        {
            if let Test::Uid(rs) | Test::Gid(rs) = &c.test {
                let k = matches!(c.test, Test::Gid(_)) as usize;
                rs.iter().for_each(|r| f(k, r));
            }
        }
    };
    each(source, &mut |k, r| {
        if let Some(n) = &r.host_name {
            ids[k].insert(n.clone(), r.lo);
        }
    });
    for c in read
        .chains
        .iter_mut()
        .flat_map(|c| &mut c.rules)
        .flat_map(|r| &mut r.matches.conds)
    {
        let k = matches!(c.test, Test::Gid(_)) as usize;
        if let Test::Uid(rs) | Test::Gid(rs) = &mut c.test {
            for r in rs {
                if let Some(id) = r.host_name.as_ref().and_then(|n| ids[k].get(n)) {
                    r.lo = *id;
                    r.hi = *id;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{compile, Target};
    use crate::source::{MemoryLoader, SourceMap};
    use crate::space::reference;
    use std::path::Path;

    fn load(text: &str) -> Policy {
        let (p, d) = crate::sema::load_source(
            Path::new("p.hw"),
            text,
            &MemoryLoader::default(),
            &mut SourceMap::new(),
        );
        p.unwrap_or_else(|| panic!("{d:?}"))
    }

    const POLICY: &str = "\
user web = \"www-data\"
net lan = 10.0.0.0/8, 2001:db8::/32
chain input policy drop {
  accept iface lo
  accept state established, related
  accept tcp 22, 80-81 from lan state new
  log prefix \"IN \" limit 10/minute burst 5
  reject not from lan udp 53
}
chain output policy drop {
  accept state established, related
  drop state new not user root
  accept user web tcp 443
  accept icmp echo-request
}
chain forward policy drop {}
";

    #[test]
    fn both_targets_are_proved() {
        let p = load(POLICY);
        for target in [Target::Iptables, Target::Nftables] {
            let arts = compile(&p, None, target).unwrap();
            let proved = validate(&p, &arts).unwrap_or_else(|f| panic!("{target:?}: {f}"));
            assert!(!proved.exact);
        }
    }

    /// A broken emitter: the text loses a negation. Validation finds a
    /// packet the policy and the text decide differently, and the packet
    /// really is decided so by the reference evaluator.
    #[test]
    fn a_mutated_text_is_caught_with_a_witness() {
        let p = load(POLICY);
        let mut arts = compile(&p, None, Target::Iptables).unwrap();
        let ipt4 = arts.iter_mut().find(|a| a.suffix == "ipt4").unwrap();
        assert!(
            ipt4.text.contains("-A INPUT -s 10.0.0.0/8 -p tcp"),
            "{}",
            ipt4.text
        );
        ipt4.text = ipt4.text.replacen(
            "-A INPUT -s 10.0.0.0/8 -p tcp",
            "-A INPUT ! -s 10.0.0.0/8 -p tcp",
            1,
        );
        match validate(&p, &arts) {
            Err(Failure::Differ {
                artifact,
                difference: d,
            }) => {
                assert_eq!(artifact, "ipt4");
                assert!(matches!(d.packet.dport, Some(22 | 80 | 81)), "{}", d.packet);
                let src = instantiate_for(&p, &d);
                assert_eq!(
                    reference::decide(&src, &d.packet)
                        .into_iter()
                        .collect::<Vec<_>>(),
                    vec![d.left]
                );
            }
            other => panic!("{other:?}"),
        }
        let mut arts = compile(&p, None, Target::Iptables).unwrap();
        arts[0].text = arts[0]
            .text
            .replacen("--dports 22,80:81", "--dports 23,80:81", 1);
        assert!(matches!(
            validate(&p, &arts),
            Err(Failure::Differ {
                artifact: "ipt4",
                ..
            })
        ));
        let mut arts = compile(&p, None, Target::Nftables).unwrap();
        arts[0].text = arts[0]
            .text
            .replacen("ct state new", "ct state { new, invalid }", 1);
        assert!(matches!(
            validate(&p, &arts),
            Err(Failure::Differ {
                artifact: "nft",
                ..
            })
        ));
        let mut arts = compile(&p, None, Target::Nftables).unwrap();
        arts[0].text = arts[0].text.replacen("accept", "acept", 1);
        assert!(matches!(
            validate(&p, &arts),
            Err(Failure::Unreadable {
                artifact: "nft",
                ..
            })
        ));
    }

    fn instantiate_for(p: &Policy, d: &Difference) -> Policy {
        crate::space::equiv::instantiate(p, d.assumption)
    }

    #[test]
    fn a_missing_family_text_is_an_error() {
        let p = load(POLICY);
        let arts = compile(&p, None, Target::Iptables).unwrap();
        let v4_only: Vec<Artifact> = arts.into_iter().filter(|a| a.suffix == "ipt4").collect();
        assert_eq!(
            validate(&p, &v4_only),
            Err(Failure::MissingFamily { family: Family::V6 })
        );
    }
}
