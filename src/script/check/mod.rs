//! Checking scripts before they run (`mmrun check`, and `mmrun run` first): each file is
//! compiled with the engine scenarios run in, and its syntax tree is walked for the mistakes
//! that can be seen without running it — calls to functions and methods that exist nowhere,
//! calls with a number of arguments no form of the function takes, and keys of option-map
//! literals that the function does not accept ([`option_keys`], the lists the bindings parse
//! with). Only what is certain is reported: a value's type is not known before it runs, so a
//! method that exists for some type is never called a mistake here.

use super::bindings::option_keys::{self, Shape};
use rhai::{ASTNode, Engine, Expr, Position, Stmt};
use std::collections::{BTreeMap, BTreeSet};

#[cfg(test)]
mod tests;

/// One mistake in one script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mistake {
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// `help: …` lines.
    pub help: Vec<String>,
    /// The file does not compile (nothing else is checked in it).
    pub syntax: bool,
}

/// Names the parser handles itself, callable with any number of arguments.
const KEYWORDS: &[&str] = &[
    "print",
    "debug",
    "type_of",
    "eval",
    "Fn",
    "call",
    "curry",
    "is_shared",
    "is_def_var",
    "is_def_fn",
    "this",
    "global",
];

/// What the engine can call: every function by name, with the number of parameters of each
/// form (a method's receiver counted) and the forms as the reference writes them.
pub struct Checker {
    engine: Engine,
    arities: BTreeMap<String, BTreeSet<usize>>,
    forms: BTreeMap<String, Vec<String>>,
    /// Each form's (number of parameters, first parameter's type, return type).
    types: BTreeMap<String, Vec<(usize, Kind, Kind)>>,
}

/// What the check knows of a type. Scripts' numbers are `int` (i64) and `float` (f64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Float,
    /// Some other type the check knows by name (a string, an array, a Cluster, an i32…).
    Other,
    /// Any value, or a type the check does not know: never a mistake.
    Any,
}

impl Kind {
    fn of(rhai_type: &str) -> Kind {
        let t = rhai_type.trim().trim_start_matches("&mut ").trim();
        match t {
            "i64" | "INT" | "int" => Kind::Int,
            "f64" | "FLOAT" | "float" => Kind::Float,
            "Array" | "array" | "Blob" | "&str" | "str" | "ImmutableString" | "String"
            | "string" | "Map" | "map" | "bool" | "char" | "()" | "FnPtr" | "Instant" | "i8"
            | "i16" | "i32" | "i128" | "u8" | "u16" | "u32" | "u64" | "u128" | "f32"
            | "Cluster" | "Master" | "Agent" | "Framework" | "FrameworkRun" | "ZooKeeper" => {
                Kind::Other
            }
            t if t.starts_with("Range") || t.starts_with("std::ops::Range") => Kind::Other,
            _ => Kind::Any,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Int => "int",
            Kind::Float => "float",
            Kind::Other | Kind::Any => "?",
        }
    }
}

/// A name scripts can call (not an operator, getter or indexer).
fn callable(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_alphanumeric() || c == '_')
}

