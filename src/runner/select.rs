//! Narrowing the discovered scenarios: `--filter REGEX` and `--shard K/N`.
//!
//! The filter is applied first, so the shards of a filtered run split what is left evenly.
//! Sharding sorts by name before dealing, so every CI job computes the same split
//! whatever order the paths were given in.

use super::scenario::Scenario;
use regex::Regex;
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error("invalid --filter: {0}")]
    InvalidFilter(String),
    #[error("invalid --shard '{given}': {problem}")]
    InvalidShard { given: String, problem: String },
    #[error(
        "no scenario name matches --filter '{pattern}' ({available} found before filtering); \
             the filter is a regular expression searched for anywhere in names like scripts/hello.rhai"
    )]
    NoMatch { pattern: String, available: usize },
}

/// `--filter REGEX`: keeps scenarios whose name contains a match (anchor with `^` and `$`).
#[derive(Debug, Clone)]
pub struct Filter(Regex);

impl Filter {
    pub fn new(pattern: &str) -> Result<Filter, SelectError> {
        Regex::new(pattern)
            .map(Filter)
            .map_err(|e| SelectError::InvalidFilter(e.to_string()))
    }

    pub fn matches(&self, scenario: &Scenario) -> bool {
        self.0.is_match(&scenario.name)
    }
}

impl FromStr for Filter {
    type Err = SelectError;
    fn from_str(pattern: &str) -> Result<Filter, SelectError> {
        Filter::new(pattern)
    }
}

/// `--shard K/N`: the K-th (1-based) of N disjoint slices that together cover every scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: usize,
    count: usize,
}

impl Shard {
    pub fn new(index: usize, count: usize) -> Result<Shard, SelectError> {
        let invalid = |problem: String| SelectError::InvalidShard {
            given: format!("{index}/{count}"),
            problem,
        };
        if count == 0 {
            return Err(invalid(
                "N, the number of shards, must be at least 1".into(),
            ));
        }
        if index == 0 || index > count {
            return Err(invalid(format!(
                "K is 1-based and must be between 1 and {count}"
            )));
        }
        Ok(Shard { index, count })
    }

    /// Deals the scenarios, sorted by name, round-robin into `count` shards and keeps this one.
    /// Round-robin rather than contiguous chunks keeps shards balanced when one directory
    /// holds many slow scenarios.
    pub fn take(self, mut scenarios: Vec<Scenario>) -> Vec<Scenario> {
        scenarios.sort_by(|a, b| a.name.cmp(&b.name));
        scenarios
            .into_iter()
            .skip(self.index - 1)
            .step_by(self.count)
            .collect()
    }
}

