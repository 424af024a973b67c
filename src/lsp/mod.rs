//! The language server, without its transport: JSON-RPC messages in,
//! JSON-RPC messages out. `cli::lsp` reads and writes them on stdio with
//! `Content-Length` framing; tests drive [`Server::handle`] directly.
//!
//! What it offers: diagnostics (parse, sema and every lint, as `hwc check`
//! reports them) published on open and on every change, full document
//! sync; hover (what a name refers to); go to definition (definitions,
//! chains, included files); the outline (chains and definitions);
//! formatting (`hwc fmt`).
//!
//! INVARIANT: no input makes the server panic or stop answering: malformed
//! JSON and bad parameters get JSON-RPC errors, unknown methods
//! `MethodNotFound`, and a panic inside the library while handling a
//! message becomes an `InternalError` reply (for a notification, an error
//! in the editor's log).

pub mod index;
pub mod text;

use crate::diagnostics::render::packet_text;
use crate::diagnostics::{Diagnostic, Severity};
use crate::source::{FileId, FileLoader, SourceMap, Span};
use crate::syntax::{self, ast};
use crate::{analysis, sema};
use index::{Index, Target};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use text::{path_to_uri, uri_to_path, LineIndex, Position};

/// JSON-RPC and LSP error codes.
pub mod code {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
    pub const INTERNAL_ERROR: i64 = -32603;
    pub const SERVER_NOT_INITIALIZED: i64 = -32002;
}

/// What the transport should do after a message.
#[derive(Debug, Default)]
pub struct Reply {
    /// Messages to send, in order.
    pub messages: Vec<Value>,
    /// Stop with this process exit status (after `exit`).
    pub exit: Option<i32>,
}

/// An open document.
struct Doc {
    path: PathBuf,
    text: String,
    /// The files the last check read (the document and its includes), and
    /// their texts then.
    sources: SourceMap,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Uninitialized,
    Running,
    ShutDown,
}

pub struct Server<'l> {
    disk: &'l dyn FileLoader,
    docs: BTreeMap<String, Doc>,
    state: State,
}

/// An error reply to a request.
struct Error {
    code: i64,
    message: String,
}

impl Error {
    fn new(code: i64, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
        }
    }

    fn params(message: impl Into<String>) -> Error {
        Error::new(code::INVALID_PARAMS, message)
    }
}