impl Checker {
    /// The engine scenarios run in, with every binding (and Rhai's standard library).
    pub fn new() -> Checker {
        let mut engine = super::engine::for_metadata();
        // Option maps of constants stay map literals, with the position of each key.
        engine.set_optimization_level(rhai::OptimizationLevel::None);
        let json = engine
            .gen_fn_metadata_to_json(true)
            .expect("metadata serialises");
        let meta: serde_json::Value = serde_json::from_str(&json).expect("metadata is JSON");
        let mut arities: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
        let mut forms: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut types: BTreeMap<String, Vec<(usize, Kind, Kind)>> = BTreeMap::new();
        for f in meta["functions"].as_array().into_iter().flatten() {
            let Some(name) = f["name"].as_str().filter(|n| callable(n)) else {
                continue;
            };
            let params = f["numParams"].as_u64().unwrap_or(0) as usize;
            arities.entry(name.to_string()).or_default().insert(params);
            let first = match f["params"].as_array().and_then(|p| p.first()) {
                Some(p) => Kind::of(p["type"].as_str().unwrap_or("?")),
                None => Kind::Any,
            };
            let returns = Kind::of(f["returnType"].as_str().unwrap_or("?"));
            types
                .entry(name.to_string())
                .or_default()
                .push((params, first, returns));
            if let Some(signature) = f["signature"].as_str() {
                forms
                    .entry(name.to_string())
                    .or_default()
                    .push(signature.to_string());
            }
        }
        // The API's own functions as the reference writes them (`c.add_agent(options: map)`).
        let mut api: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, text) in super::docs::signatures(&engine) {
            api.entry(name).or_default().push(text);
        }
        forms.extend(api);
        Checker {
            engine,
            arities,
            forms,
            types,
        }
    }

    /// Every mistake in `text`, in the order they appear.
    pub fn check(&self, text: &str) -> Vec<Mistake> {
        let ast = match self.engine.compile(text) {
            Ok(ast) => ast,
            Err(e) => {
                let pos = e.position();
                return vec![Mistake {
                    line: pos.line().unwrap_or(0),
                    column: pos.position().unwrap_or(0),
                    message: format!("syntax error: {}", e.err_type()),
                    help: vec![],
                    syntax: true,
                }];
            }
        };
        let mut script = Script::default();
        for f in ast.iter_functions() {
            script
                .functions
                .entry(f.name.to_string())
                .or_default()
                .insert(f.params.len());
            script
                .variables
                .extend(f.params.iter().map(|p| p.to_string()));
        }
        ast.walk(&mut |path: &[ASTNode]| {
            match path.last() {
                Some(ASTNode::Stmt(Stmt::Var(var, ..))) => {
                    script.variables.insert(var.0.name.to_string());
                }
                Some(ASTNode::Stmt(Stmt::For(f, ..))) => {
                    script.variables.insert(f.0.name.to_string());
                    if let Some(counter) = &f.1 {
                        script.variables.insert(counter.name.to_string());
                    }
                }
                Some(ASTNode::Expr(Expr::Map(map, _))) => {
                    script
                        .map_keys
                        .extend(map.0.iter().map(|(k, _)| k.name.to_string()));
                }
                // `obj.greet = |x| …` makes a property that `obj.greet(1)` calls.
                Some(ASTNode::Expr(Expr::Property(property, _))) => {
                    script.map_keys.insert(property.2.to_string());
                }
                _ => {}
            }
            true
        });
        let mut mistakes = Vec::new();
        ast.walk(&mut |path: &[ASTNode]| {
            match path.last() {
                Some(ASTNode::Expr(Expr::FnCall(call, pos)))
                    if call.op_token.is_none() && call.namespace.is_empty() =>
                {
                    mistakes.extend(self.check_call(
                        &script,
                        &call.name,
                        call.args.len(),
                        *pos,
                        false,
                    ));
                    self.check_options(&call.name, &call.args, &mut mistakes);
                }
                // `a[0].b()` is `Index(a, Dot(0, b()))`: under an index the left of a dot
                // may be the index rather than the receiver.
                Some(ASTNode::Expr(Expr::Dot(dot, ..)))
                    if !path
                        .iter()
                        .any(|n| matches!(n, ASTNode::Expr(Expr::Index(..)))) =>
                {
                    mistakes.extend(self.check_receiver(&script, &dot.lhs, &dot.rhs));
                }
                Some(ASTNode::Expr(Expr::MethodCall(call, pos))) => {
                    mistakes.extend(self.check_call(
                        &script,
                        &call.name,
                        call.args.len(),
                        *pos,
                        true,
                    ));
                    self.check_options(&call.name, &call.args, &mut mistakes);
                }
                _ => {}
            }
            true
        });
        mistakes.sort_by_key(|m| (m.line, m.column));
        mistakes.dedup();
        mistakes
    }

    /// A call of `name` with `args` arguments (besides the receiver, for a method).
    fn check_call(
        &self,
        script: &Script,
        name: &str,
        args: usize,
        pos: Position,
        method: bool,
    ) -> Option<Mistake> {
        if !callable(name) || KEYWORDS.contains(&name) {
            return None;
        }
        let api = self.arities.get(name);
        let own = script.functions.get(name);
        if api.is_none() && own.is_none() {
            // A variable holding a function pointer is called like a function, and a map's
            // property holding one like a method.
            if (!method && script.variables.contains(name))
                || (method && script.map_keys.contains(name))
            {
                return None;
            }
            let candidates = self
                .arities
                .iter()
                .filter(|(_, a)| !method || a.iter().any(|n| *n >= 1))
                .map(|(n, _)| n.as_str())
                .chain(script.functions.keys().map(String::as_str));
            let help = nearest(name, candidates)
                .map(|best| match method {
                    true => format!("did you mean `.{best}()`?"),
                    false => format!("did you mean `{best}`?"),
                })
                .into_iter()
                .collect();
            let message = match method {
                true => format!("no method `.{name}()` exists"),
                false => format!("no function `{name}` exists"),
            };
            return Some(mistake(pos, message, help));
        }
        // A method's receiver is the first parameter of a native function; a script's own
        // function called as a method gets it as `this`.
        let native = if method { args + 1 } else { args };
        let fits =
            api.is_some_and(|a| a.contains(&native)) || own.is_some_and(|a| a.contains(&args));
        if fits {
            return None;
        }
        let mut counts: BTreeSet<usize> = BTreeSet::new();
        if let Some(a) = api {
            counts.extend(
                a.iter()
                    .filter_map(|n| if method { n.checked_sub(1) } else { Some(*n) }),
            );
        }
        if let Some(a) = own {
            counts.extend(a.iter().copied());
        }
        let takes: Vec<String> = counts.iter().map(|n| n.to_string()).collect();
        let takes = match takes.as_slice() {
            [] => "none".to_string(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} or {last}", init.join(", ")),
        };
        let (call, given) = match method {
            true => (
                format!("`.{name}()`"),
                "arguments (besides the value before the dot)",
            ),
            false => (format!("`{name}`"), "arguments"),
        };
        let mut help = Vec::new();
        if let Some(forms) = self.forms.get(name) {
            help.push(format!("`{name}` is called as:"));
            help.extend(forms.iter().map(|f| format!("  {f}")));
        }
        Some(mistake(
            pos,
            format!("{call} is given {args} {given}; it takes {takes}"),
            help,
        ))
    }

    /// A method called on a number (a literal, or what a function that always returns one
    /// returned) that exists only for other types: `fw.count("TASK_RUNNING").len()`.
    fn check_receiver(&self, script: &Script, receiver: &Expr, rhs: &Expr) -> Option<Mistake> {
        let call = match rhs {
            Expr::MethodCall(call, _) => call,
            Expr::Dot(inner, ..) => match &inner.lhs {
                Expr::MethodCall(call, _) => call,
                _ => return None,
            },
            _ => return None,
        };
        let (name, pos) = (call.name.as_str(), rhs_position(rhs));
        let kind = self.kind_of(script, receiver);
        if !matches!(kind, Kind::Int | Kind::Float)
            || script.functions.contains_key(name)
            || script.map_keys.contains(name)
            || KEYWORDS.contains(&name)
        {
            return None;
        }
        let forms = self.types.get(name)?;
        let arity = call.args.len() + 1;
        let fits = forms
            .iter()
            .filter(|(n, ..)| *n == arity)
            .any(|(_, first, _)| *first == kind || *first == Kind::Any);
        if fits || !forms.iter().any(|(n, ..)| *n == arity) {
            // Another argument count is a mistake of its own, reported as such.
            return None;
        }
        let what = match receiver {
            Expr::IntegerConstant(..) | Expr::FloatConstant(..) => {
                format!("the value before the dot is a number ({})", kind.name())
            }
            _ => format!(
                "the value before the dot is a number: {} always returns {}",
                describe(receiver).unwrap_or_else(|| "it".into()),
                match kind {
                    Kind::Int => "an int",
                    _ => "a float",
                }
            ),
        };
        Some(mistake(
            pos,
            format!("`.{name}()` is not defined for {}: {what}", kind.name()),
            vec![super::errors::wrong_type_hint(
                name,
                &format!("({})", kind.name()),
            )],
        ))
    }

    /// The type of what `e` gives, as far as it is certain.
    fn kind_of(&self, script: &Script, e: &Expr) -> Kind {
        let (name, arity) = match e {
            Expr::IntegerConstant(..) => return Kind::Int,
            Expr::FloatConstant(..) => return Kind::Float,
            Expr::FnCall(call, _) if call.op_token.is_none() && call.namespace.is_empty() => {
                (call.name.as_str(), call.args.len())
            }
            Expr::MethodCall(call, _) => (call.name.as_str(), call.args.len() + 1),
            Expr::Dot(dot, ..) if matches!(dot.rhs, Expr::MethodCall(..) | Expr::Dot(..)) => {
                return self.kind_of(script, &dot.rhs);
            }
            _ => return Kind::Any,
        };
        if script.functions.contains_key(name) || KEYWORDS.contains(&name) {
            return Kind::Any;
        }
        let returns: BTreeSet<_> = self
            .types
            .get(name)
            .into_iter()
            .flatten()
            .filter(|(n, ..)| *n == arity)
            .map(|(.., r)| match r {
                Kind::Int => 0,
                Kind::Float => 1,
                _ => 2,
            })
            .collect();
        match returns.into_iter().collect::<Vec<_>>().as_slice() {
            [0] => Kind::Int,
            [1] => Kind::Float,
            _ => Kind::Any,
        }
    }

    /// Option-map literals among the arguments of a function that takes an option map.
    fn check_options(&self, function: &str, args: &[Expr], mistakes: &mut Vec<Mistake>) {
        if let Some(shape) = option_keys::of_function(function) {
            for arg in args {
                check_value(arg, shape, function, mistakes);
            }
        }
    }
}

