//! A unified diff of two snapshot bodies, for terminals (coloured) and for reports (plain).

use similar::{ChangeTag, TextDiff};
use std::fmt::Write;

/// Lines of unchanged context shown around each change.
const CONTEXT_LINES: usize = 3;

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// `--- old` / `+++ new`, then hunks with `-` for the stored snapshot's lines, `+` for the new
/// value's and a few lines of context. Trailing whitespace at the end of either text is
/// ignored (as insta does when comparing); equal texts give an empty string.
pub fn render_diff(old: &str, new: &str, color: bool) -> String {
    let old = format!("{}\n", old.trim_end());
    let new = format!("{}\n", new.trim_end());
    if old == new {
        return String::new();
    }
    let paint = |style: &str, line: &str| {
        if color {
            format!("{style}{line}{RESET}\n")
        } else {
            format!("{line}\n")
        }
    };

    let mut out = paint(BOLD, "--- old");
    out.push_str(&paint(BOLD, "+++ new"));
    let diff = TextDiff::from_lines(&old, &new);
    for hunk in diff
        .unified_diff()
        .context_radius(CONTEXT_LINES)
        .iter_hunks()
    {
        out.push_str(&paint(CYAN, &hunk.header().to_string()));
        for change in hunk.iter_changes() {
            let line = change.value().trim_end_matches(['\n', '\r']);
            let _ = match change.tag() {
                ChangeTag::Delete => write!(out, "{}", paint(RED, &format!("-{line}"))),
                ChangeTag::Insert => write!(out, "{}", paint(GREEN, &format!("+{line}"))),
                ChangeTag::Equal => writeln!(out, " {line}"),
            };
        }
    }
    out
}

/// A snapshot with nothing to compare against: every line marked `+`.
pub fn render_added(new: &str, color: bool) -> String {
    new.trim_end()
        .lines()
        .map(|line| {
            if color {
                format!("{GREEN}+{line}{RESET}\n")
            } else {
                format!("+{line}\n")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "a: 1\nb: 2\nc: 3\nd: 4\ne: 5\nf: 6\ng: 7\nh: 8\n";

    #[test]
    fn shows_removed_and_added_lines_with_three_lines_of_context() {
        let new = OLD.replace("e: 5", "e: 50");
        assert_eq!(
            render_diff(OLD, &new, false),
            "--- old\n+++ new\n@@ -2,7 +2,7 @@\n b: 2\n c: 3\n d: 4\n-e: 5\n+e: 50\n f: 6\n g: 7\n h: 8\n"
        );
    }

    #[test]
    fn colours_only_when_asked() {
        let coloured = render_diff("a: 1\n", "a: 2\n", true);
        assert_eq!(
            coloured,
            "\x1b[1m--- old\x1b[0m\n\x1b[1m+++ new\x1b[0m\n\x1b[36m@@ -1 +1 @@\x1b[0m\n\
             \x1b[31m-a: 1\x1b[0m\n\x1b[32m+a: 2\x1b[0m\n"
        );
        assert!(!render_diff("a: 1\n", "a: 2\n", false).contains('\x1b'));
    }

    #[test]
    fn a_new_snapshot_is_all_added_lines() {
        assert_eq!(
            render_added("a: 1\nb:\n- 2\n\n", false),
            "+a: 1\n+b:\n+- 2\n"
        );
        assert_eq!(render_added("a: 1", true), "\x1b[32m+a: 1\x1b[0m\n");
    }

    #[test]
    fn trailing_whitespace_at_the_end_is_no_difference() {
        assert_eq!(render_diff("a: 1\n\n  \n", "a: 1", false), "");
    }
}
