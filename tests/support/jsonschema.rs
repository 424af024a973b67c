//! A JSON Schema validator for the keywords that the official SARIF 2.1.0
//! schema (draft-04) and hwc's own schemas (2020-12) use, written for the
//! tests: the `jsonschema` crate pulls in a proc-macro and regex stack much
//! larger than hwc itself.
//!
//! It is strict in one direction: a keyword it does not know is an error,
//! so it never passes a document by skipping a constraint. `$ref` resolves
//! local references (`#`, `#/definitions/..`, `#/$defs/..`); `pattern`
//! uses the small backtracking regex below (classes, groups, alternation,
//! `* + ? {n,m}` and anchors, which is what the schemas use); `format`
//! checks `date-time`, `uri` and `uri-reference`.

#![allow(dead_code)]

use serde_json::Value;

/// Validates `doc` against `schema`; the error names the JSON path.
pub fn validate(schema: &Value, doc: &Value) -> Result<(), String> {
    Validator { root: schema }.check(schema, doc, "$")
}

struct Validator<'a> {
    root: &'a Value,
}

fn type_ok(t: &str, v: &Value) -> Result<bool, String> {
    Ok(match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "number" => v.is_number(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        other => return Err(format!("unknown type `{other}` in the schema")),
    })
}

impl<'a> Validator<'a> {
    fn resolve(&self, r: &str) -> Result<&'a Value, String> {
        let path = r
            .strip_prefix('#')
            .ok_or(format!("only local $ref are supported, not `{r}`"))?;
        let mut cur = self.root;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            let part = part.replace("~1", "/").replace("~0", "~");
            cur = cur
                .get(&part)
                .ok_or(format!("$ref `{r}` does not resolve"))?;
        }
        Ok(cur)
    }

    fn check(&self, schema: &'a Value, v: &Value, at: &str) -> Result<(), String> {
        let obj = match schema {
            Value::Bool(true) => return Ok(()),
            Value::Bool(false) => return Err(format!("{at}: no value is allowed here")),
            Value::Object(o) => o,
            _ => return Err(format!("{at}: the schema is not an object")),
        };
        // draft-04: `$ref` replaces its siblings.
        if let Some(r) = obj.get("$ref") {
            let r = r.as_str().ok_or(format!("{at}: $ref is not a string"))?;
            return self.check(self.resolve(r)?, v, at);
        }
        for (key, rule) in obj {
            match key.as_str() {
                "$schema" | "$id" | "id" | "title" | "description" | "default" | "$defs"
                | "definitions" | "$comment" | "examples" | "deprecated" => {}
                "type" => {
                    let ok = match rule {
                        Value::String(t) => type_ok(t, v)?,
                        Value::Array(ts) => {
                            let mut any = false;
                            for t in ts {
                                any |= type_ok(t.as_str().unwrap_or(""), v)?;
                            }
                            any
                        }
                        _ => return Err(format!("{at}: bad `type` {rule}")),
                    };
                    if !ok {
                        return Err(format!("{at}: {} is not of type {rule}", short(v)));
                    }
                }
                "enum" => {
                    if !rule.as_array().is_some_and(|a| a.contains(v)) {
                        return Err(format!("{at}: {} is not one of {rule}", short(v)));
                    }
                }
                "const" => {
                    if v != rule {
                        return Err(format!("{at}: {} is not {rule}", short(v)));
                    }
                }
                "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" => {
                    self.bound(obj, key, rule, v, at)?
                }
                "minLength" | "maxLength" => {
                    if let (Some(s), Some(n)) = (v.as_str(), rule.as_u64()) {
                        let len = s.chars().count() as u64;
                        if (key == "minLength" && len < n) || (key == "maxLength" && len > n) {
                            return Err(format!("{at}: length {len} breaks {key} {n}"));
                        }
                    }
                }
                "pattern" => {
                    if let Some(s) = v.as_str() {
                        let re = Regex::new(rule.as_str().unwrap_or(""))
                            .map_err(|e| format!("{at}: pattern {rule}: {e}"))?;
                        if !re.is_match(s) {
                            return Err(format!("{at}: `{s}` does not match {rule}"));
                        }
                    }
                }
                "format" => {
                    if let Some(s) = v.as_str() {
                        check_format(rule.as_str().unwrap_or(""), s)
                            .map_err(|e| format!("{at}: `{s}` {e}"))?;
                    }
                }
                "required" => {
                    if let Some(o) = v.as_object() {
                        for name in rule.as_array().into_iter().flatten() {
                            let name = name.as_str().unwrap_or("");
                            if !o.contains_key(name) {
                                return Err(format!("{at}: missing `{name}`"));
                            }
                        }
                    }
                }
                "properties" => {
                    if let Some(o) = v.as_object() {
                        for (name, sub) in rule.as_object().into_iter().flatten() {
                            if let Some(x) = o.get(name) {
                                self.check(sub, x, &format!("{at}.{name}"))?;
                            }
                        }
                    }
                }
                "additionalProperties" => {
                    if let Some(o) = v.as_object() {
                        let known = obj.get("properties").and_then(Value::as_object);
                        for (name, x) in o {
                            if known.is_some_and(|k| k.contains_key(name)) {
                                continue;
                            }
                            self.check(rule, x, &format!("{at}.{name}")).map_err(|e| {
                                if rule == &Value::Bool(false) {
                                    format!("{at}: unexpected key `{name}`")
                                } else {
                                    e
                                }
                            })?;
                        }
                    }
                }
                "items" => {
                    if let Some(a) = v.as_array() {
                        match rule {
                            Value::Array(schemas) => {
                                for (i, (x, s)) in a.iter().zip(schemas).enumerate() {
                                    self.check(s, x, &format!("{at}[{i}]"))?;
                                }
                            }
                            _ => {
                                for (i, x) in a.iter().enumerate() {
                                    self.check(rule, x, &format!("{at}[{i}]"))?;
                                }
                            }
                        }
                    }
                }
                "minItems" | "maxItems" => {
                    if let (Some(a), Some(n)) = (v.as_array(), rule.as_u64()) {
                        let len = a.len() as u64;
                        if (key == "minItems" && len < n) || (key == "maxItems" && len > n) {
                            return Err(format!("{at}: {len} items break {key} {n}"));
                        }
                    }
                }
                "uniqueItems" => {
                    if let (Some(a), Some(true)) = (v.as_array(), rule.as_bool()) {
                        for (i, x) in a.iter().enumerate() {
                            if a[..i].contains(x) {
                                return Err(format!("{at}: item {i} repeats an earlier one"));
                            }
                        }
                    }
                }
                "anyOf" | "oneOf" | "allOf" => {
                    let subs = rule
                        .as_array()
                        .ok_or(format!("{at}: `{key}` is not an array"))?;
                    let mut errors = Vec::new();
                    let mut ok = 0;
                    for s in subs {
                        match self.check(s, v, at) {
                            Ok(()) => ok += 1,
                            Err(e) => errors.push(e),
                        }
                    }
                    let good = match key.as_str() {
                        "anyOf" => ok >= 1,
                        "oneOf" => ok == 1,
                        _ => ok == subs.len(),
                    };
                    if !good {
                        return Err(format!(
                            "{at}: {ok} of {} alternatives of {key} match: {}",
                            subs.len(),
                            errors.join("; ")
                        ));
                    }
                }
                "not" => {
                    if self.check(rule, v, at).is_ok() {
                        return Err(format!("{at}: matches a `not` schema"));
                    }
                }
                other => {
                    return Err(format!(
                        "{at}: the test validator does not know the keyword `{other}`"
                    ))
                }
            }
        }
        Ok(())
    }

    fn bound(
        &self,
        obj: &serde_json::Map<String, Value>,
        key: &str,
        rule: &Value,
        v: &Value,
        at: &str,
    ) -> Result<(), String> {
        let Some(n) = v.as_f64() else { return Ok(()) };
        // draft-04: `exclusiveMinimum: true` makes `minimum` strict; later
        // drafts give the bound itself.
        let (bound, strict, min) = match (key, rule) {
            ("minimum", Value::Number(b)) => (
                b.as_f64(),
                obj.get("exclusiveMinimum") == Some(&Value::Bool(true)),
                true,
            ),
            ("maximum", Value::Number(b)) => (
                b.as_f64(),
                obj.get("exclusiveMaximum") == Some(&Value::Bool(true)),
                false,
            ),
            ("exclusiveMinimum", Value::Number(b)) => (b.as_f64(), true, true),
            ("exclusiveMaximum", Value::Number(b)) => (b.as_f64(), true, false),
            (_, Value::Bool(_)) => return Ok(()),
            _ => return Err(format!("{at}: bad `{key}` {rule}")),
        };
        let Some(b) = bound else { return Ok(()) };
        let bad = match (min, strict) {
            (true, false) => n < b,
            (true, true) => n <= b,
            (false, false) => n > b,
            (false, true) => n >= b,
        };
        if bad {
            return Err(format!("{at}: {n} breaks {key} {b}"));
        }
        Ok(())
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(77).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}