impl<'l> Server<'l> {
    /// A server that reads files that are not open in the editor (includes)
    /// through `disk`.
    pub fn new(disk: &'l dyn FileLoader) -> Server<'l> {
        Server {
            disk,
            docs: BTreeMap::new(),
            state: State::Uninitialized,
        }
    }

    /// Handles one message (the body of one frame).
    pub fn handle(&mut self, body: &[u8]) -> Reply {
        let msg: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                return Reply {
                    messages: vec![error_reply(
                        Value::Null,
                        Error::new(code::PARSE_ERROR, format!("invalid JSON: {e}")),
                    )],
                    exit: None,
                }
            }
        };
        let id = msg.get("id").cloned();
        let method = msg.get("method").and_then(Value::as_str);
        let Some(method) = method else {
            // A response to a request of ours (we send none) is ignored;
            // anything else is not a valid message.
            let is_response = msg.get("result").is_some() || msg.get("error").is_some();
            if is_response && id.is_some() {
                return Reply::default();
            }
            return Reply {
                messages: vec![error_reply(
                    id.unwrap_or(Value::Null),
                    Error::new(code::INVALID_REQUEST, "a message needs a `method`"),
                )],
                exit: None,
            };
        };
        let params = msg.get("params").cloned().unwrap_or(Value::Null);
        let outcome = catch_unwind(AssertUnwindSafe(|| match &id {
            Some(id) => {
                let message = match self.request(method, &params) {
                    Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
                    Err(e) => error_reply(id.clone(), e),
                };
                Reply {
                    messages: vec![message],
                    exit: None,
                }
            }
            None => self.notification(method, &params),
        }));
        if let Ok(reply) = outcome {
            return reply;
        }
        let text = format!("hwc crashed while handling `{method}`; this is a bug in hwc");
        let message = match id {
            Some(id) => error_reply(id, Error::new(code::INTERNAL_ERROR, text)),
            // A notification has no reply: tell the user in the log.
            None => json!({
                "jsonrpc": "2.0",
                "method": "window/logMessage",
                "params": {"type": 1, "message": text},
            }),
        };
        Reply {
            messages: vec![message],
            exit: None,
        }
    }

    fn request(&mut self, method: &str, params: &Value) -> Result<Value, Error> {
        match (self.state, method) {
            (State::Uninitialized, "initialize") => {
                self.state = State::Running;
                return Ok(json!({
                    "capabilities": {
                        "positionEncoding": "utf-16",
                        "textDocumentSync": {"openClose": true, "change": 1},
                        "hoverProvider": true,
                        "definitionProvider": true,
                        "documentSymbolProvider": true,
                        "documentFormattingProvider": true,
                    },
                    "serverInfo": {"name": "hwc", "version": env!("CARGO_PKG_VERSION")},
                }));
            }
            (State::Uninitialized, _) => {
                return Err(Error::new(
                    code::SERVER_NOT_INITIALIZED,
                    "the server is not initialized yet",
                ))
            }
            (State::ShutDown, _) => {
                return Err(Error::new(
                    code::INVALID_REQUEST,
                    "the server is shut down; only `exit` is accepted",
                ))
            }
            (State::Running, _) => {}
        }
        match method {
            "initialize" => Err(Error::new(
                code::INVALID_REQUEST,
                "the server is already initialized",
            )),
            "shutdown" => {
                self.state = State::ShutDown;
                Ok(Value::Null)
            }
            "textDocument/hover" => self.hover(params),
            "textDocument/definition" => self.definition(params),
            "textDocument/documentSymbol" => self.symbols(params),
            "textDocument/formatting" => self.formatting(params),
            _ => Err(Error::new(
                code::METHOD_NOT_FOUND,
                format!("`{method}` is not supported"),
            )),
        }
    }

    fn notification(&mut self, method: &str, params: &Value) -> Reply {
        let mut reply = Reply::default();
        if method == "exit" {
            reply.exit = Some(if self.state == State::ShutDown { 0 } else { 1 });
            return reply;
        }
        if self.state != State::Running {
            return reply;
        }
        // Notifications have no reply, so bad parameters are dropped.
        let uri = params
            .pointer("/textDocument/uri")
            .and_then(Value::as_str)
            .map(str::to_string);
        match (method, uri) {
            ("textDocument/didOpen", Some(uri)) => {
                let Some(text) = params.pointer("/textDocument/text").and_then(Value::as_str)
                else {
                    return reply;
                };
                self.docs.insert(
                    uri.clone(),
                    Doc {
                        path: uri_to_path(&uri),
                        text: text.to_string(),
                        sources: SourceMap::new(),
                    },
                );
                self.recheck(&uri, &mut reply);
            }
            ("textDocument/didChange", Some(uri)) => {
                let Some(doc) = self.docs.get_mut(&uri) else {
                    return reply;
                };
                let changes = params
                    .get("contentChanges")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for change in &changes {
                    apply_change(&mut doc.text, change);
                }
                self.recheck(&uri, &mut reply);
            }
            ("textDocument/didClose", Some(uri)) => {
                if let Some(doc) = self.docs.remove(&uri) {
                    reply.messages.push(publish(&uri, Vec::new()));
                    // Documents that include it now read it from disk.
                    let path = doc.path;
                    let dependents: Vec<String> = self
                        .docs
                        .iter()
                        .filter(|(_, d)| d.sources.find(&path).is_some())
                        .map(|(u, _)| u.clone())
                        .collect();
                    for u in dependents {
                        self.check(&u, &mut reply);
                    }
                }
            }
            _ => {}
        }
        reply
    }

    /// Checks a document and every open document that includes it.
    fn recheck(&mut self, uri: &str, reply: &mut Reply) {
        self.check(uri, reply);
        let Some(path) = self.docs.get(uri).map(|d| d.path.clone()) else {
            return;
        };
        let dependents: Vec<String> = self
            .docs
            .iter()
            .filter(|(u, d)| u.as_str() != uri && d.sources.find(&path).is_some())
            .map(|(u, _)| u.clone())
            .collect();
        for u in dependents {
            self.check(&u, reply);
        }
    }

    /// Runs parse, sema and the lints on a document (includes come from
    /// open documents first, then from disk) and publishes the result.
    fn check(&mut self, uri: &str, reply: &mut Reply) {
        let open: BTreeMap<PathBuf, String> = self
            .docs
            .values()
            .map(|d| (d.path.clone(), d.text.clone()))
            .collect();
        let Some(doc) = self.docs.get_mut(uri) else {
            return;
        };
        let loader = Overlay {
            open: &open,
            disk: self.disk,
        };
        let mut sources = SourceMap::new();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let (policy, mut diags) =
                sema::load_source(&doc.path, &doc.text, &loader, &mut sources);
            if let Some(policy) = &policy {
                diags.extend(analysis::analyze(policy));
            }
            diags
        }));
        let diags = match outcome {
            Ok(d) => d,
            Err(_) => {
                sources = SourceMap::new();
                let f = sources.add(doc.path.clone(), doc.text.clone());
                vec![Diagnostic::error(
                    "internal",
                    "hwc crashed while checking this file",
                    Span::new(f, 0, 0),
                )
                .help("this is a bug in hwc; please report it with the policy that triggers it")]
            }
        };
        let root = sources.find(&doc.path).unwrap_or(FileId(0));
        let items = if sources.is_empty() {
            Vec::new()
        } else {
            syntax::parse(root, &sources.get(root).text).0.items
        };
        let lsp: Vec<Value> = diags
            .iter()
            .map(|d| lsp_diagnostic(d, &sources, root, &items))
            .collect();
        doc.sources = sources;
        reply.messages.push(publish(uri, lsp));
    }

    fn doc(&self, params: &Value) -> Result<(&str, &Doc), Error> {
        let uri = params
            .pointer("/textDocument/uri")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::params("`textDocument.uri` is missing"))?;
        let (uri, doc) = self
            .docs
            .get_key_value(uri)
            .ok_or_else(|| Error::params(format!("`{uri}` is not open")))?;
        Ok((uri.as_str(), doc))
    }

    /// The document, its root file in the last check, and the byte offset
    /// of `params.position`.
    fn at(&self, params: &Value) -> Result<(&Doc, FileId, usize), Error> {
        let (_, doc) = self.doc(params)?;
        let pos = params
            .get("position")
            .and_then(position)
            .ok_or_else(|| Error::params("`position` is missing or malformed"))?;
        let root = doc.sources.find(&doc.path).unwrap_or(FileId(0));
        if doc.sources.is_empty() {
            return Err(Error::new(
                code::INTERNAL_ERROR,
                "the document was never checked",
            ));
        }
        let offset = LineIndex::new(&doc.sources.get(root).text).offset(pos);
        Ok((doc, root, offset))
    }

    fn hover(&self, params: &Value) -> Result<Value, Error> {
        let (doc, root, offset) = self.at(params)?;
        let index = Index::build(&doc.sources);
        let Some((span, target)) = index.at(root, offset) else {
            return Ok(Value::Null);
        };
        let Some(text) = index.describe(target, &doc.sources) else {
            return Ok(Value::Null);
        };
        Ok(json!({
            "contents": {"kind": "markdown", "value": text},
            "range": range(&doc.sources, span),
        }))
    }

    fn definition(&self, params: &Value) -> Result<Value, Error> {
        let (doc, root, offset) = self.at(params)?;
        let index = Index::build(&doc.sources);
        let Some((_, target)) = index.at(root, offset) else {
            return Ok(Value::Null);
        };
        if let Target::File(path) = target {
            let start = json!({"line": 0, "character": 0});
            return Ok(json!({
                "uri": path_to_uri(path),
                "range": {"start": start, "end": start},
            }));
        }
        Ok(match index.definition(target) {
            Some(span) => location(&doc.sources, span),
            None => Value::Null,
        })
    }

    fn symbols(&self, params: &Value) -> Result<Value, Error> {
        let (_, doc) = self.doc(params)?;
        let (file, _) = syntax::parse(FileId(0), &doc.text);
        let lines = LineIndex::new(&doc.text);
        let r = |s: Span| range_in(&lines, s);
        let mut out = Vec::new();
        for item in &file.items {
            match item {
                ast::Item::Def(d) => out.push(json!({
                    "name": d.name.node,
                    "detail": d.kind.node.keyword(),
                    "kind": 14, // Constant
                    "range": r(d.span),
                    "selectionRange": r(d.name.span),
                })),
                ast::Item::Chain(c) => {
                    let policy = match c.policy.map(|p| p.node) {
                        Some(ast::Verdict::Accept) => "policy accept, ",
                        Some(ast::Verdict::Drop) => "policy drop, ",
                        None => "",
                    };
                    let n = c.rules.len();
                    out.push(json!({
                        "name": c.name.node,
                        "detail": format!("{policy}{n} rule{}", if n == 1 { "" } else { "s" }),
                        "kind": 12, // Function
                        "range": r(c.span),
                        "selectionRange": r(c.name.span),
                    }));
                }
                _ => {}
            }
        }
        Ok(Value::Array(out))
    }

    fn formatting(&self, params: &Value) -> Result<Value, Error> {
        let (_, doc) = self.doc(params)?;
        // A file with syntax errors is not formatted; the errors are
        // already shown as diagnostics.
        let Ok(out) = syntax::fmt::format(FileId(0), &doc.text) else {
            return Ok(Value::Null);
        };
        if out == doc.text {
            return Ok(json!([]));
        }
        let lines = LineIndex::new(&doc.text);
        let end = lines.position(doc.text.len());
        Ok(json!([{
            "range": {
                "start": {"line": 0, "character": 0},
                "end": {"line": end.line, "character": end.character},
            },
            "newText": out,
        }]))
    }
}

