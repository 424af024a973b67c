//! The test network: two namespaces joined by a veth pair, and the probe
//! agents (tests/kernel/probe.py) that run in them.
//!
//! ```text
//!   hut (host under test)                      peer
//!   eth0 192.0.2.1/24, 2001:db8::1/64  <--->   eth0 192.0.2.2/24, 2001:db8::2/64
//!   default routes via the peer                + every other address a probe uses
//! ```
//!
//! Only the hut has rules. Neighbour entries are static on both sides
//! (IPv6 works without neighbour discovery, so a policy that drops ICMPv6
//! does not change what a probe sees), DAD is off, and the kernel's ICMP
//! rate limits are off in both namespaces so that every rejected probe
//! gets its error. A non-root probe may bind any port and open ICMP echo
//! ("ping") sockets. An nft table `kt` with one `ct state` rule in a chain
//! no hook reaches keeps connection tracking on from the start, so flows
//! opened before the policy loads are tracked.

use super::super::netns::{have_tools, Netns};
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

pub const HUT_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub const PEER_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
pub const HUT_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
pub const PEER_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
const HUT_MAC: &str = "02:00:00:00:00:01";
const PEER_MAC: &str = "02:00:00:00:00:02";

/// The probe agent's source, passed to `python3 -c` so that any user can
/// run it wherever the checkout lives.
const AGENT: &str = include_str!("probe.py");

/// The tools the kernel tests need.
pub fn ready() -> bool {
    have_tools(&[
        "ip",
        "nft",
        "iptables-restore",
        "ip6tables-restore",
        "iptables-save",
        "setpriv",
        "python3",
    ])
}

fn python() -> &'static str {
    // The system interpreter: a per-user one (pyenv) is often out of
    // reach of the other users the probes run as.
    if std::path::Path::new("/usr/bin/python3").is_file() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// Is the address on the link of the hut's eth0 (else it is routed via
/// the peer)?
fn on_link(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => v.octets()[..3] == [192, 0, 2],
        IpAddr::V6(v) => v.segments()[..4] == [0x2001, 0xdb8, 0, 0],
    }
}

pub fn is_hut(a: IpAddr) -> bool {
    a == IpAddr::V4(HUT_V4) || a == IpAddr::V6(HUT_V6)
}

/// The two namespaces. Dropping the lab deletes both (the veth pair goes
/// with them).
pub struct Lab {
    pub hut: Netns,
    pub peer: Netns,
}

const SYSCTLS: &[(&str, &str)] = &[
    ("net/ipv6/conf/all/accept_dad", "0"),
    ("net/ipv6/conf/default/accept_dad", "0"),
    ("net/ipv6/conf/all/accept_ra", "0"),
    ("net/ipv6/conf/default/accept_ra", "0"),
    ("net/ipv4/ping_group_range", "0 2147483647"),
    ("net/ipv4/ip_unprivileged_port_start", "0"),
    ("net/ipv4/icmp_ratelimit", "0"),
    ("net/ipv4/icmp_ratemask", "0"),
    ("net/ipv4/icmp_msgs_per_sec", "100000"),
    ("net/ipv4/icmp_msgs_burst", "100000"),
    ("net/ipv6/icmp/ratelimit", "0"),
    ("net/ipv6/icmp/ratemask", ""),
];

impl Lab {
    /// Builds the two namespaces; the peer owns `extra` addresses besides
    /// its own. `None` (after a loud message) when the test cannot run.
    pub fn new(extra: &[IpAddr]) -> Option<Lab> {
        if !ready() {
            return None;
        }
        let hut = Netns::new()?;
        let peer = Netns::new()?;
        let lab = Lab { hut, peer };
        let mut sysctl = String::new();
        for (k, v) in SYSCTLS {
            sysctl += &format!("echo '{v}' > /proc/sys/{k} && ");
        }
        sysctl += "true";
        for ns in [&lab.hut, &lab.peer] {
            ns.ok("sh", &["-c", &sysctl], None).expect("sysctls");
        }
        let mut hut = format!(
            "link set lo up\n\
             link add eth0 address {HUT_MAC} type veth peer name eth0 address {PEER_MAC} netns {peer}\n\
             addr add {HUT_V4}/24 dev eth0\n\
             addr add {HUT_V6}/64 dev eth0 nodad\n\
             link set eth0 up\n\
             route add default via {PEER_V4}\n\
             route add ::/0 via {PEER_V6}\n",
            peer = lab.peer.name()
        );
        let mut peer = format!(
            "link set lo up\n\
             addr add {PEER_V4}/24 dev eth0\n\
             addr add {PEER_V6}/64 dev eth0 nodad\n\
             link set eth0 up\n\
             neigh replace {HUT_V4} lladdr {HUT_MAC} dev eth0 nud permanent\n\
             neigh replace {HUT_V6} lladdr {HUT_MAC} dev eth0 nud permanent\n"
        );
        let mut addrs: Vec<IpAddr> = vec![PEER_V4.into(), PEER_V6.into()];
        for a in extra {
            if !addrs.contains(a) && !is_hut(*a) {
                addrs.push(*a);
                let len = if a.is_ipv4() { 32 } else { 128 };
                peer += &format!("addr add {a}/{len} dev eth0 nodad\n");
            }
        }
        for a in &addrs {
            if on_link(*a) {
                hut += &format!("neigh replace {a} lladdr {PEER_MAC} dev eth0 nud permanent\n");
            }
        }
        lab.hut
            .ok("ip", &["-batch", "-"], Some(&hut))
            .expect("hut network");
        lab.peer
            .ok("ip", &["-batch", "-"], Some(&peer))
            .expect("peer network");
        lab.hut
            .ok(
                "nft",
                &["-f", "-"],
                Some("table inet kt {\n\tchain track {\n\t\tct state new counter\n\t}\n}\n"),
            )
            .expect("conntrack keeper");
        Some(lab)
    }

    /// Starts a probe agent in the hut (as `uid`/`gid`, no supplementary
    /// groups) or in the peer (as root).
    pub fn agent(&self, in_hut: bool, uid: u32, gid: u32) -> Agent {
        let ns = if in_hut { &self.hut } else { &self.peer };
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns.name(), "setpriv"])
            .arg(format!("--reuid={uid}"))
            .arg(format!("--regid={gid}"))
            .args(["--clear-groups", python(), "-I", "-S", "-c", AGENT])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("start a probe agent");
        let stdin = child.stdin.take().expect("agent stdin");
        let stdout = BufReader::new(child.stdout.take().expect("agent stdout"));
        Agent {
            child,
            stdin: Some(stdin),
            stdout,
            label: format!("{} uid {uid}", if in_hut { "hut" } else { "peer" }),
        }
    }
}

/// A running probe agent.
pub struct Agent {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    pub label: String,
}

impl Agent {
    /// Sends one command (the answer is read by [`Agent::answer`], so that
    /// several agents work at the same time).
    pub fn send(&mut self, cmd: &serde_json::Value) {
        let stdin = self.stdin.as_mut().expect("agent is running");
        writeln!(stdin, "{cmd}").expect("write to the agent");
        stdin.flush().expect("flush the agent's input");
    }

    pub fn answer(&mut self) -> serde_json::Value {
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("read the agent's answer");
        let v: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("{}: bad answer {line:?}: {e}", self.label));
        if let Some(e) = v.get("error") {
            panic!("{}: {e}", self.label);
        }
        v
    }

    pub fn call(&mut self, cmd: &serde_json::Value) -> serde_json::Value {
        self.send(cmd);
        self.answer()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        // End of input ends the agent; kill it if it does not stop.
        self.stdin.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
