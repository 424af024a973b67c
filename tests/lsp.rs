//! `hwc lsp` driven over stdio the way an editor drives it: initialize,
//! open a document with an error, receive its diagnostics, hover, go to a
//! definition, edit, shut down and exit.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

struct Editor {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    next_id: i64,
}

impl Editor {
    fn start(dir: &std::path::Path) -> Editor {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hwc"))
            .arg("lsp")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start hwc lsp");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, incoming) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut length = None;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        length = v.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; length.expect("a frame without Content-Length")];
                r.read_exact(&mut body).unwrap();
                let msg: Value = serde_json::from_slice(&body).expect("the server sent bad JSON");
                if tx.send(msg).is_err() {
                    return;
                }
            }
        });
        Editor {
            child,
            stdin,
            incoming,
            next_id: 1,
        }
    }

    fn send(&mut self, msg: &Value) {
        self.send_raw(msg.to_string().as_bytes());
    }

    fn send_raw(&mut self, body: &[u8]) {
        write!(self.stdin, "Content-Length: {}\r\n\r\n", body.len()).unwrap();
        self.stdin.write_all(body).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request and waits for its response (notifications that come
    /// first are returned too).
    fn request(&mut self, method: &str, params: Value) -> (Value, Vec<Value>) {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let mut before = Vec::new();
        loop {
            let msg = self.recv();
            if msg["id"] == json!(id) {
                return (msg, before);
            }
            before.push(msg);
        }
    }

    fn recv(&mut self) -> Value {
        self.incoming
            .recv_timeout(Duration::from_secs(60))
            .expect("no message from the server within 60 s")
    }

    /// The next diagnostics published for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        loop {
            let msg = self.recv();
            if msg["method"] == "textDocument/publishDiagnostics" && msg["params"]["uri"] == uri {
                return msg["params"]["diagnostics"].as_array().unwrap().clone();
            }
        }
    }
}

fn pos(line: u32, character: u32) -> Value {
    json!({"line": line, "character": character})
}

