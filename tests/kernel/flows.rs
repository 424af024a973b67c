//! Probe flows and what hwc's evaluators predict for them.
//!
//! A flow is one TCP connection, one UDP request/reply or one ICMP echo,
//! from a client to a server; either end may be in the hut, or both (over
//! `lo`). Every packet of the flow that crosses a hook of the hut becomes
//! an [`ir::Packet`] and gets the verdict of the reference evaluator
//! ([`reference::trace`]); the box evaluator must give the same verdict.
//! The flow's predicted outcome follows from those verdicts and from what
//! the kernel does around them:
//!
//! - A packet passes a hop only if it is accepted. From the hut to the peer
//!   it crosses `output` (oif eth0); from the peer, `input` (iif eth0); from
//!   the hut to itself, `output` then `input` (both on `lo`).
//! - The first packet of a flow is NEW; every later packet, either way, is
//!   ESTABLISHED (conntrack confirms the flow when its first packet is
//!   accepted). A flow opened before the policy loaded is ESTABLISHED from
//!   its first probe on.
//! - Output packets carry the sending socket's uid and gid. The SYN-ACK
//!   carries the listener's. ICMP echo replies, TCP resets and ICMP errors
//!   come from the kernel: no user socket. Input packets have no socket.
//! - A dropped UDP datagram or IPv4 echo request in the hut's `output`
//!   fails the send with EPERM ("denied"); TCP ignores that error and
//!   retransmits, and so does the IPv6 echo socket.
//! - A rejected packet makes the hut send an error (a TCP reset, or an
//!   ICMP/ICMPv6 destination-unreachable with the reason's code) back to
//!   the packet's source, conntrack state RELATED, no user socket. It must
//!   pass the hut's hooks too (to itself: `output` and `input` on `lo`). A
//!   client that gets it reports "refused"; an error sent to the server
//!   side leaves the client waiting ("timeout").

use super::lab::{is_hut, HUT_V4, HUT_V6};
use hwc::ir::{self, Action, CtState, Family, Hook, Owner, Packet, Policy, RejectWith, Verdict};
use hwc::space::reference::{self, Decider};
use hwc::space::{Analysis, Approx};
use std::fmt;
use std::net::IpAddr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Tcp,
    Udp,
    Icmp,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Tcp, Kind::Udp, Kind::Icmp];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Tcp => "tcp",
            Kind::Udp => "udp",
            Kind::Icmp => "icmp",
        }
    }
}

/// Where a socket lives: in the hut as a user, or in the peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Who {
    Hut { uid: u32, gid: u32 },
    Peer,
}

/// One end of a flow. `port` is the ICMP echo id for the client of an
/// echo, 0 for its server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct End {
    pub who: Who,
    pub addr: IpAddr,
    pub port: u16,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flow {
    pub id: String,
    pub kind: Kind,
    pub client: End,
    pub server: End,
    /// Opened before the policy was loaded.
    pub kept: bool,
}

impl Flow {
    pub fn family(&self) -> Family {
        if self.client.addr.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        }
    }
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = |w: Who| match w {
            Who::Hut { uid, .. } => format!("hut(uid {uid})"),
            Who::Peer => "peer".to_string(),
        };
        write!(
            f,
            "{} {}{} {}:{} -> {} {}:{}",
            self.id,
            self.kind.name(),
            if self.kept {
                " (opened before the policy)"
            } else {
                ""
            },
            who(self.client.who),
            self.client.addr,
            who(self.server.who),
            self.server.addr,
            self.server.port
        )?;
        if self.kind != Kind::Icmp {
            write!(f, " sport {}", self.client.port)?;
        }
        Ok(())
    }
}

/// What a probe sees (the agent's words).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// TCP: connected and the server echoed.
    EchoOk,
    /// TCP: no answer to the SYN.
    ConnectTimeout,
    /// TCP: connected, no echo.
    EchoTimeout,
    /// A reset or an ICMP error reached the client.
    Refused,
    /// UDP, ICMP: the answer came back.
    Reply,
    /// UDP, ICMP: the send failed with EPERM.
    Denied,
    /// UDP, ICMP: no answer.
    Timeout,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::EchoOk => "echo-ok",
            Outcome::ConnectTimeout => "connect-timeout",
            Outcome::EchoTimeout => "echo-timeout",
            Outcome::Refused => "refused",
            Outcome::Reply => "reply",
            Outcome::Denied => "denied",
            Outcome::Timeout => "timeout",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        [
            Outcome::EchoOk,
            Outcome::ConnectTimeout,
            Outcome::EchoTimeout,
            Outcome::Refused,
            Outcome::Reply,
            Outcome::Denied,
            Outcome::Timeout,
        ]
        .into_iter()
        .find(|o| o.name() == s)
    }

    /// What a flow of this kind sees when every packet passes.
    pub fn success(kind: Kind) -> Outcome {
        match kind {
            Kind::Tcp => Outcome::EchoOk,
            _ => Outcome::Reply,
        }
    }
}

