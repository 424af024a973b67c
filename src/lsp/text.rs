//! Positions and file names as the Language Server Protocol has them:
//! zero-based lines and UTF-16 code unit columns, `file://` URIs.

use std::path::{Component, Path, PathBuf};

/// A zero-based line and UTF-16 column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: u32,
    pub character: u32,
}

/// Line starts of a text, to convert between byte offsets and positions.
pub struct LineIndex<'t> {
    text: &'t str,
    starts: Vec<usize>,
}

impl<'t> LineIndex<'t> {
    pub fn new(text: &'t str) -> LineIndex<'t> {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { text, starts }
    }

    /// The position of a byte offset (clamped to the text, moved back to a
    /// character boundary).
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.starts[line];
        let character: usize = self.text[start..offset].chars().map(char::len_utf16).sum();
        Position {
            line: line as u32,
            character: character as u32,
        }
    }

    /// The byte offset of a position. A line past the end gives the end of
    /// the text; a column past the end of its line gives the line's end; a
    /// column inside a surrogate pair gives the start of its character.
    pub fn offset(&self, pos: Position) -> usize {
        let Some(&start) = self.starts.get(pos.line as usize) else {
            return self.text.len();
        };
        let end = self
            .starts
            .get(pos.line as usize + 1)
            .map(|&e| e - 1)
            .unwrap_or(self.text.len());
        let mut units = 0usize;
        for (i, c) in self.text[start..end].char_indices() {
            let next = units + c.len_utf16();
            if next > pos.character as usize {
                return start + i;
            }
            units = next;
        }
        end
    }
}

/// The path of a `file://` URI, percent-decoded. Other schemes (an unsaved
/// buffer, `untitled:1`) get a made-up relative path in the current
/// directory, so that the policy still has a name and includes resolve
/// somewhere.
pub fn uri_to_path(uri: &str) -> PathBuf {
    let Some(rest) = uri.strip_prefix("file://") else {
        let name: String = uri
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        return PathBuf::from(format!("{name}.hw"));
    };
    // `file://host/path`: only the local host is meaningful here.
    let path = match rest.find('/') {
        Some(i) => &rest[i..],
        None => "/",
    };
    let bytes = percent_decode(path);
    let decoded = String::from_utf8_lossy(&bytes).into_owned();
    // `file:///C:/x` on Windows.
    let decoded = match decoded.as_bytes() {
        [b'/', drive, b':', ..] if drive.is_ascii_alphabetic() && cfg!(windows) => {
            decoded[1..].to_string()
        }
        _ => decoded,
    };
    normalize(Path::new(&decoded))
}

/// The `file://` URI of an absolute path (a relative one is made absolute
/// against the current directory).
pub fn path_to_uri(path: &Path) -> String {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let text = abs.to_string_lossy().replace('\\', "/");
    let mut uri = String::from("file://");
    if !text.starts_with('/') {
        uri.push('/');
    }
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~:".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(hi), Some(lo)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(hi * 16 + lo);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Removes `.` and resolves `..` without touching the file system, the way
/// `include` resolves paths, so that an open buffer and an include of it
/// name the same file.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_columns() {
        // `é` is one UTF-16 unit (two bytes), `𝄞` two units (four bytes).
        let text = "ab\nxé𝄞y\n";
        let ix = LineIndex::new(text);
        assert_eq!(
            ix.position(0),
            Position {
                line: 0,
                character: 0
            }
        );
        assert_eq!(
            ix.position(3),
            Position {
                line: 1,
                character: 0
            }
        );
        let y = text.find('y').unwrap();
        assert_eq!(
            ix.position(y),
            Position {
                line: 1,
                character: 4
            }
        );
        assert_eq!(
            ix.offset(Position {
                line: 1,
                character: 4
            }),
            y
        );
        // Inside the surrogate pair: the start of the character.
        let clef = text.find('𝄞').unwrap();
        assert_eq!(
            ix.offset(Position {
                line: 1,
                character: 3
            }),
            clef
        );
        // Past the end of a line, past the last line.
        assert_eq!(
            ix.offset(Position {
                line: 0,
                character: 99
            }),
            2
        );
        assert_eq!(
            ix.offset(Position {
                line: 9,
                character: 0
            }),
            text.len()
        );
        // Offsets inside a character or past the end are clamped.
        assert_eq!(
            ix.position(clef + 1),
            Position {
                line: 1,
                character: 2
            }
        );
        assert_eq!(
            ix.position(999),
            Position {
                line: 2,
                character: 0
            }
        );
    }

    #[test]
    fn uris_and_paths() {
        let p = uri_to_path("file:///home/a%20b/x/../p%C3%A9.hw");
        assert_eq!(p, PathBuf::from("/home/a b/pé.hw"));
        assert_eq!(path_to_uri(&p), "file:///home/a%20b/p%C3%A9.hw");
        assert_eq!(
            uri_to_path("untitled:Untitled-1"),
            PathBuf::from("untitled_Untitled_1.hw")
        );
        // A lone `%` or a bad escape stays as it is.
        assert_eq!(uri_to_path("file:///a%2"), PathBuf::from("/a%2"));
        assert_eq!(uri_to_path("file:///a%zz"), PathBuf::from("/a%zz"));
    }
}