/// Serves open documents from the editor's buffers, the rest from disk.
struct Overlay<'a> {
    open: &'a BTreeMap<PathBuf, String>,
    disk: &'a dyn FileLoader,
}

impl FileLoader for Overlay<'_> {
    fn load(&self, path: &Path) -> std::io::Result<String> {
        match self.open.get(&text::normalize(path)) {
            Some(text) => Ok(text.clone()),
            None => self.disk.load(path),
        }
    }
}

fn error_reply(id: Value, e: Error) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": e.code, "message": e.message}})
}

fn publish(uri: &str, diagnostics: Vec<Value>) -> Value {
    json!({
        "jsonrpc": "2.0",
        "method": "textDocument/publishDiagnostics",
        "params": {"uri": uri, "diagnostics": diagnostics},
    })
}

fn position(v: &Value) -> Option<Position> {
    Some(Position {
        line: u32::try_from(v.get("line")?.as_u64()?).ok()?,
        character: u32::try_from(v.get("character")?.as_u64()?).ok()?,
    })
}

/// Applies one `contentChanges` entry: a whole new text, or (if a client
/// sends them although the server asked for full sync) a range edit.
fn apply_change(text: &mut String, change: &Value) {
    let Some(new) = change.get("text").and_then(Value::as_str) else {
        return;
    };
    let range = change
        .get("range")
        .and_then(|r| Some((position(r.get("start")?)?, position(r.get("end")?)?)));
    match range {
        None => *text = new.to_string(),
        Some((start, end)) => {
            let lines = LineIndex::new(text);
            let (a, b) = (lines.offset(start), lines.offset(end));
            let (a, b) = (a.min(b), a.max(b));
            text.replace_range(a..b, new);
        }
    }
}

