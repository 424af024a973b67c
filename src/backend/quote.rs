//! The one place where user strings enter generated firewall text.
//!
//! Every name and every string a policy author wrote (chain names, interface
//! names, user and group names, log prefixes, comments) passes through a
//! function here before a backend writes it. Each function checks what the
//! target can hold and either returns the exact text to write or an error
//! message saying why the value cannot be written. Nothing else in
//! `backend` formats user input.
//!
//! The rules come from the tools' own parsers:
//! - `iptables-restore` splits a line at blanks; inside `"..."` a backslash
//!   escapes the next character. Chain names are at most 28 bytes.
//! - `nft -f` reads `"..."` up to the next `"` with no escapes at all, so a
//!   string holding `"` cannot be written. Unquoted names must not be nft
//!   keywords, and nft comments hold at most 128 bytes.

use crate::ir::Iface;

/// Which text format a value is written into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `iptables-restore` / `ip6tables-restore` input.
    Xt,
    /// `nft -f` input.
    Nft,
}

/// The longest chain name iptables accepts (`XT_EXTENSION_MAXNAMELEN` − 1).
pub const XT_CHAIN_MAX: usize = 28;
/// The longest `--comment` the xt comment match holds.
pub const XT_COMMENT_MAX: usize = 255;
/// The longest nft rule comment.
pub const NFT_COMMENT_MAX: usize = 128;
/// The kernel's LOG prefix limit (`--log-prefix`, 29 bytes plus NUL).
pub const LOG_PREFIX_MAX: usize = 29;
/// The kernel's NFLOG prefix limit.
pub const NFLOG_PREFIX_MAX: usize = 63;

/// Names iptables reserves: built-in chains of every table and the targets
/// `iptables` knows by name. A user chain with one of these names would
/// be read as that target or clash with the built-in chain.
const XT_RESERVED: &[&str] = &[
    "INPUT",
    "OUTPUT",
    "FORWARD",
    "PREROUTING",
    "POSTROUTING",
    "ACCEPT",
    "DROP",
    "RETURN",
    "QUEUE",
    "REJECT",
    "LOG",
    "NFLOG",
    "ULOG",
    "NFQUEUE",
    "MARK",
    "CONNMARK",
    "CONNSECMARK",
    "SECMARK",
    "CT",
    "NOTRACK",
    "TRACE",
    "DNAT",
    "SNAT",
    "MASQUERADE",
    "REDIRECT",
    "NETMAP",
    "TPROXY",
    "TCPMSS",
    "TCPOPTSTRIP",
    "TOS",
    "TTL",
    "HL",
    "DSCP",
    "ECN",
    "CLASSIFY",
    "CHECKSUM",
    "AUDIT",
    "IDLETIMER",
    "LED",
    "RATEEST",
    "SET",
    "SYNPROXY",
    "TEE",
    "HMARK",
    "CLUSTERIP",
    "DNPT",
    "SNPT",
    "ERROR",
];

/// Words the nft scanner reads as keywords in a chain-name position, so
/// they cannot name a chain unquoted (nft has no quoting for chain names).
/// Taken from nftables' scanner; a name that is not listed here and later
/// becomes a keyword makes `nft -f` fail loudly, never change meaning.
const NFT_KEYWORDS: &[&str] = &[
    "accept",
    "add",
    "ah",
    "and",
    "arp",
    "at",
    "bridge",
    "burst",
    "bytes",
    "chain",
    "comment",
    "comp",
    "constant",
    "continue",
    "counter",
    "create",
    "ct",
    "day",
    "dccp",
    "define",
    "delete",
    "describe",
    "destroy",
    "device",
    "devices",
    "drop",
    "dnat",
    "dst",
    "dup",
    "dynamic",
    "ecn",
    "element",
    "elements",
    "eq",
    "esp",
    "ether",
    "expires",
    "export",
    "fib",
    "flow",
    "flowtable",
    "flush",
    "frag",
    "fwd",
    "ge",
    "get",
    "goto",
    "gre",
    "gt",
    "handle",
    "hash",
    "hbh",
    "hook",
    "hour",
    "icmp",
    "icmpv6",
    "igmp",
    "include",
    "index",
    "inet",
    "insert",
    "interval",
    "ip",
    "ip6",
    "ipsec",
    "jhash",
    "jump",
    "last",
    "le",
    "limit",
    "list",
    "log",
    "lshift",
    "lt",
    "map",
    "mark",
    "masquerade",
    "meta",
    "meter",
    "mh",
    "monitor",
    "ne",
    "netdev",
    "not",
    "notrack",
    "numgen",
    "offload",
    "or",
    "osf",
    "policy",
    "position",
    "queue",
    "quota",
    "random",
    "redefine",
    "redirect",
    "reject",
    "rename",
    "replace",
    "reset",
    "return",
    "rshift",
    "rt",
    "rule",
    "ruleset",
    "sctp",
    "secmark",
    "set",
    "size",
    "snat",
    "socket",
    "symhash",
    "synproxy",
    "table",
    "tcp",
    "th",
    "timeout",
    "tproxy",
    "type",
    "typeof",
    "udp",
    "udplite",
    "undefine",
    "update",
    "vlan",
    "vmap",
    "xor",
];