fn check_format(format: &str, s: &str) -> Result<(), String> {
    match format {
        "date-time" => date_time(s)
            .then_some(())
            .ok_or("is not an RFC 3339 date-time".into()),
        "uri" => {
            let scheme_end = s.find(':').ok_or("has no scheme")?;
            let scheme = &s[..scheme_end];
            let good_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
            if !good_scheme {
                return Err("has a bad scheme".into());
            }
            uri_chars(s)
        }
        "uri-reference" => uri_chars(s),
        other => Err(format!("has the unknown format `{other}`")),
    }
}

/// RFC 3986 characters only, with valid percent escapes.
fn uri_chars(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            let ok =
                i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit();
            if !ok {
                return Err("has a bad percent escape".into());
            }
            i += 3;
            continue;
        }
        let ok = c.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=".contains(&c);
        if !ok {
            return Err(format!(
                "has the character {:?}, which a URI cannot hold",
                c as char
            ));
        }
        i += 1;
    }
    Ok(())
}

fn date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .is_some_and(|x| x.iter().all(u8::is_ascii_digit))
    };
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
    {
        return false;
    }
    if !matches!(b[10], b'T' | b't')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(99);
    if !(1..=12).contains(&num(5..7))
        || !(1..=31).contains(&num(8..10))
        || num(11..13) > 23
        || num(14..16) > 59
        || num(17..19) > 60
    {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    match rest {
        "Z" | "z" => true,
        _ => {
            let r = rest.as_bytes();
            r.len() == 6
                && matches!(r[0], b'+' | b'-')
                && r[1..3].iter().all(u8::is_ascii_digit)
                && r[3] == b':'
                && r[4..6].iter().all(u8::is_ascii_digit)
        }
    }
}

