//! When snapshots are written, steered the way insta users expect: `--accept`, `INSTA_UPDATE`,
//! `INSTA_FORCE_PASS` and `CI`. The functions take the variables' values rather than reading
//! the process environment, so they can be tested without touching it.

use super::error::SnapshotError;

/// What to do with a snapshot that is new or differs from the stored one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateMode {
    /// `New` locally, `No` on CI: a developer gets `.snap.new` files to review, CI changes nothing.
    Auto,
    /// Write the `.snap` itself: the new value is accepted at once and the check passes.
    Always,
    /// Write a `.snap.new` beside the `.snap` for `mmrun review`; the check fails.
    New,
    /// Write nothing; the check fails.
    No,
}

const INSTA_UPDATE_VALUES: &str = "auto, always, new, unseen, no";
const BOOLEAN_VALUES: &str = "1, 0, true, false";

impl UpdateMode {
    /// An explicit `--accept` means `Always`; otherwise `INSTA_UPDATE` decides (as insta reads
    /// it, `1` and `force` meaning always; `unseen` — insta's "write new snapshots, keep changed
    /// ones pending" — is taken as `New`, the cautious half); unset or empty means `Auto`.
    pub fn resolve(accept: bool, insta_update: Option<&str>) -> Result<UpdateMode, SnapshotError> {
        if accept {
            return Ok(UpdateMode::Always);
        }
        match insta_update.map(str::trim).unwrap_or("") {
            "" | "auto" => Ok(UpdateMode::Auto),
            "always" | "1" | "force" => Ok(UpdateMode::Always),
            "new" | "unseen" => Ok(UpdateMode::New),
            "no" => Ok(UpdateMode::No),
            other => Err(SnapshotError::InvalidSetting {
                variable: "INSTA_UPDATE",
                value: other.to_owned(),
                expected: INSTA_UPDATE_VALUES,
            }),
        }
    }

    /// The mode to act on: `Auto` becomes `No` on CI and `New` elsewhere.
    pub fn without_auto(self, on_ci: bool) -> UpdateMode {
        match self {
            UpdateMode::Auto if on_ci => UpdateMode::No,
            UpdateMode::Auto => UpdateMode::New,
            concrete => concrete,
        }
    }
}

/// Whether `CI` (its value) says we run on CI: set, non-empty, and not `false` or `0`.
pub fn is_ci(ci: Option<&str>) -> bool {
    !matches!(ci.map(str::trim), None | Some("" | "false" | "0"))
}

/// `INSTA_FORCE_PASS`: report mismatches but do not fail on them.
pub fn force_pass(insta_force_pass: Option<&str>) -> Result<bool, SnapshotError> {
    match insta_force_pass.map(str::trim).unwrap_or("") {
        "" | "0" | "false" => Ok(false),
        "1" | "true" => Ok(true),
        other => Err(SnapshotError::InvalidSetting {
            variable: "INSTA_FORCE_PASS",
            value: other.to_owned(),
            expected: BOOLEAN_VALUES,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_wins_over_insta_update() {
        assert_eq!(
            UpdateMode::resolve(true, Some("no")).unwrap(),
            UpdateMode::Always
        );
    }

    #[test]
    fn insta_update_values_map_like_insta() {
        let cases = [
            (None, UpdateMode::Auto),
            (Some(""), UpdateMode::Auto),
            (Some("auto"), UpdateMode::Auto),
            (Some("always"), UpdateMode::Always),
            (Some("1"), UpdateMode::Always),
            (Some("force"), UpdateMode::Always),
            (Some("new"), UpdateMode::New),
            (Some("unseen"), UpdateMode::New),
            (Some("no"), UpdateMode::No),
        ];
        for (value, expected) in cases {
            assert_eq!(
                UpdateMode::resolve(false, value).unwrap(),
                expected,
                "{value:?}"
            );
        }
    }

    #[test]
    fn an_unknown_insta_update_value_is_an_error_naming_the_choices() {
        let error = UpdateMode::resolve(false, Some("yes")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "INSTA_UPDATE=`yes` is not understood: use one of auto, always, new, unseen, no"
        );
    }

    #[test]
    fn auto_is_new_locally_and_no_on_ci() {
        assert_eq!(UpdateMode::Auto.without_auto(false), UpdateMode::New);
        assert_eq!(UpdateMode::Auto.without_auto(true), UpdateMode::No);
        assert_eq!(UpdateMode::Always.without_auto(true), UpdateMode::Always);
    }

    #[test]
    fn ci_is_any_value_but_empty_false_or_zero() {
        assert!(is_ci(Some("true")));
        assert!(is_ci(Some("1")));
        assert!(is_ci(Some("github")));
        assert!(!is_ci(None));
        assert!(!is_ci(Some("")));
        assert!(!is_ci(Some("false")));
        assert!(!is_ci(Some("0")));
    }

    #[test]
    fn force_pass_reads_one_and_true() {
        assert!(force_pass(Some("1")).unwrap());
        assert!(force_pass(Some("true")).unwrap());
        assert!(!force_pass(Some("0")).unwrap());
        assert!(!force_pass(None).unwrap());
        assert_eq!(
            force_pass(Some("maybe")).unwrap_err().to_string(),
            "INSTA_FORCE_PASS=`maybe` is not understood: use one of 1, 0, true, false"
        );
    }
}