#[test]
fn an_editor_session() {
    let dir = std::env::temp_dir().join(format!("hwc-lsp-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // An included file, on disk only.
    std::fs::write(dir.join("shared.hw"), "service web = tcp 80, 443\n").unwrap();
    let path = dir.join("main.hw");
    let uri = format!("file://{}", path.display());
    // Line 3 has characters outside the BMP before the error, so the
    // column must be counted in UTF-16 units, not bytes or characters.
    let text = "include \"shared.hw\"\n\
                host www = 192.0.2.10\n\
                chain input policy drop {\n  \
                accept service web comment \"é𝄞\" to wwx\n  \
                accept service web to www\n\
                }\n";

    let mut ed = Editor::start(&dir);

    // Requests before `initialize` are refused.
    let (r, _) = ed.request("textDocument/hover", json!({}));
    assert_eq!(r["error"]["code"], -32002, "{r}");

    let (r, _) = ed.request(
        "initialize",
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    let caps = &r["result"]["capabilities"];
    assert_eq!(caps["textDocumentSync"]["change"], 1, "{r}");
    assert_eq!(caps["hoverProvider"], true);
    assert_eq!(caps["definitionProvider"], true);
    assert_eq!(caps["documentSymbolProvider"], true);
    ed.notify("initialized", json!({}));

    ed.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "hw", "version": 1, "text": text}}),
    );
    let diags = ed.diagnostics(&uri);
    let unknown: Vec<&Value> = diags
        .iter()
        .filter(|d| d["code"] == "unknown-name")
        .collect();
    assert_eq!(unknown.len(), 1, "{diags:#?}");
    let d = unknown[0];
    assert_eq!(d["severity"], 1);
    assert_eq!(d["source"], "hwc");
    assert!(d["message"].as_str().unwrap().contains("`wwx`"), "{d}");
    // `  accept service web comment "é𝄞" to ` is 38 UTF-16 units (é is
    // one, 𝄞 two; 41 bytes, 37 characters); `wwx` follows.
    let line = text.lines().nth(3).unwrap();
    let col = line[..line.find("wwx").unwrap()].encode_utf16().count();
    assert_eq!(col, 38);
    assert_eq!(
        d["range"],
        json!({"start": pos(3, 38), "end": pos(3, 41)}),
        "{d}"
    );

    // Hover on `www` in line 4: the host and its value.
    let (r, _) = ed.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": pos(4, 25)}),
    );
    let hover = r["result"]["contents"]["value"]
        .as_str()
        .unwrap_or_default();
    assert!(hover.contains("host www = 192.0.2.10"), "{r}");
    assert_eq!(
        r["result"]["range"],
        json!({"start": pos(4, 24), "end": pos(4, 27)})
    );

    // Hover on `web`: defined in the included file.
    let (r, _) = ed.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": pos(4, 18)}),
    );
    let hover = r["result"]["contents"]["value"]
        .as_str()
        .unwrap_or_default();
    assert!(hover.contains("service web = tcp 80, 443"), "{r}");
    assert!(hover.contains("shared.hw"), "{r}");

    // Hover on the chain name: its policy and rule count.
    let (r, _) = ed.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": pos(2, 8)}),
    );
    let hover = r["result"]["contents"]["value"]
        .as_str()
        .unwrap_or_default();
    assert!(hover.contains("policy drop, 2 rules"), "{r}");

    // Nothing to say about a keyword.
    let (r, _) = ed.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": pos(4, 4)}),
    );
    assert_eq!(r["result"], Value::Null, "{r}");

    // Go to the definition of `www`, and of `web` in the other file.
    let (r, _) = ed.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": uri}, "position": pos(4, 25)}),
    );
    assert_eq!(r["result"]["uri"], uri, "{r}");
    assert_eq!(
        r["result"]["range"],
        json!({"start": pos(1, 5), "end": pos(1, 8)})
    );
    let (r, _) = ed.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": uri}, "position": pos(4, 17)}),
    );
    let shared = format!("file://{}", dir.join("shared.hw").display());
    assert_eq!(r["result"]["uri"], shared, "{r}");
    assert_eq!(
        r["result"]["range"],
        json!({"start": pos(0, 8), "end": pos(0, 11)})
    );

    // The outline.
    let (r, _) = ed.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": uri}}),
    );
    let names: Vec<&str> = r["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["www", "input"], "{r}");

    // An unknown method, a malformed message: errors, and the server lives on.
    let (r, _) = ed.request("textDocument/rename", json!({}));
    assert_eq!(r["error"]["code"], -32601, "{r}");
    ed.send_raw(b"{not json");
    let r = ed.recv();
    assert_eq!(r["error"]["code"], -32700, "{r}");
    let (r, _) = ed.request("textDocument/hover", json!({"textDocument": {"uri": 7}}));
    assert_eq!(r["error"]["code"], -32602, "{r}");

    // Fix the typo: the error goes away.
    let fixed = text.replace("wwx", "www");
    ed.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": fixed}]}),
    );
    let diags = ed.diagnostics(&uri);
    assert!(diags.iter().all(|d| d["severity"] != 1), "{diags:#?}");

    let (r, _) = ed.request("shutdown", Value::Null);
    assert_eq!(r["result"], Value::Null, "{r}");
    ed.notify("exit", Value::Null);
    let status = wait(&mut ed.child);
    assert_eq!(status, Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn exit_without_shutdown_is_an_error_status() {
    let mut ed = Editor::start(&std::env::temp_dir());
    ed.notify("exit", Value::Null);
    assert_eq!(wait(&mut ed.child), Some(1));
}

/// Waits up to 30 s for the server to exit.
fn wait(child: &mut Child) -> Option<i32> {
    for _ in 0..300 {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("the server did not exit");
}