fn range_in(lines: &LineIndex, span: Span) -> Value {
    let s = lines.position(span.start as usize);
    let e = lines.position(span.end as usize);
    json!({
        "start": {"line": s.line, "character": s.character},
        "end": {"line": e.line, "character": e.character},
    })
}

fn range(sources: &SourceMap, span: Span) -> Value {
    if span.file.0 as usize >= sources.len() {
        return range_in(&LineIndex::new(""), Span::default());
    }
    range_in(&LineIndex::new(&sources.get(span.file).text), span)
}

fn location(sources: &SourceMap, span: Span) -> Value {
    let path = if (span.file.0 as usize) < sources.len() {
        sources.get(span.file).path.clone()
    } else {
        PathBuf::new()
    };
    json!({"uri": path_to_uri(&path), "range": range(sources, span)})
}

/// A diagnostic as LSP shows it on the root document. One whose place is
/// in an included file is shown on the `include` line that leads to it,
/// with the real place as related information.
fn lsp_diagnostic(d: &Diagnostic, sources: &SourceMap, root: FileId, items: &[ast::Item]) -> Value {
    let primary = d.primary_span();
    let mut message = d.message.clone();
    let (at, elsewhere) = if primary.file == root {
        (primary, false)
    } else {
        let via =
            include_leading_to(sources, root, items, primary.file).unwrap_or(Span::new(root, 0, 0));
        if (primary.file.0 as usize) < sources.len() {
            let f = sources.get(primary.file);
            let (line, _) = f.line_col(primary.start);
            message = format!(
                "in `{}` line {line}: {message}",
                crate::diagnostics::render::display_path(&f.path)
            );
        }
        (via, true)
    };
    if let Some(w) = &d.witness {
        message.push_str(&format!("\nexample packet: {}", packet_text(w)));
    }
    if let Some(help) = &d.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    if let Some(note) = &d.note {
        message.push_str(&format!("\nnote: {note}"));
    }
    let mut related: Vec<Value> = d
        .labels
        .iter()
        .filter(|l| !l.primary && !l.message.is_empty())
        .map(|l| json!({"location": location(sources, l.span), "message": l.message}))
        .collect();
    if elsewhere {
        let label = d
            .labels
            .iter()
            .find(|l| l.primary)
            .map(|l| l.message.clone())
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| "here".to_string());
        related.insert(
            0,
            json!({"location": location(sources, primary), "message": label}),
        );
    }
    let severity = match d.severity {
        Severity::Error => 1,
        Severity::Warning => 2,
        Severity::Info => 3,
    };
    let mut v = json!({
        "range": range(sources, at),
        "severity": severity,
        "code": d.code,
        "source": "hwc",
        "message": message,
    });
    if !related.is_empty() {
        v["relatedInformation"] = Value::Array(related);
    }
    v
}