impl Default for Checker {
    fn default() -> Checker {
        Checker::new()
    }
}

/// What the script itself defines.
#[derive(Default)]
struct Script {
    /// Its `fn`s (and closures), with their numbers of parameters.
    functions: BTreeMap<String, BTreeSet<usize>>,
    /// Every variable and parameter name.
    variables: BTreeSet<String>,
    /// Every key of its map literals and every property it names: a property holding a
    /// function is called like a method.
    map_keys: BTreeSet<String>,
}

/// A map literal (or an array of them) given where `shape` is expected.
fn check_value(value: &Expr, shape: &Shape, context: &str, mistakes: &mut Vec<Mistake>) {
    match value {
        Expr::Array(items, _) => {
            for item in items.iter() {
                check_value(item, shape, context, mistakes);
            }
        }
        Expr::Map(map, _) => {
            for (key, inner) in map.0.iter() {
                let name = key.name.as_str();
                if !shape.keys.contains(&name) {
                    let help = vec![match option_keys::suggest(name, shape.keys) {
                        Some(best) => format!("did you mean `{best}`?"),
                        None => format!("the options are: {}", shape.keys.join(", ")),
                    }];
                    mistakes.push(mistake(
                        key.pos,
                        format!("{context}: unknown option `{name}`"),
                        help,
                    ));
                } else if let Some(nested) = shape.nested(name) {
                    check_value(inner, nested, &format!("{context} {name}"), mistakes);
                }
            }
        }
        _ => {}
    }
}