/// A backtracking regex for the subset JSON schemas use (ECMA 262 style,
/// unanchored search).
#[derive(Debug)]
pub struct Regex {
    node: Node,
}

#[derive(Debug, Clone)]
enum Node {
    Empty,
    Char(char),
    Any,
    Class {
        negated: bool,
        items: Vec<(char, char)>,
    },
    Start,
    End,
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat {
        node: Box<Node>,
        min: usize,
        max: Option<usize>,
    },
}

impl Regex {
    pub fn new(pattern: &str) -> Result<Regex, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut p = Parser { c: &chars, i: 0 };
        let node = p.alt()?;
        if p.i != chars.len() {
            return Err(format!("unexpected `{}` at {}", chars[p.i], p.i));
        }
        Ok(Regex { node })
    }

    pub fn is_match(&self, s: &str) -> bool {
        let chars: Vec<char> = s.chars().collect();
        (0..=chars.len()).any(|start| matches(&self.node, &chars, start, &mut |_| true))
    }
}

struct Parser<'a> {
    c: &'a [char],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.c.get(self.i).copied()
    }

    fn alt(&mut self) -> Result<Node, String> {
        let mut alts = vec![self.concat()?];
        while self.peek() == Some('|') {
            self.i += 1;
            alts.push(self.concat()?);
        }
        Ok(if alts.len() == 1 {
            alts.remove(0)
        } else {
            Node::Alt(alts)
        })
    }

    fn concat(&mut self) -> Result<Node, String> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            items.push(self.quantified(atom)?);
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.remove(0),
            _ => Node::Concat(items),
        })
    }

    fn atom(&mut self) -> Result<Node, String> {
        let c = self.peek().ok_or("unexpected end")?;
        self.i += 1;
        Ok(match c {
            '(' => {
                if self.c.get(self.i..self.i + 2) == Some(&['?', ':']) {
                    self.i += 2;
                }
                let inner = self.alt()?;
                if self.peek() != Some(')') {
                    return Err("unclosed group".into());
                }
                self.i += 1;
                inner
            }
            '[' => self.class()?,
            '.' => Node::Any,
            '^' => Node::Start,
            '$' => Node::End,
            '\\' => self.escape()?,
            c => Node::Char(c),
        })
    }

    fn escape(&mut self) -> Result<Node, String> {
        let c = self.peek().ok_or("dangling backslash")?;
        self.i += 1;
        Ok(match c {
            'd' => Node::Class {
                negated: false,
                items: vec![('0', '9')],
            },
            'w' => Node::Class {
                negated: false,
                items: vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')],
            },
            's' => Node::Class {
                negated: false,
                items: vec![(' ', ' '), ('\t', '\r')],
            },
            c if c.is_ascii_alphanumeric() => return Err(format!("unsupported escape \\{c}")),
            c => Node::Char(c),
        })
    }

    fn class(&mut self) -> Result<Node, String> {
        let negated = self.peek() == Some('^');
        if negated {
            self.i += 1;
        }
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let c = self.peek().ok_or("unclosed class")?;
            self.i += 1;
            if c == ']' && !first {
                break;
            }
            first = false;
            let lo = if c == '\\' {
                let e = self.peek().ok_or("dangling backslash")?;
                self.i += 1;
                e
            } else {
                c
            };
            if self.peek() == Some('-') && self.c.get(self.i + 1).is_some_and(|&n| n != ']') {
                self.i += 1;
                let hi = self.peek().ok_or("unclosed class")?;
                self.i += 1;
                items.push((lo, hi));
            } else {
                items.push((lo, lo));
            }
        }
        Ok(Node::Class { negated, items })
    }

    fn quantified(&mut self, atom: Node) -> Result<Node, String> {
        let (min, max) = match self.peek() {
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('?') => (0, Some(1)),
            Some('{') => {
                let close = self.c[self.i..]
                    .iter()
                    .position(|&c| c == '}')
                    .ok_or("unclosed {")?;
                let body: String = self.c[self.i + 1..self.i + close].iter().collect();
                self.i += close;
                let (a, b) = match body.split_once(',') {
                    Some((a, "")) => (a.parse().map_err(|_| "bad {")?, None),
                    Some((a, b)) => (
                        a.parse().map_err(|_| "bad {")?,
                        Some(b.parse().map_err(|_| "bad {")?),
                    ),
                    None => {
                        let n = body.parse().map_err(|_| "bad {")?;
                        (n, Some(n))
                    }
                };
                (a, b)
            }
            _ => return Ok(atom),
        };
        self.i += 1;
        Ok(Node::Repeat {
            node: Box::new(atom),
            min,
            max,
        })
    }
}

