//! Definitions: resolving a name to the typed value it stands for.
//!
//! A definition is evaluated once, on first use, and memoised. A name that
//! is met again while its own definition is being evaluated closes a
//! reference cycle. Every reference is recorded so that `used` can be
//! computed at the end (a definition is used when a rule, assertion or
//! egress block uses it, directly or through other used definitions).

use super::names::{did_you_mean, suggest, DefId};
use super::Sema;
use crate::diagnostics::Diagnostic;
use crate::ir::{AddrRange, Iface, OwnerRange, L4};
use crate::source::{Span, Spanned};
use crate::syntax::ast::{self, DefKind, IdKind, Value};
use std::rc::Rc;

/// How deeply definitions may refer to definitions; deeper is surely a
/// generated mistake, and this bounds the evaluator's recursion.
const MAX_DEPTH: usize = 64;

/// The typed value of a definition.
#[derive(Debug)]
pub enum DefValue {
    Addrs(Vec<AddrRange>),
    Ports(Vec<(u16, u16)>),
    Services(Vec<L4>),
    Owners(Vec<OwnerRange>),
    Ifaces(Vec<Iface>),
    /// The definition has errors (already reported).
    Invalid,
}

/// What a name must stand for where it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Addr,
    Port,
    Service,
    User,
    Group,
    Iface,
}

impl Class {
    /// What is expected, for messages: "expected {}".
    pub fn noun(self) -> &'static str {
        match self {
            Class::Addr => "an address",
            Class::Port => "a port",
            Class::Service => "a service",
            Class::User => "a user",
            Class::Group => "a group",
            Class::Iface => "an interface",
        }
    }

    /// The definitions that define it: "use the name of {}".
    pub fn defined_by(self) -> &'static str {
        match self {
            Class::Addr => "a `host`, `net` or a `list` of addresses",
            Class::Port => "a `list` of ports",
            Class::Service => "a `service`",
            Class::User => "a `user`",
            Class::Group => "a `group`",
            Class::Iface => "an `iface` definition",
        }
    }

    /// The definition keywords that can define this class.
    fn kinds(self) -> &'static [DefKind] {
        match self {
            Class::Addr => &[DefKind::Host, DefKind::Net, DefKind::List],
            Class::Port => &[DefKind::List],
            Class::Service => &[DefKind::Service],
            Class::User => &[DefKind::User],
            Class::Group => &[DefKind::Group],
            Class::Iface => &[DefKind::Iface],
        }
    }
}

/// The class of a definition kind, when the kind alone decides it.
fn kind_class(kind: DefKind) -> Option<Class> {
    match kind {
        DefKind::Host | DefKind::Net => Some(Class::Addr),
        DefKind::Service => Some(Class::Service),
        DefKind::User => Some(Class::User),
        DefKind::Group => Some(Class::Group),
        DefKind::Iface => Some(Class::Iface),
        DefKind::List => None,
    }
}

fn value_class(v: &DefValue, kind: DefKind) -> Option<Class> {
    match v {
        DefValue::Addrs(_) => Some(Class::Addr),
        DefValue::Ports(_) => Some(Class::Port),
        DefValue::Services(_) => Some(Class::Service),
        DefValue::Owners(_) if kind == DefKind::Group => Some(Class::Group),
        DefValue::Owners(_) => Some(Class::User),
        DefValue::Ifaces(_) => Some(Class::Iface),
        DefValue::Invalid => None,
    }
}

pub enum DefState {
    Todo,
    Busy,
    Done(Rc<DefValue>),
}

/// "a host", "a list of ports", ...: what a definition is, for messages.
fn describe(kind: DefKind, class: Option<Class>) -> &'static str {
    match (kind, class) {
        (DefKind::Host, _) => "a host",
        (DefKind::Net, _) => "a net",
        (DefKind::Service, _) => "a service",
        (DefKind::User, _) => "a user",
        (DefKind::Group, _) => "a group",
        (DefKind::Iface, _) => "an interface set",
        (DefKind::List, Some(Class::Addr)) => "a list of addresses",
        (DefKind::List, Some(Class::Port)) => "a list of ports",
        (DefKind::List, _) => "a list",
    }
}