impl FromStr for Shard {
    type Err = SelectError;
    fn from_str(given: &str) -> Result<Shard, SelectError> {
        let invalid = |problem: &str| SelectError::InvalidShard {
            given: given.into(),
            problem: problem.into(),
        };
        let (index, count) = given
            .split_once('/')
            .ok_or_else(|| invalid("write K/N, e.g. 2/4 for the second of four shards"))?;
        let number = |text: &str| {
            text.trim()
                .parse::<usize>()
                .map_err(|_| invalid("K and N must be whole numbers, e.g. 2/4"))
        };
        Shard::new(number(index)?, number(count)?).map_err(|e| match e {
            SelectError::InvalidShard { problem, .. } => SelectError::InvalidShard {
                given: given.into(),
                problem,
            },
            other => other,
        })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Applies `--filter`, then `--shard`. A filter that matches nothing is an error (almost always
/// a typo); an empty shard is not, since a CI matrix may have more shards than scenarios.
pub fn select(
    scenarios: Vec<Scenario>,
    filter: Option<&Filter>,
    shard: Option<Shard>,
) -> Result<Vec<Scenario>, SelectError> {
    let available = scenarios.len();
    let mut selected = scenarios;
    if let Some(filter) = filter {
        selected.retain(|s| filter.matches(s));
        if selected.is_empty() && available > 0 {
            return Err(SelectError::NoMatch {
                pattern: filter.0.as_str().into(),
                available,
            });
        }
    }
    if let Some(shard) = shard {
        selected = shard.take(selected);
    }
    Ok(selected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn scenarios(names: &[&str]) -> Vec<Scenario> {
        names
            .iter()
            .map(|n| Scenario::from_path(PathBuf::from(n)))
            .collect()
    }

    fn names(scenarios: &[Scenario]) -> Vec<&str> {
        scenarios.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn filter_searches_the_name() {
        let all = scenarios(&["scripts/a.rhai", "scripts/net/b.rhai", "other/net.rhai"]);
        let filter = Filter::new("net").unwrap();
        let selected = select(all.clone(), Some(&filter), None).unwrap();
        assert_eq!(names(&selected), ["scripts/net/b.rhai", "other/net.rhai"]);

        let anchored = Filter::new("^scripts/").unwrap();
        let selected = select(all, Some(&anchored), None).unwrap();
        assert_eq!(names(&selected), ["scripts/a.rhai", "scripts/net/b.rhai"]);
    }

    #[test]
    fn invalid_filter_is_a_usage_error() {
        let error = "scripts/(".parse::<Filter>().unwrap_err();
        assert!(matches!(error, SelectError::InvalidFilter(_)));
        assert!(
            error.to_string().starts_with("invalid --filter: "),
            "{error}"
        );
    }

    #[test]
    fn filter_matching_nothing_is_an_error() {
        let filter = Filter::new("nope").unwrap();
        let error = select(scenarios(&["a.rhai", "b.rhai"]), Some(&filter), None).unwrap_err();
        assert_eq!(
            error,
            SelectError::NoMatch {
                pattern: "nope".into(),
                available: 2
            }
        );
    }

    #[test]
    fn shards_deal_sorted_names_round_robin() {
        let all = scenarios(&["e", "a", "d", "b", "c"]);
        let shard = |k| {
            names(&select(all.clone(), None, Some(Shard::new(k, 2).unwrap())).unwrap()).join(" ")
        };
        assert_eq!(shard(1), "a c e");
        assert_eq!(shard(2), "b d");
    }

    #[test]
    fn shards_cover_everything_exactly_once() {
        let all = scenarios(&["1", "2", "3", "4", "5", "6", "7"]);
        let mut seen: Vec<String> = (1..=3)
            .flat_map(|k| Shard::new(k, 3).unwrap().take(all.clone()))
            .map(|s| s.name)
            .collect();
        seen.sort();
        assert_eq!(seen, ["1", "2", "3", "4", "5", "6", "7"]);
    }

    #[test]
    fn shards_apply_after_the_filter_and_may_be_empty() {
        let all = scenarios(&["net/a", "net/b", "disk/c"]);
        let filter = Filter::new("^net/").unwrap();
        let third = select(all, Some(&filter), Some(Shard::new(3, 3).unwrap())).unwrap();
        assert!(third.is_empty());
    }

    #[test]
    fn shard_parses_k_of_n() {
        assert_eq!("2/4".parse::<Shard>().unwrap(), Shard::new(2, 4).unwrap());
        assert_eq!("2/4".parse::<Shard>().unwrap().to_string(), "2/4");
    }

    #[test]
    fn shard_rejects_what_cannot_be_a_slice() {
        let problem = |given: &str| given.parse::<Shard>().unwrap_err().to_string();
        assert_eq!(
            problem("0/3"),
            "invalid --shard '0/3': K is 1-based and must be between 1 and 3"
        );
        assert_eq!(
            problem("4/3"),
            "invalid --shard '4/3': K is 1-based and must be between 1 and 3"
        );
        assert_eq!(
            problem("1/0"),
            "invalid --shard '1/0': N, the number of shards, must be at least 1"
        );
        assert_eq!(
            problem("2"),
            "invalid --shard '2': write K/N, e.g. 2/4 for the second of four shards"
        );
        assert_eq!(
            problem("a/b"),
            "invalid --shard 'a/b': K and N must be whole numbers, e.g. 2/4"
        );
    }
}