/// Where the first method of a chain's right-hand side is named.
fn rhs_position(rhs: &Expr) -> Position {
    match rhs {
        Expr::Dot(inner, ..) => inner.lhs.position(),
        other => other.position(),
    }
}

/// `count(…)` for the call that gave a value, for messages.
fn describe(e: &Expr) -> Option<String> {
    match e {
        Expr::FnCall(call, _) | Expr::MethodCall(call, _) => Some(format!("`{}(…)`", call.name)),
        Expr::Dot(dot, ..) => describe(&dot.rhs).or_else(|| match &dot.rhs {
            Expr::Dot(inner, ..) => describe(&inner.lhs),
            _ => None,
        }),
        _ => None,
    }
}

fn mistake(pos: Position, message: String, help: Vec<String>) -> Mistake {
    Mistake {
        line: pos.line().unwrap_or(0),
        column: pos.position().unwrap_or(0),
        message,
        help,
        syntax: false,
    }
}

fn nearest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    known
        .map(|k| (strsim::damerau_levenshtein(name, k), k))
        .filter(|(d, k)| *d > 0 && *d <= 3.min(1.max(k.len() / 3)))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// A mistake as `file:line:col: message`, the line with a caret under the column, and its
/// help.
pub fn render(path: &str, text: &str, m: &Mistake) -> String {
    let mut out = format!("{path}:{}:{}: {}\n", m.line, m.column, m.message);
    out.push_str(&super::errors::excerpt_at(text, m.line, m.column));
    for h in &m.help {
        out.push_str(&format!("   = help: {h}\n"));
    }
    out
}
