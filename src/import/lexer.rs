//! Lines and words of an iptables-save dump.
//!
//! iptables-save writes one statement per line. Words are separated by
//! blanks; `--comment` and `--log-prefix` values are wrapped in double
//! quotes with `"` and `\` escaped by a backslash (iptables-restore also
//! accepts single quotes). A word may mix quoted and unquoted parts
//! (`"a b"c` is the word `a bc`).

use std::borrow::Cow;

/// One line of the dump: its text without the line break, and where it
/// starts in the file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    pub text: &'a str,
    /// Byte offset of the line's first character in the file.
    pub start: usize,
}

impl Line<'_> {
    pub fn end(&self) -> usize {
        self.start + self.text.len()
    }
}

/// The lines of `text`, with `\n` or `\r\n` line breaks removed.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = Line<'_>> {
    let mut start = 0;
    text.split_inclusive('\n').map(move |raw| {
        let line_start = start;
        start += raw.len();
        let text = raw.strip_suffix('\n').unwrap_or(raw);
        let text = text.strip_suffix('\r').unwrap_or(text);
        Line {
            text,
            start: line_start,
        }
    })
}

/// One word of a line, quotes and escapes removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word<'a> {
    pub text: Cow<'a, str>,
    /// Byte range in the file, quotes included.
    pub start: usize,
    pub end: usize,
    /// Whether any part of the word was quoted: a quoted `!` or `-j` is a
    /// value, never an operator or an option.
    pub quoted: bool,
}

impl Word<'_> {
    /// The negation operator `!`.
    pub fn is_bang(&self) -> bool {
        !self.quoted && self.text == "!"
    }

    /// A word that names an option: `-s`, `--dport`. A lone `-` (the
    /// policy of a user chain) and negative numbers are not options.
    pub fn is_option(&self) -> bool {
        if self.quoted {
            return false;
        }
        let b = self.text.as_bytes();
        match b {
            [b'-', b'-', c, ..] => c.is_ascii_alphanumeric(),
            [b'-', c, ..] => c.is_ascii_alphabetic() || *c == b'4' || *c == b'6',
            _ => false,
        }
    }
}

/// A word that could not be read: an unterminated quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LexError {
    pub start: usize,
    pub end: usize,
    pub message: String,
    pub help: &'static str,
}

/// Splits a line into words. `line` starts at byte `base` of the file.
#[cfg(test)]
pub(crate) fn words(line: &str, base: usize) -> Result<Vec<Word<'_>>, LexError> {
    let mut out = Vec::new();
    words_into(line, base, &mut out)?;
    Ok(out)
}

/// Splits a line into words, into `out` (cleared first), so that one
/// buffer serves every line of a dump.
pub(crate) fn words_into<'a>(
    line: &'a str,
    base: usize,
    out: &mut Vec<Word<'a>>,
) -> Result<(), LexError> {
    out.clear();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b' ' || bytes[i] == b'\t' {
            i += 1;
            continue;
        }
        let start = i;
        // Fast path: a word without quotes or backslashes borrows the line.
        let mut j = i;
        while j < bytes.len() && !matches!(bytes[j], b' ' | b'\t' | b'"' | b'\'' | b'\\') {
            j += 1;
        }
        if j == bytes.len() || matches!(bytes[j], b' ' | b'\t') {
            out.push(Word {
                text: Cow::Borrowed(&line[start..j]),
                start: base + start,
                end: base + j,
                quoted: false,
            });
            i = j;
            continue;
        }
        let mut text = String::from(&line[start..j]);
        let mut quote: Option<(u8, usize)> = None;
        let mut quoted = false;
        // Copy runs of ordinary characters as string slices so that
        // multi-byte characters stay intact.
        let mut run = j;
        while j < bytes.len() {
            let b = bytes[j];
            match (quote, b) {
                (None, b' ' | b'\t') => break,
                (None, b'"' | b'\'') => {
                    text.push_str(&line[run..j]);
                    quote = Some((b, j));
                    quoted = true;
                    j += 1;
                    run = j;
                }
                (Some((q, _)), _) if b == q => {
                    text.push_str(&line[run..j]);
                    quote = None;
                    j += 1;
                    run = j;
                }
                (_, b'\\') if matches!(bytes.get(j + 1), Some(b'"' | b'\'' | b'\\' | b' ')) => {
                    text.push_str(&line[run..j]);
                    text.push(bytes[j + 1] as char);
                    j += 2;
                    run = j;
                }
                _ => j += 1,
            }
        }
        if let Some((_, open)) = quote {
            return Err(LexError {
                start: base + open,
                end: base + open + 1,
                message: "unterminated quote".to_string(),
                help: "close the quoted text with the same quote character on the same line",
            });
        }
        text.push_str(&line[run..j]);
        out.push(Word {
            text: Cow::Owned(text),
            start: base + start,
            end: base + j,
            quoted,
        });
        i = j;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str) -> Vec<String> {
        words(line, 0)
            .expect("lexes")
            .into_iter()
            .map(|w| w.text.into_owned())
            .collect()
    }

    #[test]
    fn splits_on_blanks() {
        assert_eq!(
            texts("-A  INPUT\t-j ACCEPT "),
            ["-A", "INPUT", "-j", "ACCEPT"]
        );
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(
            texts(r#"--comment "a \"b\" \\ c" x"#),
            ["--comment", r#"a "b" \ c"#, "x"]
        );
        assert_eq!(texts(r#"'single q' "a"b"#), ["single q", "ab"]);
        assert_eq!(texts(r#""""#), [""]);
        assert_eq!(texts(r#"a\ b"#), ["a b"]);
        assert_eq!(texts("\"é ü\""), ["é ü"]);
    }

    #[test]
    fn spans_cover_quotes() {
        let w = words(r#"x "a b""#, 10).expect("lexes");
        assert_eq!((w[1].start, w[1].end), (12, 17));
        assert!(w[1].quoted);
    }

    #[test]
    fn unterminated_quote_is_an_error() {
        let e = words(r#"--comment "abc"#, 0).expect_err("fails");
        assert_eq!((e.start, e.end), (10, 11));
    }

    #[test]
    fn options_and_values() {
        let w = words(r#"-s --dport - -1 ! "!" -4"#, 0).expect("lexes");
        let opt: Vec<bool> = w.iter().map(Word::is_option).collect();
        assert_eq!(opt, [true, true, false, false, false, false, true]);
        assert!(w[4].is_bang());
        assert!(!w[5].is_bang());
    }

    #[test]
    fn lines_strip_crlf() {
        let ls: Vec<_> = lines("a\r\nbc\n\nd").collect();
        assert_eq!(ls.len(), 4);
        assert_eq!((ls[1].text, ls[1].start), ("bc", 3));
        assert_eq!(ls[3].text, "d");
    }
}
