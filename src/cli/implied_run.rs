//! `mmrun scripts/*.rhai` means `mmrun run scripts/*.rhai`: the command people put in CI names
//! the scenarios and nothing else. Decided on the raw arguments before clap sees them, so `run`'s
//! options all work in this form too, and a first word that is neither a subcommand nor a path
//! gets an error that says both, instead of clap's "unrecognized subcommand".

use std::ffi::OsString;
use std::path::Path;

/// The arguments with `run` inserted when they start with scenario paths (or with `run`'s
/// options), unchanged otherwise; an error for a first word that is neither a subcommand nor an
/// existing file or directory. A subcommand wins over a path of the same name (`./up` names the
/// path). `subcommands` are the visible ones (listed in the error), `hidden` the others.
pub fn with_implied_run(
    mut args: Vec<OsString>,
    subcommands: &[String],
    hidden: &[String],
) -> Result<Vec<OsString>, NotACommandOrPath> {
    let Some(first) = args.get(1) else {
        // `mmrun` alone: clap prints the help.
        return Ok(args);
    };
    let text = first.to_string_lossy();
    let implied = if let Some(option) = text.strip_prefix('-') {
        // `mmrun -j 4 scripts/`: an option of `run`'s, unless it is mmrun's own.
        !matches!(option, "h" | "-help" | "V" | "-version")
    } else if subcommands.iter().chain(hidden).any(|s| *s == text) {
        false
    } else if Path::new(first).exists() {
        true
    } else {
        return Err(NotACommandOrPath {
            word: text.into_owned(),
            subcommands: subcommands.to_vec(),
        });
    };
    if implied {
        args.insert(1, OsString::from("run"));
    }
    Ok(args)
}

/// A first word that is neither a subcommand nor an existing path.
#[derive(Debug, thiserror::Error)]
#[error("{}", neither(.word, .subcommands))]
pub struct NotACommandOrPath {
    word: String,
    subcommands: Vec<String>,
}

/// What to say about a first word that is neither a subcommand nor a path.
fn neither(word: &str, subcommands: &[String]) -> String {
    let mut message = format!(
        "`{word}` is neither a subcommand nor an existing file or directory\n\
         \n  to run scenarios, name them: mmrun scripts/*.rhai  (the same as mmrun run scripts/*.rhai)\
         \n  subcommands: {}",
        subcommands.join(", ")
    );
    let closest = subcommands
        .iter()
        .map(|s| (strsim::damerau_levenshtein(word, s), s))
        .filter(|(distance, s)| *distance <= 2 && *distance < s.len())
        .min();
    if let Some((_, name)) = closest {
        message.push_str(&format!("\n  did you mean `{name}`?"));
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subcommands() -> Vec<String> {
        ["run", "review", "up", "ps", "down", "node", "clean", "help"]
            .map(String::from)
            .to_vec()
    }

    /// The arguments as `with_implied_run` leaves them.
    fn implied(args: &[&str]) -> Result<Vec<String>, NotACommandOrPath> {
        let args = args.iter().map(OsString::from).collect();
        with_implied_run(args, &subcommands(), &["script-api".into()]).map(|args| {
            args.into_iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        })
    }

    #[test]
    fn paths_and_run_options_first_mean_run() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.rhai");
        std::fs::write(&file, "").unwrap();
        let file = file.to_str().unwrap();
        assert_eq!(
            implied(&["mmrun", file, "-j", "4"]).unwrap(),
            ["mmrun", "run", file, "-j", "4"]
        );
        let dir = dir.path().to_str().unwrap();
        assert_eq!(implied(&["mmrun", dir]).unwrap(), ["mmrun", "run", dir]);
        assert_eq!(
            implied(&["mmrun", "--junit", "x.xml", dir]).unwrap(),
            ["mmrun", "run", "--junit", "x.xml", dir]
        );
    }

    #[test]
    fn subcommands_help_version_and_nothing_are_left_alone() {
        for args in [
            &["mmrun"][..],
            &["mmrun", "run", "scripts"],
            &["mmrun", "up", "--agents", "2"],
            &["mmrun", "--help"],
            &["mmrun", "-V"],
            &["mmrun", "help", "run"],
            &["mmrun", "script-api"],
        ] {
            assert_eq!(implied(args).unwrap(), args, "{args:?}");
        }
    }

    #[test]
    fn a_word_that_is_neither_says_so_and_suggests_the_closest() {
        let e = implied(&["mmrun", "reveiw"]).unwrap_err().to_string();
        assert!(
            e.starts_with("`reveiw` is neither a subcommand nor an existing file or directory"),
            "{e}"
        );
        assert!(e.contains("did you mean `review`?"), "{e}");
        assert!(e.contains("subcommands: run, review, up"), "{e}");
        let e = implied(&["mmrun", "scripts/nope.rhai"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("mmrun scripts/*.rhai"), "{e}");
        assert!(!e.contains("did you mean"), "{e}");
    }
}