impl Sema<'_> {
    /// Resolves a name that must stand for one of `expect`. `user` is the
    /// definition the name appears in (`None` in rules, assertions and
    /// egress blocks). Reports unknown names and wrong kinds; returns
    /// `None` after an error (reported here or earlier).
    pub fn resolve(
        &mut self,
        name: &str,
        span: Span,
        expect: &[Class],
        user: Option<DefId>,
    ) -> Option<(Class, Rc<DefValue>)> {
        let id = self.lookup_def(name, span, expect, user)?;
        self.resolve_id(id, span, expect, None)
    }

    /// Looks a definition up and records the use; reports unknown names.
    pub fn lookup_def(
        &mut self,
        name: &str,
        span: Span,
        expect: &[Class],
        user: Option<DefId>,
    ) -> Option<DefId> {
        let Some(&id) = self.syms.def_index.get(name) else {
            self.unknown_name(name, span, expect);
            return None;
        };
        match user {
            Some(d) => self.def_refs[d].push(id),
            None => self.used[id] = true,
        }
        Some(id)
    }

    /// The value of a known definition, checked against `expect`.
    pub fn resolve_id(
        &mut self,
        id: DefId,
        span: Span,
        expect: &[Class],
        help: Option<&str>,
    ) -> Option<(Class, Rc<DefValue>)> {
        let kind = self.syms.defs[id].kind.node;
        if let Some(c) = kind_class(kind) {
            if !expect.contains(&c) {
                self.wrong_kind(id, Some(c), span, expect, help);
                return None;
            }
        }
        let v = self.eval(id, span)?;
        let c = value_class(&v, kind)?;
        if !expect.contains(&c) {
            self.wrong_kind(id, Some(c), span, expect, help);
            return None;
        }
        Some((c, v))
    }

    fn unknown_name(&mut self, name: &str, span: Span, expect: &[Class]) {
        let defs = &self.syms.defs;
        let fitting = defs
            .iter()
            .filter(|d| expect.iter().any(|c| c.kinds().contains(&d.kind.node)))
            .map(|d| d.name.node.as_str());
        // `root` needs no definition in owner lists.
        let owner = expect
            .iter()
            .any(|c| matches!(c, Class::User | Class::Group));
        let builtin = owner.then_some("root").into_iter();
        let hint = suggest(name, fitting.chain(builtin))
            .or_else(|| suggest(name, defs.iter().map(|d| d.name.node.as_str())));
        let class = expect.first().copied().unwrap_or(Class::Addr);
        let mut d = Diagnostic::error("unknown-name", format!("unknown name `{name}`"), span)
            .primary_label(format!("expected {} here", class.noun()))
            .help(did_you_mean(
                hint,
                format!(
                    "define `{name}` as {}, or check the spelling",
                    class.defined_by()
                ),
            ));
        if let Some(h) = hint {
            if let Some(&id) = self.syms.def_index.get(h) {
                d = d.label(
                    self.syms.defs[id].name.span,
                    format!("`{h}` is defined here"),
                );
            }
        }
        self.diags.push(d);
    }

    fn wrong_kind(
        &mut self,
        id: DefId,
        class: Option<Class>,
        span: Span,
        expect: &[Class],
        help: Option<&str>,
    ) {
        let def = self.syms.defs[id];
        let is = describe(def.kind.node, class);
        let want = expect.first().copied().unwrap_or(Class::Addr);
        let help = match help {
            Some(h) => h.to_string(),
            None => format!(
                "use the name of {} here, or write the value itself",
                want.defined_by()
            ),
        };
        self.diags.push(
            Diagnostic::error(
                "wrong-kind",
                format!("`{}` is {is}, not {}", def.name.node, want.noun()),
                span,
            )
            .primary_label(format!("expected {} here", want.noun()))
            .label(
                def.name.span,
                format!("`{}` is defined as {is} here", def.name.node),
            )
            .help(help),
        );
    }

    /// Evaluates a definition (memoised). `span` is the reference that
    /// asked for it, used to report cycles.
    pub fn eval(&mut self, id: DefId, span: Span) -> Option<Rc<DefValue>> {
        match &self.defs[id] {
            DefState::Done(v) => return Some(v.clone()),
            DefState::Busy => {
                self.report_cycle(id, span);
                return None;
            }
            DefState::Todo => {}
        }
        if self.stack.len() >= MAX_DEPTH {
            self.diags.push(
                Diagnostic::error(
                    "definition-too-deep",
                    format!("definitions are nested more than {MAX_DEPTH} levels deep"),
                    span,
                )
                .primary_label("this reference is too deep")
                .help("flatten the definitions: refer to the values directly"),
            );
            return None;
        }
        self.defs[id] = DefState::Busy;
        self.stack.push((id, span));
        let v = Rc::new(self.compute(id));
        self.stack.pop();
        self.defs[id] = DefState::Done(v.clone());
        Some(v)
    }

    fn report_cycle(&mut self, id: DefId, span: Span) {
        let Some(pos) = self.stack.iter().position(|&(d, _)| d == id) else {
            return;
        };
        let name = |d: DefId| self.syms.defs[d].name.node.clone();
        let mut path: Vec<String> = self.stack[pos..]
            .iter()
            .map(|&(d, _)| format!("`{}`", name(d)))
            .collect();
        path.push(format!("`{}`", name(id)));
        let (last, _) = self.stack[self.stack.len() - 1];
        let mut d = Diagnostic::error(
            "definition-cycle",
            format!(
                "definitions refer to each other in a cycle: {}",
                path.join(" → ")
            ),
            span,
        )
        .primary_label(format!(
            "`{}` refers back to `{}` here",
            name(last),
            name(id)
        ));
        for w in pos + 1..self.stack.len() {
            let (from, _) = self.stack[w - 1];
            let (to, at) = self.stack[w];
            d = d.label(
                at,
                format!("`{}` refers to `{}` here", name(from), name(to)),
            );
        }
        d = d.help("a definition cannot contain itself; remove one of these references");
        self.diags.push(d);
    }

    fn compute(&mut self, id: DefId) -> DefValue {
        let def = self.syms.defs[id];
        if def.values.is_empty() {
            self.diags.push(
                Diagnostic::error(
                    "empty-list",
                    format!("`{}` has no values", def.name.node),
                    def.name.span,
                )
                .primary_label("defined without values")
                .help("give the definition at least one value, or remove it"),
            );
            return DefValue::Invalid;
        }
        let v = match def.kind.node {
            DefKind::Host | DefKind::Net => self
                .addrs(&def.values, Some(id))
                .map(|a| DefValue::Addrs(a.ranges)),
            DefKind::List => self.list(def, id),
            DefKind::Service => self.service_def(&def.values, id).map(DefValue::Services),
            DefKind::User => self
                .owners(&def.values, IdKind::Uid, Some(id))
                .map(DefValue::Owners),
            DefKind::Group => self
                .owners(&def.values, IdKind::Gid, Some(id))
                .map(DefValue::Owners),
            DefKind::Iface => self.ifaces(&def.values, Some(id)).map(DefValue::Ifaces),
        };
        v.unwrap_or(DefValue::Invalid)
    }

    /// A `list`: addresses or ports, decided by its values.
    fn list(&mut self, def: &ast::Def, id: DefId) -> Option<DefValue> {
        let mut first: Option<(Class, Span)> = None;
        let mut ok = true;
        for v in &def.values {
            let class = match &v.node {
                Value::Cidr { .. } | Value::AddrRange { .. } => Class::Addr,
                Value::Number(_) | Value::NumRange { .. } => Class::Port,
                Value::Name(n) => {
                    match self.resolve(n, v.span, &[Class::Addr, Class::Port], Some(id)) {
                        Some((c, _)) => c,
                        None => {
                            ok = false;
                            continue;
                        }
                    }
                }
                _ => {
                    self.wrong_value(v, "an address or a port");
                    ok = false;
                    continue;
                }
            };
            match first {
                None => first = Some((class, v.span)),
                Some((c, at)) if c != class => {
                    self.mixed_list(def, v, class, at);
                    return None;
                }
                Some(_) => {}
            }
        }
        if !ok {
            return None;
        }
        match first?.0 {
            Class::Addr => self
                .addrs(&def.values, Some(id))
                .map(|a| DefValue::Addrs(a.ranges)),
            _ => self
                .ports(&def.values, Some(id))
                .map(|p| DefValue::Ports(p.ranges)),
        }
    }

    fn mixed_list(&mut self, def: &ast::Def, v: &Spanned<Value>, class: Class, first: Span) {
        let (this, other) = match class {
            Class::Addr => ("an address", "a port"),
            _ => ("a port", "an address"),
        };
        self.diags.push(
            Diagnostic::error(
                "mixed-list",
                format!("list `{}` mixes addresses and ports", def.name.node),
                v.span,
            )
            .primary_label(format!("this is {this}"))
            .label(first, format!("but this is {other}"))
            .help("a list holds either addresses or ports; split it into two lists"),
        );
    }
}