/// One packet the prediction asked about, with its answer.
#[derive(Clone, Debug)]
pub struct Checked {
    pub packet: Packet,
    pub verdict: Verdict,
    pub decider: Decider,
    /// The deciding rule's reject reason, when it rejects.
    pub reject: Option<Option<RejectWith>>,
}

/// A flow's predicted outcome and the packets it rests on.
#[derive(Clone, Debug)]
pub struct Prediction {
    pub outcome: Outcome,
    pub packets: Vec<Checked>,
}

/// Why a flow cannot be predicted or the evaluators disagree.
#[derive(Clone, Debug)]
pub enum Unpredictable {
    /// The verdict depends on something hwc does not model (a rate limit).
    Unsure,
    /// The box evaluator and the reference evaluator disagree (on this
    /// packet, so).
    Engines(String),
}

enum Fate {
    Delivered,
    /// Dropped at a hook of the hut (`output` of a sender in the hut, or
    /// `input`), perhaps rejected.
    Dropped {
        hook: Hook,
        packet: Packet,
        reject: Option<Option<RejectWith>>,
    },
}

/// A packet on the wire, before it meets a hook.
struct Wire {
    family: Family,
    proto: u8,
    src: IpAddr,
    dst: IpAddr,
    sport: Option<u16>,
    dport: Option<u16>,
    icmp: Option<(u8, u8)>,
    state: CtState,
    /// The owner its `output` hop sees.
    owner: Owner,
    from_hut: bool,
}

impl Wire {
    fn at(&self, hook: Hook, iface: &str) -> Packet {
        Packet {
            hook,
            family: self.family,
            iif: if hook == Hook::Input {
                iface.into()
            } else {
                String::new()
            },
            oif: if hook == Hook::Output {
                iface.into()
            } else {
                String::new()
            },
            src: self.src,
            dst: self.dst,
            proto: self.proto,
            sport: self.sport,
            dport: self.dport,
            icmp_type: self.icmp.map(|x| x.0),
            icmp_code: self.icmp.map(|x| x.1),
            state: self.state,
            owner: if hook == Hook::Output {
                self.owner
            } else {
                Owner::NoSocket
            },
        }
    }

    /// The hut's hooks it crosses, in order.
    fn hops(&self) -> Vec<(Hook, &'static str)> {
        match (self.from_hut, is_hut(self.dst)) {
            (true, true) => vec![(Hook::Output, "lo"), (Hook::Input, "lo")],
            (true, false) => vec![(Hook::Output, "eth0")],
            (false, _) => vec![(Hook::Input, "eth0")],
        }
    }
}

fn owner(who: Who) -> Owner {
    match who {
        Who::Hut { uid, gid } => Owner::Socket { uid, gid },
        Who::Peer => Owner::NoSocket,
    }
}

fn hut_addr(f: Family) -> IpAddr {
    match f {
        Family::V4 => HUT_V4.into(),
        Family::V6 => HUT_V6.into(),
    }
}

/// The ICMP destination-unreachable code a reject reason sends to a packet
/// of this family: the reason itself, or its counterpart in the other
/// family (docs/backends.md). Without a reason: port unreachable.
pub fn reject_code(reason: Option<RejectWith>, f: Family) -> u8 {
    use RejectWith::*;
    let r = reason.unwrap_or(IcmpPortUnreachable);
    match (f, r) {
        (Family::V4, IcmpNetUnreachable | Icmp6NoRoute) => 0,
        (Family::V4, IcmpHostUnreachable | Icmp6AddrUnreachable) => 1,
        (Family::V4, IcmpProtoUnreachable) => 2,
        (Family::V4, IcmpPortUnreachable | Icmp6PortUnreachable | TcpReset) => 3,
        (Family::V4, IcmpNetProhibited) => 9,
        (Family::V4, IcmpHostProhibited) => 10,
        (Family::V4, IcmpAdminProhibited | Icmp6AdmProhibited) => 13,
        (Family::V6, IcmpNetUnreachable | Icmp6NoRoute) => 0,
        (Family::V6, IcmpAdminProhibited | Icmp6AdmProhibited) => 1,
        (Family::V6, IcmpHostUnreachable | Icmp6AddrUnreachable) => 3,
        // Reasons IPv6 lacks do not compile for IPv6 rules.
        (Family::V6, _) => 4,
    }
}

