//! A witness packet as an admin reads it.
//!
//! `packet_text` is the one place the renderers turn a [`Packet`] into
//! text; it uses the packet's `Display` (src/space/packet.rs), so the human
//! report, the JSON `text` field and `hwc trace` agree.

use crate::ir::Packet;

/// `output udp uid 33 gid 33 192.0.2.10:40000 → 192.0.2.53:53 oif eth0 (new)`
pub fn packet_text(p: &Packet) -> String {
    p.to_string()
}

/// The protocol's name (`tcp`, `icmpv6`, ...), or `proto N`.
pub(crate) fn proto_name(proto: u8) -> String {
    crate::space::packet::proto_name(proto)
        .map(str::to_string)
        .unwrap_or_else(|| format!("proto {proto}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{dim, CtState, Family, Hook, Owner};

    #[test]
    fn witness_text_is_the_packet_display() {
        let p = Packet {
            hook: Hook::Output,
            family: Family::V4,
            iif: String::new(),
            oif: "eth0".into(),
            src: "192.0.2.10".parse().unwrap(),
            dst: "192.0.2.53".parse().unwrap(),
            proto: dim::PROTO_UDP,
            sport: Some(40000),
            dport: Some(53),
            icmp_type: None,
            icmp_code: None,
            state: CtState::New,
            owner: Owner::Socket { uid: 33, gid: 33 },
        };
        assert_eq!(
            packet_text(&p),
            "output udp uid 33 gid 33 192.0.2.10:40000 → 192.0.2.53:53 oif eth0 (new)"
        );
        assert_eq!(proto_name(dim::PROTO_ICMPV6), "icmpv6");
        assert_eq!(proto_name(47), "gre");
        assert_eq!(proto_name(253), "proto 253");
    }
}