/// The span of the root's `include` whose path is `file`, or failing that
/// (a file included by an included file) the first `include`.
fn include_leading_to(
    sources: &SourceMap,
    root: FileId,
    items: &[ast::Item],
    file: FileId,
) -> Option<Span> {
    if file.0 as usize >= sources.len() {
        return None;
    }
    let target = &sources.get(file).path;
    let dir = sources.get(root).path.parent().unwrap_or(Path::new(""));
    let includes: Vec<&ast::Include> = items
        .iter()
        .filter_map(|i| match i {
            ast::Item::Include(inc) => Some(inc),
            _ => None,
        })
        .collect();
    includes
        .iter()
        .find(|inc| text::normalize(&dir.join(&inc.path.node)) == *target)
        .or(includes.first())
        .map(|inc| inc.span)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemoryLoader;

    fn msg(server: &mut Server, v: Value) -> Reply {
        server.handle(v.to_string().as_bytes())
    }

    fn start(server: &mut Server) {
        msg(
            server,
            json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {}}),
        );
        msg(
            server,
            json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
        );
    }

    fn open(server: &mut Server, uri: &str, text: &str) -> Reply {
        msg(
            server,
            json!({"jsonrpc": "2.0", "method": "textDocument/didOpen",
                   "params": {"textDocument": {"uri": uri, "languageId": "hw", "version": 1, "text": text}}}),
        )
    }

    /// The diagnostics published for `uri` in a reply.
    fn published<'a>(reply: &'a Reply, uri: &str) -> Option<&'a Vec<Value>> {
        reply
            .messages
            .iter()
            .find(|m| m["params"]["uri"] == uri)
            .and_then(|m| m["params"]["diagnostics"].as_array())
    }

    #[test]
    fn an_error_in_an_included_file_is_shown_on_the_include() {
        let disk = MemoryLoader::default().with("/p/shared.hw", "host a = 192.0.2.300\n");
        let mut s = Server::new(&disk);
        start(&mut s);
        let r = open(
            &mut s,
            "file:///p/main.hw",
            "# main\ninclude \"shared.hw\"\n",
        );
        let diags = published(&r, "file:///p/main.hw").unwrap();
        assert_eq!(diags.len(), 1, "{diags:#?}");
        let d = &diags[0];
        assert_eq!(
            d["range"]["start"],
            json!({"line": 1, "character": 0}),
            "{d}"
        );
        assert!(
            d["message"]
                .as_str()
                .unwrap()
                .starts_with("in `/p/shared.hw` line 1: "),
            "{d}"
        );
        let related = &d["relatedInformation"][0]["location"];
        assert_eq!(related["uri"], "file:///p/shared.hw");
        assert_eq!(
            related["range"]["start"],
            json!({"line": 0, "character": 9})
        );
    }

    #[test]
    fn editing_an_open_include_rechecks_the_files_that_include_it() {
        let disk = MemoryLoader::default();
        let mut s = Server::new(&disk);
        start(&mut s);
        // The include is open in the editor and never saved.
        open(&mut s, "file:///p/defs.hw", "host a = 192.0.2.1\n");
        let main = "include \"defs.hw\"\nchain output policy drop {\n  accept to a\n}\n";
        let r = open(&mut s, "file:///p/main.hw", main);
        let errors = |r: &Reply| {
            published(r, "file:///p/main.hw")
                .map(|d| d.iter().filter(|d| d["severity"] == 1).count())
        };
        assert_eq!(errors(&r), Some(0), "{:#?}", r.messages);
        // Rename the host in the include: main now has an unknown name.
        let r = msg(
            &mut s,
            json!({"jsonrpc": "2.0", "method": "textDocument/didChange",
                   "params": {"textDocument": {"uri": "file:///p/defs.hw", "version": 2},
                              "contentChanges": [{"text": "host b = 192.0.2.1\n"}]}}),
        );
        assert_eq!(errors(&r), Some(1), "{:#?}", r.messages);
        // Closing the include: main now reads it from disk, where it is not.
        let r = msg(
            &mut s,
            json!({"jsonrpc": "2.0", "method": "textDocument/didClose",
                   "params": {"textDocument": {"uri": "file:///p/defs.hw"}}}),
        );
        assert_eq!(published(&r, "file:///p/defs.hw"), Some(&vec![]));
        let d = published(&r, "file:///p/main.hw").unwrap();
        assert!(d.iter().any(|d| d["code"] == "include-not-found"), "{d:#?}");
    }

    #[test]
    fn range_edits_are_applied() {
        let mut text = "host a = 192.0.2.1\nhost é𝄞 = 1\n".to_string();
        let edit = json!({"range": {"start": {"line": 1, "character": 5},
                                    "end": {"line": 1, "character": 8}},
                          "text": "b"});
        apply_change(&mut text, &edit);
        assert_eq!(text, "host a = 192.0.2.1\nhost b = 1\n");
        apply_change(&mut text, &json!({"text": "x"}));
        assert_eq!(text, "x");
    }

    #[test]
    fn formatting_replaces_the_whole_document() {
        let disk = MemoryLoader::default();
        let mut s = Server::new(&disk);
        start(&mut s);
        open(&mut s, "file:///p/a.hw", "host   a=192.0.2.1\n");
        let r = msg(
            &mut s,
            json!({"jsonrpc": "2.0", "id": 5, "method": "textDocument/formatting",
                   "params": {"textDocument": {"uri": "file:///p/a.hw"}, "options": {}}}),
        );
        let edits = &r.messages[0]["result"];
        assert_eq!(edits[0]["newText"], "host a = 192.0.2.1\n", "{edits}");
        assert_eq!(edits[0]["range"]["end"], json!({"line": 1, "character": 0}));
    }

    /// Every method with parameters of every wrong shape: an error reply
    /// or a result, never a crash, and the server still answers after.
    #[test]
    fn bad_parameters_never_crash() {
        let disk = MemoryLoader::default();
        let mut s = Server::new(&disk);
        start(&mut s);
        open(
            &mut s,
            "file:///p/a.hw",
            "host a = 192.0.2.1\nchain input { accept from a }\n",
        );
        let methods = [
            "textDocument/hover",
            "textDocument/definition",
            "textDocument/documentSymbol",
            "textDocument/formatting",
            "textDocument/didOpen",
            "textDocument/didChange",
            "textDocument/didClose",
            "$/cancelRequest",
            "initialize",
        ];
        let uri = json!("file:///p/a.hw");
        let params = [
            Value::Null,
            json!([]),
            json!({}),
            json!({"textDocument": null}),
            json!({"textDocument": {"uri": 1}}),
            json!({"textDocument": {"uri": "file:///nope.hw"}, "position": {"line": 0, "character": 0}}),
            json!({"textDocument": {"uri": uri}, "position": {"line": -1, "character": 0}}),
            json!({"textDocument": {"uri": uri}, "position": {"line": 99999999999u64, "character": 5}}),
            json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 4000000000u64}}),
            json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}),
            json!({"textDocument": {"uri": uri, "text": 5}, "contentChanges": [{"range": {"start": {"line": 9, "character": 9}, "end": {"line": 0, "character": 0}}, "text": "x"}]}),
            json!({"textDocument": {"uri": uri}, "contentChanges": "x"}),
        ];
        for method in methods {
            for p in &params {
                for id in [
                    None,
                    Some(json!(1)),
                    Some(json!("s")),
                    Some(json!({"bad": "id"})),
                ] {
                    let mut m = json!({"jsonrpc": "2.0", "method": method, "params": p});
                    if let Some(id) = id {
                        m["id"] = id;
                    }
                    let r = msg(&mut s, m);
                    for out in &r.messages {
                        assert_ne!(
                            out["error"]["code"],
                            code::INTERNAL_ERROR,
                            "{method} {p}: {out}"
                        );
                        assert_ne!(out["method"], "window/logMessage", "{method} {p}: {out}");
                    }
                }
            }
        }
        for raw in [
            &b""[..],
            b"null",
            b"[]",
            b"5",
            b"{\"id\": 1}",
            b"\xff\xfe",
            b"{\"method\": 5}",
        ] {
            let r = s.handle(raw);
            assert_eq!(r.messages.len(), 1, "{}", String::from_utf8_lossy(raw));
            assert!(r.messages[0]["error"]["code"].is_i64());
        }
        // Still alive.
        let r = msg(
            &mut s,
            json!({"jsonrpc": "2.0", "id": 9, "method": "shutdown"}),
        );
        assert_eq!(r.messages[0]["result"], Value::Null);
    }
}