/// Checks the name of a user chain and returns it as the target writes it.
///
/// The `.hw` grammar already limits identifiers to `[A-Za-z_][A-Za-z0-9_-]*`;
/// this check does not rely on that. iptables keeps the name as written
/// (at most 28 bytes, not a reserved word). nft keeps it too, unless it is
/// an nft keyword: then it becomes `chain.NAME`, which no `.hw` identifier
/// can spell and no keyword matches.
pub fn chain_name(name: &str, dialect: Dialect) -> Result<String, String> {
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(format!(
            "chain name `{name}` may only use letters, digits, `_` and `-`, starting with a letter or `_`"
        ));
    }
    match dialect {
        Dialect::Xt => {
            if name.len() > XT_CHAIN_MAX {
                return Err(format!(
                    "chain name `{name}` is {} bytes long; iptables allows at most {XT_CHAIN_MAX}",
                    name.len()
                ));
            }
            if XT_RESERVED.contains(&name) {
                return Err(format!(
                    "chain name `{name}` is reserved by iptables (a built-in chain or target)"
                ));
            }
            Ok(name.to_string())
        }
        Dialect::Nft => {
            if NFT_KEYWORDS.contains(&name) {
                Ok(format!("chain.{name}"))
            } else {
                Ok(name.to_string())
            }
        }
    }
}

/// The name of a chain hwc creates itself (helpers and tails): `OWNER.N`,
/// where `OWNER` is the written name of the chain it belongs to and `N` is
/// unique in the output. `.` never occurs in a user chain name, so helper
/// names cannot collide with user chains; and because `N` alone is unique,
/// shortening `OWNER` to fit iptables' limit keeps names unique.
pub fn helper_chain_name(owner: &str, n: usize, dialect: Dialect) -> String {
    let suffix = format!(".{n}");
    let mut owner = owner;
    if dialect == Dialect::Xt && owner.len() + suffix.len() > XT_CHAIN_MAX {
        let mut cut = XT_CHAIN_MAX - suffix.len();
        while !owner.is_char_boundary(cut) {
            cut -= 1;
        }
        owner = &owner[..cut];
    }
    format!("{owner}{suffix}")
}

/// The name of an nft named set built from a definition name: `NAME_SUFFIX`
/// (`admins_v4`, `web_ports`). The suffix keeps it clear of nft keywords.
/// `None` when the definition name is not a plain identifier; the caller
/// then writes the elements inline.
pub fn set_name(base: &str, suffix: &str) -> Option<String> {
    let valid = base.len() <= 200
        && base
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && base
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    valid.then(|| format!("{base}_{suffix}"))
}

