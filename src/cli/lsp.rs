//! `hwc lsp`: the language server on stdin/stdout. This file is only the
//! transport (JSON-RPC with `Content-Length` framing); the server itself
//! is `crate::lsp`.

use super::Exit;
use crate::lsp::Server;
use crate::source::DiskLoader;
use std::io::{BufRead, Read, Write};

const LSP_LONG_ABOUT: &str = "\
Run the hwc language server on standard input and output (the Language \
Server Protocol). An editor starts it and shows hwc's errors and findings as \
you type, explains a name on hover, jumps to the definition of a name or \
chain, lists a policy's chains and definitions, and formats the file.";

const LSP_EXAMPLES: &str = "\
Editor setup: run `hwc lsp` as the language server for files ending in .hw
(see README.md for Neovim, Helix and VS Code).";

/// Run the language server (for editors) on stdio.
#[derive(Debug, clap::Args)]
#[command(long_about = LSP_LONG_ABOUT, after_help = LSP_EXAMPLES)]
pub struct LspArgs {
    /// Accepted for editors that pass it; stdio is the only transport.
    #[arg(long)]
    pub stdio: bool,
}

/// The largest message accepted (a policy buffer is far smaller).
const MAX_BODY: usize = 64 << 20;

pub(crate) fn run(_args: &LspArgs) -> Exit {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut server = Server::new(&DiskLoader);
    loop {
        let body = match read_message(&mut input) {
            Ok(Some(body)) => body,
            // The editor went away without `exit`.
            Ok(None) => return Exit::Findings,
            Err(e) => {
                eprintln!("hwc lsp: {e}");
                continue;
            }
        };
        let reply = server.handle(&body);
        for msg in &reply.messages {
            if let Err(e) = write_message(&mut out, msg) {
                eprintln!("hwc lsp: cannot write to the editor: {e}");
                return Exit::Failure;
            }
        }
        if let Some(code) = reply.exit {
            return if code == 0 {
                Exit::Success
            } else {
                Exit::Findings
            };
        }
    }
}

/// Reads one framed message. `Ok(None)` at the end of the input; an error
/// for a frame that is malformed (the frame is skipped).
pub fn read_message(input: &mut impl BufRead) -> Result<Option<Vec<u8>>, String> {
    let mut length: Option<usize> = None;
    let mut saw_header = false;
    loop {
        let mut line = Vec::new();
        let n = input
            .by_ref()
            .take(8192)
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("cannot read from the editor: {e}"))?;
        if n == 0 {
            return if saw_header {
                Err("the input ended inside a message header".into())
            } else {
                Ok(None)
            };
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            if !saw_header {
                continue;
            }
            break;
        }
        saw_header = true;
        if let Some((name, value)) = text.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok();
            }
        }
    }
    let Some(length) = length else {
        return Err("a message without a valid Content-Length header".into());
    };
    if length > MAX_BODY {
        // Skip the body so that the next frame is read correctly.
        std::io::copy(
            &mut input.by_ref().take(length as u64),
            &mut std::io::sink(),
        )
        .map_err(|e| format!("cannot read from the editor: {e}"))?;
        return Err(format!("a message of {length} bytes is too large"));
    }
    let mut body = vec![0; length];
    input
        .read_exact(&mut body)
        .map_err(|e| format!("the input ended inside a message: {e}"))?;
    Ok(Some(body))
}

pub fn write_message(out: &mut impl Write, msg: &serde_json::Value) -> std::io::Result<()> {
    let body = msg.to_string();
    write!(out, "Content-Length: {}\r\n\r\n{body}", body.len())?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_read_and_bad_ones_skipped() {
        let input = b"Content-Length: 2\r\n\r\n{}\
            X-Other: 1\r\n\r\n\
            Content-Length: 99999999999\r\n\r\n\
            content-length:  3\r\nContent-Type: x\r\n\r\n[1]";
        let mut r = std::io::BufReader::new(&input[..]);
        assert_eq!(read_message(&mut r).unwrap().unwrap(), b"{}");
        assert!(read_message(&mut r).is_err());
        // A length too large to believe: skipped (here: the rest of input).
        assert!(read_message(&mut r).is_err());
        assert_eq!(read_message(&mut r).unwrap(), None);
        let mut r = std::io::BufReader::new(&b"Content-Length: 3\r\n\r\n[1]"[..]);
        assert_eq!(read_message(&mut r).unwrap().unwrap(), b"[1]");
        let mut r = std::io::BufReader::new(&b"Content-Length: 9\r\n\r\n[1]"[..]);
        assert!(read_message(&mut r).is_err());
    }

    #[test]
    fn frames_are_written_with_their_length() {
        let mut out = Vec::new();
        write_message(&mut out, &serde_json::json!({"a": "é"})).unwrap();
        assert_eq!(out, "Content-Length: 10\r\n\r\n{\"a\":\"é\"}".as_bytes());
    }
}
