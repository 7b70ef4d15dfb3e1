//! Script errors as people need them: `file:line:col`, the source line with a caret, the call
//! chain through script functions, "did you mean" for unknown functions and map properties,
//! and the signatures of a function called with arguments it does not take.

use rhai::{EvalAltResult, ParseError, Position};

pub struct Source<'a> {
    pub path: &'a str,
    pub text: &'a str,
}

fn location(src: &Source, pos: Position) -> String {
    match (pos.line(), pos.position()) {
        (Some(l), Some(c)) => format!("{}:{l}:{c}", src.path),
        (Some(l), None) => format!("{}:{l}", src.path),
        _ => src.path.to_string(),
    }
}

/// The source line under the error with a caret at the column.
fn excerpt(src: &Source, pos: Position) -> String {
    match pos.line() {
        Some(line) => excerpt_at(src.text, line, pos.position().unwrap_or(1)),
        None => String::new(),
    }
}

/// Line `line_no` (1-based) of `text` with a caret under column `col`; empty if there is none.
pub fn excerpt_at(text: &str, line_no: usize, col: usize) -> String {
    let Some(line) = line_no.checked_sub(1).and_then(|i| text.lines().nth(i)) else {
        return String::new();
    };
    let gutter = line_no.to_string().len();
    let col = col.max(1);
    format!(
        "{:gutter$} |\n{line_no} | {line}\n{:gutter$} | {}^\n",
        "",
        "",
        " ".repeat(col - 1),
    )
}

fn render(src: &Source, message: &str, pos: Position, notes: &[String]) -> String {
    let mut out = format!("error: {message}\n  --> {}\n", location(src, pos));
    out.push_str(&excerpt(src, pos));
    for n in notes {
        out.push_str(&format!("   = {n}\n"));
    }
    out
}

pub fn render_parse_error(src: &Source, err: &ParseError) -> String {
    render(
        src,
        &format!("syntax error: {}", err.err_type()),
        err.position(),
        &[],
    )
}

/// The message of an error without Rhai's own "(line x, position y)" suffix.
fn bare_message(err: &EvalAltResult) -> String {
    match err {
        EvalAltResult::ErrorRuntime(value, _) => value.to_string(),
        EvalAltResult::ErrorTerminated(value, _)
            if value.to_string() == super::limits::CANCELLED =>
        {
            "the scenario was cancelled (timeout, --fail-fast or Ctrl-C)".into()
        }
        EvalAltResult::ErrorTooManyOperations(_) => format!(
            "the script ran more than {} operations and was stopped: is there an endless loop?",
            super::limits::MAX_OPERATIONS
        ),
        EvalAltResult::ErrorStackOverflow(_) => format!(
            "functions nested deeper than {} calls: is there runaway recursion?",
            super::limits::MAX_CALL_LEVELS
        ),
        EvalAltResult::ErrorDataTooLarge(what, _) => {
            format!("{what} grew beyond mmrun's limit: runaway memory use?")
        }
        other => {
            let text = other.to_string();
            match text.rfind(" (line ") {
                Some(i) if text.ends_with(')') => text[..i].to_string(),
                _ => text,
            }
        }
    }
}

/// What a script can name, for hints: every function (the API's and the script's own), the
/// API's signatures as `(name, signature)`, and the properties of the maps the API returns.
#[derive(Default)]
pub struct Known {
    pub functions: Vec<String>,
    pub signatures: Vec<(String, String)>,
    pub properties: Vec<String>,
}

pub fn render_eval_error(src: &Source, err: &EvalAltResult, known: &Known) -> String {
    let mut chain = Vec::new();
    let mut inner = err;
    while let EvalAltResult::ErrorInFunctionCall(name, _, cause, pos) = inner {
        chain.push(format!("in call to `{name}` at {}", location(src, *pos)));
        inner = cause;
    }
    chain.reverse();
    let mut notes = chain;
    let mut message = bare_message(inner);
    match inner {
        EvalAltResult::ErrorFunctionNotFound(call, _) => {
            let (name, arguments) = call.split_once(' ').unwrap_or((call, ""));
            if let Some(property) = name.strip_prefix("get$").or(name.strip_prefix("set$")) {
                message = format!("no property `{property}` here{}", readable_types(arguments));
                if let Some(best) = nearest(property, &known.functions) {
                    notes.push(format!("help: did you mean the method `.{best}()`?"));
                }
            } else {
                let forms: Vec<&str> = known
                    .signatures
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, s)| s.as_str())
                    .collect();
                if forms.is_empty() && known.functions.iter().any(|f| f == name) {
                    // One of Rhai's own (`len`, `push`, …), for other types of value.
                    let types = readable_types(arguments);
                    message = format!("`{name}` is not defined for {types}");
                    notes.push(format!("help: {}", wrong_type_hint(name, &types)));
                } else if forms.is_empty() {
                    if let Some(best) = nearest(name, &known.functions) {
                        notes.push(format!("help: did you mean `{best}`?"));
                    }
                } else {
                    message = format!(
                        "`{name}` does not take these arguments: {}",
                        readable_types(arguments)
                    );
                    notes.push(format!("help: `{name}` is called as:"));
                    notes.extend(forms.iter().map(|f| format!("  {f}")));
                }
            }
        }
        EvalAltResult::ErrorPropertyNotFound(property, _) => {
            if let Some(best) = nearest(property, &known.properties) {
                notes.push(format!("help: did you mean `{best}`?"));
            }
        }
        _ => {}
    }
    render(src, &message, inner.position(), &notes)
}

