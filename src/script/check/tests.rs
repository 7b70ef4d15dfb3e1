use super::*;

fn check(text: &str) -> Vec<Mistake> {
    Checker::new().check(text)
}

fn one(text: &str) -> Mistake {
    let mut all = check(text);
    assert_eq!(all.len(), 1, "{all:#?}");
    all.remove(0)
}

#[test]
fn an_unknown_function_gets_the_nearest_name() {
    let m = one("let c = cluster();\nadd_agnet(c);\n");
    assert_eq!((m.line, m.column), (2, 1));
    assert_eq!(m.message, "no function `add_agnet` exists");
    assert_eq!(m.help, vec!["did you mean `add_agent`?"]);
    assert!(!m.syntax);
}

#[test]
fn a_misspelt_method_gets_the_nearest_method() {
    let m = one("let c = cluster();\nc.strat_master();\n");
    assert_eq!((m.line, m.column), (2, 3));
    assert_eq!(m.message, "no method `.strat_master()` exists");
    assert_eq!(m.help, vec!["did you mean `.start_master()`?"]);
}

#[test]
fn a_wrong_number_of_arguments_shows_the_forms() {
    let m = one("let c = cluster();\nc.add_agent(#{}, 2);\n");
    assert_eq!((m.line, m.column), (2, 3));
    assert_eq!(
        m.message,
        "`.add_agent()` is given 2 arguments (besides the value before the dot); it takes 0 or 1"
    );
    assert!(
        m.help
            .contains(&"  c.add_agent(options: map) -> Agent".to_string()),
        "{m:#?}"
    );
    let m = one("cluster(#{}, 1);\n");
    assert_eq!(m.message, "`cluster` is given 2 arguments; it takes 0 or 1");
}

#[test]
fn an_unknown_option_key_gets_the_key_meant_even_in_nested_maps() {
    let all = check(
        "let c = cluster(#{ agnets: 1 });\n\
         c.submit_framework(#{ name: \"fw\", tasks: [#{ name: \"t\", command: \"true\",\n\
         health_check: #{ http: #{ prot: 80 } } }] });\n",
    );
    let found: Vec<(usize, usize, &str, &str)> = all
        .iter()
        .map(|m| (m.line, m.column, m.message.as_str(), m.help[0].as_str()))
        .collect();
    assert_eq!(
        found,
        vec![
            (
                1,
                20,
                "cluster: unknown option `agnets`",
                "did you mean `agents`?"
            ),
            (
                2,
                57,
                "submit_framework tasks: unknown option `command`",
                "did you mean `cmd`?"
            ),
            (
                3,
                27,
                "submit_framework tasks health_check http: unknown option `prot`",
                "did you mean `port`?"
            ),
        ],
        "{all:#?}"
    );
    let m = one("cluster(#{ zzz: 1 });\n");
    assert!(
        m.help[0].starts_with("the options are: agent_ping_timeout, "),
        "{m:?}"
    );
}

#[test]
fn what_the_script_defines_is_not_a_mistake() {
    let text = r#"
fn start(c) { c.start_master(); c }
fn twice(x, y) { x + y }
fn describe() { this.name() }
let c = start(cluster());
let f = |a| a + 1;
let n = f(twice(1, 2));
let obj = #{ greet: || 42 };
obj.greet();
let later = #{};
later.wave = |x| x;
later.wave(1);
let fw = c.submit_framework(#{ name: "fw" });
fw.describe();
for (t, i) in fw.tasks() { print(`${i} ${t.name}`); }
let s = "abc"; s.len(); [1, 2].len(); type_of(s); Fn("twice").call(1, 2);
"#;
    assert_eq!(check(text), vec![]);
}

#[test]
fn len_on_what_is_certainly_a_number_says_so() {
    let text = "let c = cluster(#{ agents: 1 });\nlet fw = c.submit_framework(#{ name: \"fw\" });\nlet n = fw.count(\"TASK_RUNNING\").len();\n5.len();\n";
    let all = check(text);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!((all[0].line, all[0].column), (3, 34));
    assert_eq!(
        all[0].message,
        "`.len()` is not defined for int: the value before the dot is a number: `count(…)` always returns an int"
    );
    assert!(
        all[0].help[0].starts_with("`len` is for strings, arrays, maps and blobs; this value is int: a number has no length"),
        "{all:#?}"
    );
    assert_eq!((all[1].line, all[1].column), (4, 3));
    // What may be a number, or is one of many types, is not a mistake.
    assert_eq!(
        check(
            "let c = cluster();\nc.agents().len();\nlet x = 5;\nx.len();\n(1.5).to_string().len();\n5.to_string();\nc.agents()[0].name().len();\nlet a = [\"x\"]; a[0].len();\n"
        ),
        vec![]
    );
}

#[test]
fn a_map_given_as_data_is_not_an_option_map() {
    assert_eq!(check("snapshot(\"s\", #{ anything: 1 });\n"), vec![]);
}

#[test]
fn a_syntax_error_is_reported_at_its_position() {
    let m = one("let c = cluster();\nlet x = ;\n");
    assert!(m.syntax);
    assert_eq!((m.line, m.column), (2, 9));
    assert!(m.message.starts_with("syntax error: "), "{m:?}");
}

#[test]
fn mistakes_render_with_file_line_column_the_line_and_help() {
    let text = "let c = cluster();\nc.strat_master();\n";
    let m = one(text);
    assert_eq!(
        render("scripts/a.rhai", text, &m),
        "scripts/a.rhai:2:3: no method `.strat_master()` exists\n  |\n2 | c.strat_master();\n  |   ^\n   = help: did you mean `.start_master()`?\n"
    );
}

/// Every scenario mmrun ships, and every one its tests run, checks clean.
#[test]
fn the_shipped_and_tested_scripts_check_clean() {
    let checker = Checker::new();
    let mut files = Vec::new();
    for dir in ["scripts", "tests"] {
        let mut stack = vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rhai") {
                    files.push(path);
                }
            }
        }
    }
    assert!(files.len() > 20, "{files:?}");
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let mistakes = checker.check(&text);
        let shown: Vec<String> = mistakes
            .iter()
            .map(|m| render(&path.display().to_string(), &text, m))
            .collect();
        assert!(mistakes.is_empty(), "{}", shown.join("\n"));
    }
}

/// The functions `option_keys` lists are the ones that take an option map: each takes a map,
/// and every function with an `options` parameter is listed.
#[test]
fn the_option_key_table_names_the_functions_that_take_option_maps() {
    let engine = crate::script::engine::for_metadata();
    let json = engine.gen_fn_metadata_to_json(false).unwrap();
    let meta: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut takes_map = BTreeSet::new();
    let mut takes_options = BTreeSet::new();
    for f in meta["functions"].as_array().unwrap() {
        let name = f["name"].as_str().unwrap().to_string();
        for p in f["params"].as_array().into_iter().flatten() {
            if p["type"]
                .as_str()
                .unwrap_or("")
                .to_lowercase()
                .contains("map")
            {
                takes_map.insert(name.clone());
            }
            if p["name"].as_str() == Some("options") {
                takes_options.insert(name.clone());
            }
        }
    }
    let listed: BTreeSet<String> = option_keys::FUNCTIONS
        .iter()
        .map(|(f, _)| f.to_string())
        .collect();
    assert!(listed.is_subset(&takes_map), "{listed:?} {takes_map:?}");
    assert!(takes_options.is_subset(&listed), "{takes_options:?}");
}