/// Checks an interface name (or `+` prefix) and returns it as written in
/// the target: `eth0`, `eth+` for iptables, `"eth0"`, `"eth*"` for nft.
/// An all-wildcard pattern (the bare `+`) matches every packet and is
/// handled by the lowering before it gets here.
pub fn iface(i: &Iface, dialect: Dialect) -> Result<String, String> {
    let name = &i.name;
    if name.is_empty() {
        return Err("an empty interface name cannot be written".to_string());
    }
    if name.len() > crate::ir::dim::IFNAME_MAX {
        return Err(format!(
            "interface name `{name}` is longer than the kernel's {} bytes",
            crate::ir::dim::IFNAME_MAX
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@' | '=')))
    {
        return Err(format!(
            "interface name `{name}` contains `{}`; hwc writes only letters, digits and `_ - . @ =`",
            c.escape_default()
        ));
    }
    Ok(match (dialect, i.wildcard) {
        (Dialect::Xt, false) => name.clone(),
        (Dialect::Xt, true) => format!("{name}+"),
        (Dialect::Nft, false) => format!("\"{name}\""),
        (Dialect::Nft, true) => format!("\"{name}*\""),
    })
}

/// Checks a user or group name resolved on the host at load time
/// (`"www-data"`) and returns it as written (`www-data` for iptables,
/// `"www-data"` for nft).
pub fn account_name(name: &str, dialect: Dialect) -> Result<String, String> {
    let valid = !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        || name.ends_with('$')
            && name.len() > 1
            && account_name(&name[..name.len() - 1], dialect).is_ok();
    if !valid {
        return Err(format!(
            "`{name}` is not a user or group name the firewall tools can look up"
        ));
    }
    Ok(match dialect {
        Dialect::Xt => name.to_string(),
        Dialect::Nft => format!("\"{name}\""),
    })
}

/// Quotes a string for the target, or says why it cannot be written.
fn quoted(s: &str, dialect: Dialect, what: &str) -> Result<String, String> {
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return Err(format!(
            "the {what} `{}` contains the control character `{}`",
            s.escape_default(),
            c.escape_default()
        ));
    }
    match dialect {
        Dialect::Xt => {
            let mut out = String::with_capacity(s.len() + 2);
            out.push('"');
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
            Ok(out)
        }
        Dialect::Nft => {
            if s.contains('"') {
                return Err(format!(
                    "the {what} `{s}` contains `\"`, which nftables strings cannot hold"
                ));
            }
            Ok(format!("\"{s}\""))
        }
    }
}

/// A log prefix, checked against the kernel limit and quoted.
pub fn log_prefix(prefix: &str, nflog: bool, dialect: Dialect) -> Result<String, String> {
    let max = if nflog {
        NFLOG_PREFIX_MAX
    } else {
        LOG_PREFIX_MAX
    };
    if prefix.len() > max {
        return Err(format!(
            "log prefix `{prefix}` is {} bytes long; the kernel keeps at most {max}",
            prefix.len()
        ));
    }
    quoted(prefix, dialect, "log prefix")
}

/// A rule comment. Comments carry no meaning, so instead of failing this
/// replaces what the target cannot hold (control characters by a space,
/// `"` by `'` for nft) and shortens the text to the target's limit at a
/// character boundary.
pub fn comment(text: &str, dialect: Dialect) -> String {
    let max = match dialect {
        Dialect::Xt => XT_COMMENT_MAX,
        Dialect::Nft => NFT_COMMENT_MAX,
    };
    let mut clean = String::with_capacity(text.len());
    for c in text.chars() {
        let c = if c.is_control() {
            ' '
        } else if c == '"' && dialect == Dialect::Nft {
            '\''
        } else {
            c
        };
        if clean.len() + c.len_utf8() > max {
            break;
        }
        clean.push(c);
    }
    quoted(&clean, dialect, "comment").unwrap_or_else(|_| "\"\"".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_names_follow_each_target() {
        assert_eq!(chain_name("web-in", Dialect::Xt).unwrap(), "web-in");
        assert!(chain_name("LOG", Dialect::Xt).is_err());
        assert!(chain_name(&"a".repeat(29), Dialect::Xt).is_err());
        assert_eq!(chain_name(&"a".repeat(28), Dialect::Xt).unwrap().len(), 28);
        assert_eq!(
            chain_name("counter", Dialect::Nft).unwrap(),
            "chain.counter"
        );
        assert_eq!(chain_name("web", Dialect::Nft).unwrap(), "web");
        assert!(chain_name("a b", Dialect::Nft).is_err());
        assert!(chain_name("1abc", Dialect::Xt).is_err());
    }

    #[test]
    fn helper_names_fit_and_stay_unique() {
        let long = "a".repeat(28);
        let a = helper_chain_name(&long, 7, Dialect::Xt);
        let b = helper_chain_name(&long, 17, Dialect::Xt);
        assert!(a.len() <= XT_CHAIN_MAX && b.len() <= XT_CHAIN_MAX);
        assert_ne!(a, b);
        assert_eq!(helper_chain_name("input", 3, Dialect::Nft), "input.3");
    }

    #[test]
    fn strings_are_escaped_or_refused() {
        assert_eq!(
            log_prefix("a \"b\" \\", false, Dialect::Xt).unwrap(),
            r#""a \"b\" \\""#
        );
        assert!(log_prefix("a\"b", false, Dialect::Nft).is_err());
        assert!(log_prefix("x\ny", false, Dialect::Xt).is_err());
        assert!(log_prefix(&"p".repeat(30), false, Dialect::Xt).is_err());
        assert_eq!(comment("say \"hi\"", Dialect::Nft), "\"say 'hi'\"");
        assert_eq!(comment(&"é".repeat(100), Dialect::Nft).len(), 2 + 128);
    }

    #[test]
    fn interfaces_and_accounts() {
        let eth = Iface {
            name: "eth".into(),
            wildcard: true,
        };
        assert_eq!(iface(&eth, Dialect::Xt).unwrap(), "eth+");
        assert_eq!(iface(&eth, Dialect::Nft).unwrap(), "\"eth*\"");
        let bad = Iface {
            name: "e\"th".into(),
            wildcard: false,
        };
        assert!(iface(&bad, Dialect::Xt).is_err());
        assert_eq!(account_name("www-data", Dialect::Xt).unwrap(), "www-data");
        assert_eq!(account_name("svc$", Dialect::Nft).unwrap(), "\"svc$\"");
        assert!(account_name("a b", Dialect::Xt).is_err());
    }
}