/// Predicts flows for one policy.
pub struct Predictor<'p> {
    policy: &'p Policy,
    an: Analysis<'p>,
}

impl<'p> Predictor<'p> {
    pub fn new(policy: &'p Policy) -> Predictor<'p> {
        let an = Analysis::new(policy).expect("the box evaluator builds");
        Predictor { policy, an }
    }

    pub fn policy(&self) -> &'p Policy {
        self.policy
    }

    fn check(&self, p: Packet, out: &mut Vec<Checked>) -> Result<Verdict, Unpredictable> {
        let t = reference::trace(self.policy, &p);
        if t.possible.len() != 1 {
            return Err(Unpredictable::Unsure);
        }
        let under = self.an.accepted(p.hook, Approx::Under).contains(&p);
        let over = self.an.accepted(p.hook, Approx::Over).contains(&p);
        let want = t.verdict == Verdict::Accept;
        if under != want || over != want {
            return Err(Unpredictable::Engines(format!(
                "{p}: reference: {}, box evaluator: accepted under {under}, over {over}",
                t.verdict.name()
            )));
        }
        let reject = match t.decided_by {
            Decider::Rule(r) => match &self.policy.chain(r.chain).rules[r.index as usize].action {
                Action::Reject(reason) => Some(*reason),
                _ => None,
            },
            _ => None,
        };
        out.push(Checked {
            packet: p,
            verdict: t.verdict,
            decider: t.decided_by,
            reject,
        });
        Ok(t.verdict)
    }

    fn send(&self, w: &Wire, out: &mut Vec<Checked>) -> Result<Fate, Unpredictable> {
        for (hook, iface) in w.hops() {
            let p = w.at(hook, iface);
            if self.check(p.clone(), out)? == Verdict::Drop {
                let reject = out.last().and_then(|c| c.reject);
                return Ok(Fate::Dropped {
                    hook,
                    packet: p,
                    reject,
                });
            }
        }
        Ok(Fate::Delivered)
    }

    /// Does the error the hut sends for a rejected packet reach its source?
    fn error_arrives(
        &self,
        p: &Packet,
        reason: Option<RejectWith>,
        out: &mut Vec<Checked>,
    ) -> Result<bool, Unpredictable> {
        let w = if reason == Some(RejectWith::TcpReset) && p.proto == ir::dim::PROTO_TCP {
            Wire {
                family: p.family,
                proto: p.proto,
                src: p.dst,
                dst: p.src,
                sport: p.dport,
                dport: p.sport,
                icmp: None,
                state: CtState::Related,
                owner: Owner::NoSocket,
                from_hut: true,
            }
        } else {
            let (proto, ty) = match p.family {
                Family::V4 => (ir::dim::PROTO_ICMP, 3),
                Family::V6 => (ir::dim::PROTO_ICMPV6, 1),
            };
            Wire {
                family: p.family,
                proto,
                src: hut_addr(p.family),
                dst: p.src,
                sport: None,
                dport: None,
                icmp: Some((ty, reject_code(reason, p.family))),
                state: CtState::Related,
                owner: Owner::Kernel,
                from_hut: true,
            }
        };
        Ok(matches!(self.send(&w, out)?, Fate::Delivered))
    }

