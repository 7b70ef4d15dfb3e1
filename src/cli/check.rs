//! `mmrun check [PATHS…]`: every mistake of every scenario that can be seen without running it
//! (see [`crate::script::check`]), all files at once. `mmrun run` checks first too, so a typo
//! is found before any cluster starts.

use super::{CliError, CliResult};
use crate::errors::WhileDoing;
use crate::exit_codes;
use crate::runner::{self, Scenario};
use crate::script::check::{Checker, render};
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct CheckArgs {
    /// Scenario files or directories (searched for *.rhai); default: scripts/
    paths: Vec<PathBuf>,
}

/// What checking some scenarios found.
pub struct Checked {
    /// Every mistake, rendered, file after file.
    pub text: String,
    pub files: usize,
    pub files_with_mistakes: usize,
    pub mistakes: usize,
    /// Some file does not compile.
    pub syntax: bool,
}

impl Checked {
    /// 0 when clean; 2 when a file does not compile (as when it runs); 4 for other mistakes.
    pub fn exit_code(&self) -> i32 {
        match (self.mistakes, self.syntax) {
            (0, _) => exit_codes::OK,
            (_, true) => exit_codes::USAGE,
            (_, false) => exit_codes::CHECK_FAILED,
        }
    }

    /// `3 mistakes in 2 of 5 files`.
    pub fn summary(&self) -> String {
        let plural = |n: usize, word: &str| match n {
            1 => format!("1 {word}"),
            n => format!("{n} {word}s"),
        };
        match self.mistakes {
            0 => format!("{}: no mistakes", plural(self.files, "file")),
            n => format!(
                "{} in {} of {}",
                plural(n, "mistake"),
                self.files_with_mistakes,
                plural(self.files, "file")
            ),
        }
    }
}

/// Checks each scenario with one engine. Builds (and drops) a runtime of its own: call it
/// outside async code.
pub fn check_scenarios(scenarios: &[Scenario]) -> Checked {
    let checker = Checker::new();
    let mut checked = Checked {
        text: String::new(),
        files: scenarios.len(),
        files_with_mistakes: 0,
        mistakes: 0,
        syntax: false,
    };
    for scenario in scenarios {
        let text = match std::fs::read_to_string(&scenario.path) {
            Ok(text) => text,
            Err(e) => {
                checked
                    .text
                    .push_str(&format!("{}: cannot read: {e}\n", scenario.name));
                checked.files_with_mistakes += 1;
                checked.mistakes += 1;
                checked.syntax = true;
                continue;
            }
        };
        let mistakes = checker.check(&text);
        if mistakes.is_empty() {
            continue;
        }
        checked.files_with_mistakes += 1;
        checked.mistakes += mistakes.len();
        for m in &mistakes {
            checked.syntax |= m.syntax;
            checked.text.push_str(&render(&scenario.name, &text, m));
            checked.text.push('\n');
        }
    }
    checked
}

pub fn run(args: CheckArgs) -> CliResult {
    let scenarios = runner::discover(&args.paths).map_err(CliError::usage)?;
    let checked = check_scenarios(&scenarios);
    print!("{}", checked.text);
    println!("mmrun check: {}", checked.summary());
    CliError::from_exit_code(checked.exit_code())
}

/// `mmrun run` checks the scenarios it is about to run; with a mistake it starts none.
pub async fn before_run(scenarios: &[Scenario]) -> CliResult {
    let scenarios = scenarios.to_vec();
    let checked = tokio::task::spawn_blocking(move || check_scenarios(&scenarios))
        .await
        .map_err(|e| CliError::failed(WhileDoing::new("checking the scenarios failed", e)))?;
    if checked.mistakes == 0 {
        return Ok(());
    }
    print!("{}", checked.text);
    let message = format!(
        "{}; no scenario was started (fix them, or run with --no-check)",
        checked.summary()
    );
    match checked.exit_code() {
        exit_codes::USAGE => Err(CliError::usage(message)),
        _ => Err(CliError::Checked(message.into())),
    }
}