/// Does `node` match at `i`, with the continuation `k` accepting where it
/// ends?
fn matches(node: &Node, s: &[char], i: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    match node {
        Node::Empty => k(i),
        Node::Char(c) => s.get(i) == Some(c) && k(i + 1),
        Node::Any => s.get(i).is_some_and(|&c| c != '\n') && k(i + 1),
        Node::Class { negated, items } => {
            s.get(i)
                .is_some_and(|&c| items.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated)
                && k(i + 1)
        }
        Node::Start => i == 0 && k(i),
        Node::End => i == s.len() && k(i),
        Node::Concat(items) => concat(items, s, i, k),
        Node::Alt(alts) => alts.iter().any(|a| matches(a, s, i, k)),
        Node::Repeat { node, min, max } => repeat(node, *min, *max, s, i, 0, k),
    }
}

fn concat(items: &[Node], s: &[char], i: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    match items.split_first() {
        None => k(i),
        Some((first, rest)) => matches(first, s, i, &mut |j| concat(rest, s, j, k)),
    }
}

fn repeat(
    node: &Node,
    min: usize,
    max: Option<usize>,
    s: &[char],
    i: usize,
    n: usize,
    k: &mut dyn FnMut(usize) -> bool,
) -> bool {
    // Greedy: one more first, then stop (an empty iteration ends the loop).
    if max.map_or(true, |m| n < m)
        && matches(node, s, i, &mut |j| {
            j > i && repeat(node, min, max, s, j, n + 1, k)
        })
    {
        return true;
    }
    n >= min && k(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn regex_subset() {
        let guid = Regex::new(
            "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$",
        )
        .unwrap();
        assert!(guid.is_match("123e4567-e89b-12d3-a456-426614174000"));
        assert!(!guid.is_match("123e4567-e89b-12d3-c456-426614174000"));
        assert!(!guid.is_match("x123e4567-e89b-12d3-a456-426614174000"));
        let version = Regex::new("[0-9]+(\\.[0-9]+){3}").unwrap();
        assert!(version.is_match("1.2.3.4"));
        assert!(!version.is_match("1.2.3"));
        let mime = Regex::new("[^/]+/.+").unwrap();
        assert!(mime.is_match("text/plain"));
        assert!(!mime.is_match("/plain"));
        let lang = Regex::new("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$").unwrap();
        assert!(lang.is_match("en") && lang.is_match("en-US"));
        assert!(!lang.is_match("eng") && !lang.is_match("en-"));
        assert!(Regex::new("a|b(c").is_err());
    }

    #[test]
    fn formats() {
        assert!(date_time("2023-11-14T22:13:20Z"));
        assert!(date_time("2023-11-14T22:13:20.5+01:00"));
        assert!(!date_time("2023-13-14T22:13:20Z"));
        assert!(!date_time("2023-11-14 22:13:20Z"));
        assert!(check_format("uri", "file:///etc/a%20b.hw").is_ok());
        assert!(check_format("uri", "examples/a.hw").is_err());
        assert!(check_format("uri-reference", "examples/a.hw").is_ok());
        assert!(check_format("uri-reference", "a b.hw").is_err());
        assert!(check_format("uri-reference", "a%2").is_err());
    }

    #[test]
    fn keywords_reject_what_they_should() {
        let schema = json!({
            "definitions": { "n": { "type": "integer", "minimum": 1 } },
            "type": "object",
            "required": ["a"],
            "additionalProperties": false,
            "properties": {
                "a": { "$ref": "#/definitions/n" },
                "b": { "type": "array", "items": { "enum": ["x", "y"] }, "uniqueItems": true, "minItems": 1 },
                "c": { "anyOf": [{ "type": "string", "pattern": "^h" }, { "type": "null" }] },
                "d": { "type": "object", "additionalProperties": { "type": "string" } },
                "e": { "oneOf": [{ "type": "integer" }, { "type": "number" }] }
            }
        });
        assert_eq!(
            validate(
                &schema,
                &json!({"a": 1, "b": ["x"], "c": "hi", "d": {"k": "v"}, "e": 1.5})
            ),
            Ok(())
        );
        for bad in [
            json!({}),
            json!({"a": 0}),
            json!({"a": "1"}),
            json!({"a": 1, "z": 1}),
            json!({"a": 1, "b": ["x", "x"]}),
            json!({"a": 1, "b": []}),
            json!({"a": 1, "b": ["q"]}),
            json!({"a": 1, "c": "oh"}),
            json!({"a": 1, "d": {"k": 1}}),
            json!({"a": 1, "e": 2}),
        ] {
            assert!(validate(&schema, &bad).is_err(), "{bad} should fail");
        }
        let unknown = json!({"type": "object", "propertyNames": {"maxLength": 3}});
        assert!(
            validate(&unknown, &json!({})).is_err(),
            "unknown keywords are errors"
        );
    }
}
