//! Fuzz target: the parser never panics, never reports an internal error,
//! and every span it returns lies inside the text on character boundaries.
#![no_main]

use hwc::source::{FileId, Span};
use libfuzzer_sys::fuzz_target;

fn check(text: &str, span: Span) {
    let (s, e) = (span.start as usize, span.end as usize);
    assert!(s <= e && e <= text.len(), "span {s}..{e} outside the text");
    assert!(text.is_char_boundary(s) && text.is_char_boundary(e));
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (file, diags) = hwc::syntax::parse(FileId(0), text);
    for d in &diags {
        assert_ne!(d.code, "internal", "{d:?}");
        for l in &d.labels {
            check(text, l.span);
        }
    }
    for item in &file.items {
        check(text, item.span());
    }
});