/// What to say when a function of Rhai's own is called on a value it does not work on;
/// `types` as [`readable_types`] writes them, the receiver of a method first.
pub(crate) fn wrong_type_hint(name: &str, types: &str) -> String {
    let first = types
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split(", ")
        .next()
        .unwrap_or_default();
    let number = matches!(first, "int" | "float");
    if first.is_empty() {
        return format!("`{name}` needs arguments (a method: `value.{name}()`)");
    }
    match name {
        "len" | "is_empty" => {
            let mut hint =
                format!("`{name}` is for strings, arrays, maps and blobs; this value is {first}");
            if number {
                hint.push_str(
                    ": a number has no length (its digits: `x.to_string().len()`; to count things, `len` the array that holds them)",
                );
            }
            hint
        }
        "push" | "pop" | "insert" | "remove" | "contains" | "keys" | "values" | "sort" => {
            format!("`{name}` is for arrays, maps or strings; this value is {first}")
        }
        _ => format!("`{name}` exists for other types of value; this one is {first}"),
    }
}

/// Rhai's argument types as scripts know them: `(Cluster, &str | ImmutableString | String)`
/// → `(Cluster, string)`.
fn readable_types(arguments: &str) -> String {
    let inner = arguments
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')');
    let types: Vec<&str> = inner
        .split(", ")
        .filter(|t| !t.is_empty())
        .map(|t| match t.trim() {
            "&str | ImmutableString | String" | "ImmutableString" | "String" | "&str" => "string",
            "i64" | "INT" => "int",
            "f64" | "FLOAT" => "float",
            "Array" => "array",
            "Map" => "map",
            "FnPtr" => "Fn",
            other => other,
        })
        .collect();
    format!("({})", types.join(", "))
}

fn nearest<'a>(name: &str, known: &'a [String]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(name, k), k))
        .filter(|(d, k)| *d > 0 && *d <= 3.max(k.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval_error(script: &str) -> String {
        let engine = rhai::Engine::new();
        let err = engine.run(script).unwrap_err();
        let known = Known {
            functions: vec!["add_agent".to_string(), "start_master".to_string()],
            ..Known::default()
        };
        render_eval_error(
            &Source {
                path: "s.rhai",
                text: script,
            },
            &err,
            &known,
        )
    }

    #[test]
    fn runtime_errors_point_at_file_line_and_column_with_a_caret() {
        let out = eval_error("let x = 1;\nthrow \"boom\";\n");
        assert_eq!(
            out,
            "error: boom\n  --> s.rhai:2:1\n  |\n2 | throw \"boom\";\n  | ^\n"
        );
    }

    #[test]
    fn errors_inside_functions_show_the_call_chain() {
        let out = eval_error("fn inner() { throw \"deep\"; }\nfn outer() { inner() }\nouter();\n");
        assert!(out.starts_with("error: deep\n  --> s.rhai:1:14\n"), "{out}");
        assert!(out.contains("in call to `outer` at s.rhai:3:1"), "{out}");
        assert!(out.contains("in call to `inner` at s.rhai:2:14"), "{out}");
    }

    #[test]
    fn unknown_functions_get_a_suggestion() {
        let out = eval_error("add_agnet();");
        assert!(out.contains("help: did you mean `add_agent`?"), "{out}");
    }

    /// The real engine: its signatures and the properties of the maps it returns.
    fn api_error(script: &str) -> String {
        let engine = crate::script::engine::for_metadata();
        let err = engine.run(script).unwrap_err();
        render_eval_error(
            &Source {
                path: "s.rhai",
                text: script,
            },
            &err,
            &crate::script::engine::known(&engine),
        )
    }

    #[test]
    fn a_wrong_argument_type_shows_the_functions_signatures() {
        let out = api_error("let c = cluster();\nc.add_agent(\"cpus:2\");\n");
        assert!(
            out.starts_with(
                "error: `add_agent` does not take these arguments: (Cluster, string)\n  --> s.rhai:2:3\n"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "   = help: `add_agent` is called as:\n   =   c.add_agent() -> Agent\n   =   c.add_agent(options: map) -> Agent\n"
            ),
            "{out}"
        );
    }

    #[test]
    fn len_on_a_number_says_what_the_value_is_and_what_to_use() {
        let out = api_error("let n = 5;\nn.len()\n");
        assert!(
            out.starts_with("error: `len` is not defined for (int)\n  --> s.rhai:2:3\n"),
            "{out}"
        );
        assert!(
            out.contains("help: `len` is for strings, arrays, maps and blobs; this value is int: a number has no length"),
            "{out}"
        );
        let out = api_error("let c = 1.5;\nc.push(2)\n");
        assert!(
            out.contains("help: `push` is for arrays, maps or strings; this value is float"),
            "{out}"
        );
    }

    #[test]
    fn a_misspelt_property_gets_a_suggestion() {
        let out = api_error("let t = #{ message: \"hi\" };\nt.mesage\n");
        assert!(out.contains("help: did you mean `message`?"), "{out}");
        let out = api_error("let t = #{ message: \"hi\" };\nt.zzz\n");
        assert!(!out.contains("did you mean"), "{out}");
    }

    #[test]
    fn syntax_errors_render_with_position() {
        let script = "let x = ;\n";
        let err = rhai::Engine::new().compile(script).unwrap_err();
        let out = render_parse_error(
            &Source {
                path: "s.rhai",
                text: script,
            },
            &err,
        );
        assert!(out.starts_with("error: syntax error: "), "{out}");
        assert!(out.contains("--> s.rhai:1:9"), "{out}");
    }
}
