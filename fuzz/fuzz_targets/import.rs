//! Fuzz the iptables-save reader and the `.hw` writer: no input may make
//! them panic, every span they return lies inside the input, and the
//! printed `.hw` loads and is proved equivalent to the dump (`hwc import`).
#![no_main]

use hwc::import;
use hwc::import::verify::Proof;
use hwc::source::{FileId, Span};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let in_text = |s: Span| {
        (s.end as usize) <= text.len()
            && text.is_char_boundary(s.start as usize)
            && text.is_char_boundary(s.end as usize)
    };
    let _ = import::looks_like_dump(text);
    let (policy, diags) = import::read_dump(FileId(0), text);
    for d in &diags {
        assert!(d.labels.iter().all(|l| in_text(l.span)));
    }
    assert_eq!(policy.is_some(), !diags.iter().any(|d| d.is_error()));
    if let Some(policy) = policy {
        for rule in policy.chains.iter().flat_map(|c| &c.rules) {
            assert!(in_text(rule.span));
        }
        let (_, hw_diags) = import::to_hw(&policy, text);
        assert!(hw_diags.iter().all(|d| in_text(d.primary_span())));
        let imported =
            import::verify::import_verified(&policy, text, std::path::Path::new("fuzz.hw"));
        match imported.proof {
            Proof::Equivalent { .. } | Proof::Unknown(_) => {}
            Proof::Differ(d) => panic!("printed policy differs: {d:?}\n{}", imported.text),
            Proof::NotLoadable(d, _) => {
                panic!("printed policy does not load: {d:?}\n{}", imported.text)
            }
        }
    }
});