    fn wire(&self, f: &Flow, forward: bool, state: CtState, owner: Owner) -> Wire {
        let (from, to) = if forward {
            (&f.client, &f.server)
        } else {
            (&f.server, &f.client)
        };
        let family = f.family();
        let (proto, ports, icmp) = match f.kind {
            Kind::Tcp => (ir::dim::PROTO_TCP, true, None),
            Kind::Udp => (ir::dim::PROTO_UDP, true, None),
            Kind::Icmp => {
                let (proto, req, rep) = match family {
                    Family::V4 => (ir::dim::PROTO_ICMP, 8, 0),
                    Family::V6 => (ir::dim::PROTO_ICMPV6, 128, 129),
                };
                (proto, false, Some((if forward { req } else { rep }, 0)))
            }
        };
        Wire {
            family,
            proto,
            src: from.addr,
            dst: to.addr,
            sport: ports.then_some(from.port),
            dport: ports.then_some(to.port),
            icmp,
            state,
            owner,
            from_hut: matches!(from.who, Who::Hut { .. }),
        }
    }

    /// The outcome the evaluators predict for a probe of the flow (for a
    /// kept flow: the probe sent after the policy loaded).
    pub fn predict(&self, f: &Flow) -> Result<Prediction, Unpredictable> {
        let mut out = Vec::new();
        let client = owner(f.client.who);
        let first = if f.kept {
            CtState::Established
        } else {
            CtState::New
        };
        let outcome = match f.kind {
            Kind::Tcp => 'tcp: {
                if !f.kept {
                    let syn = self.wire(f, true, CtState::New, client);
                    if let Fate::Dropped { packet, reject, .. } = self.send(&syn, &mut out)? {
                        break 'tcp match reject {
                            Some(r) if self.error_arrives(&packet, r, &mut out)? => {
                                Outcome::Refused
                            }
                            _ => Outcome::ConnectTimeout,
                        };
                    }
                    let synack = self.wire(f, false, CtState::Established, owner(f.server.who));
                    if let Fate::Dropped { .. } = self.send(&synack, &mut out)? {
                        break 'tcp Outcome::ConnectTimeout;
                    }
                }
                let data = self.wire(f, true, CtState::Established, client);
                if let Fate::Dropped { packet, reject, .. } = self.send(&data, &mut out)? {
                    break 'tcp match reject {
                        Some(r) if self.error_arrives(&packet, r, &mut out)? => Outcome::Refused,
                        _ => Outcome::EchoTimeout,
                    };
                }
                let echo = self.wire(f, false, CtState::Established, owner(f.server.who));
                match self.send(&echo, &mut out)? {
                    Fate::Delivered => Outcome::EchoOk,
                    Fate::Dropped { .. } => Outcome::EchoTimeout,
                }
            }
            Kind::Udp | Kind::Icmp => 'dgram: {
                let req = self.wire(f, true, first, client);
                if let Fate::Dropped {
                    hook,
                    packet,
                    reject,
                } = self.send(&req, &mut out)?
                {
                    // IPv6 echo sockets ignore the error of the send
                    // (`icmpv6_push_pending_frames` drops it).
                    let v6_echo = f.kind == Kind::Icmp && f.family() == Family::V6;
                    if hook == Hook::Output && !v6_echo {
                        break 'dgram Outcome::Denied;
                    }
                    break 'dgram match reject {
                        Some(r) if self.error_arrives(&packet, r, &mut out)? => Outcome::Refused,
                        _ => Outcome::Timeout,
                    };
                }
                let server = if f.kind == Kind::Icmp {
                    Owner::Kernel
                } else {
                    owner(f.server.who)
                };
                let reply = self.wire(f, false, CtState::Established, server);
                match self.send(&reply, &mut out)? {
                    Fate::Delivered => Outcome::Reply,
                    Fate::Dropped { .. } => Outcome::Timeout,
                }
            }
        };
        Ok(Prediction {
            outcome,
            packets: out,
        })
    }
}

/// The prediction's packets, one per line, for a failure message.
pub fn explain(policy: &Policy, pred: &Prediction) -> String {
    let mut s = String::new();
    for c in &pred.packets {
        let by = match c.decider {
            Decider::Rule(r) => {
                let chain = policy.chain(r.chain);
                format!("rule {} of chain {}", r.index + 1, chain.name)
            }
            Decider::Policy(id) => format!("policy of chain {}", policy.chain(id).name),
            Decider::NoBaseChain => "no base chain".into(),
            Decider::FamilyNotFiltered => "family not filtered".into(),
        };
        let reject = match c.reject {
            Some(r) => format!(" (reject {r:?})"),
            None => String::new(),
        };
        s += &format!(
            "      {} => {}{reject} by {by}\n",
            c.packet,
            c.verdict.name()
        );
    }
    s
}
