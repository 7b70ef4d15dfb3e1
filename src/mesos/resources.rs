//! Mesos resources: the v1 `Resource` wire type, the `--resources` flag syntax, and the
//! arithmetic the master's allocator and the agent need (add, subtract, contains).

use super::values::{InvalidValue, Ranges, Scalar, Set, ValueType, round_scalar};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AllocationInfo {
    pub role: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ValueType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalar: Option<Scalar>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranges: Option<Ranges>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<Set>,
    /// The pre-refinement reservation format: `"*"` means unreserved. Mesos still writes it for
    /// frameworks without RESERVATION_REFINEMENT, which is every framework mmrun serves.
    #[serde(default = "unreserved", skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation_info: Option<AllocationInfo>,
}

fn unreserved() -> Option<String> {
    Some("*".into())
}

impl Resource {
    pub fn scalar(name: &str, value: f64) -> Resource {
        Resource {
            name: name.into(),
            kind: ValueType::Scalar,
            scalar: Some(Scalar {
                value: round_scalar(value),
            }),
            ranges: None,
            set: None,
            role: unreserved(),
            allocation_info: None,
        }
    }

    pub fn ranges(name: &str, ranges: Ranges) -> Resource {
        Resource {
            kind: ValueType::Ranges,
            scalar: None,
            ranges: Some(ranges),
            ..Resource::scalar(name, 0.0)
        }
    }

    pub fn set(name: &str, set: Set) -> Resource {
        Resource {
            kind: ValueType::Set,
            scalar: None,
            set: Some(set),
            ..Resource::scalar(name, 0.0)
        }
    }

    fn role(&self) -> &str {
        self.role.as_deref().unwrap_or("*")
    }

    fn same_kind(&self, other: &Resource) -> bool {
        self.name == other.name && self.kind == other.kind && self.role() == other.role()
    }

    fn is_empty(&self) -> bool {
        match self.kind {
            ValueType::Scalar => self.scalar.as_ref().is_none_or(|s| s.value <= 0.0),
            ValueType::Ranges => self.ranges.as_ref().is_none_or(Ranges::is_empty),
            ValueType::Set => self.set.as_ref().is_none_or(|s| s.item.is_empty()),
            ValueType::Text => true,
        }
    }

    /// Checks what Mesos's `Resources::validate` checks, so a bad task is refused with a reason.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        let ok = match self.kind {
            ValueType::Scalar => self
                .scalar
                .as_ref()
                .is_some_and(|s| s.value.is_finite() && s.value >= 0.0),
            ValueType::Ranges => self.ranges.is_some(),
            ValueType::Set => self.set.is_some(),
            ValueType::Text => false,
        };
        if self.name.is_empty() {
            return Err("resource has an empty name".into());
        }
        if ok {
            Ok(())
        } else {
            Err(format!(
                "resource '{}' is not a valid {:?} resource",
                self.name, self.kind
            )
            .into())
        }
    }
}

/// A normalised bag of resources: one entry per (name, type, role), empty entries dropped.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Resources(Vec<Resource>);

impl Resources {
    pub fn new(items: impl IntoIterator<Item = Resource>) -> Resources {
        let mut r = Resources::default();
        for item in items {
            r.add_one(item);
        }
        r
    }

    pub fn iter(&self) -> impl Iterator<Item = &Resource> {
        self.0.iter()
    }

    pub fn into_vec(self) -> Vec<Resource> {
        self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn add_one(&mut self, mut item: Resource) {
        item.allocation_info = None;
        if item.is_empty() {
            return;
        }
        if let Some(existing) = self.0.iter_mut().find(|r| r.same_kind(&item)) {
            match item.kind {
                ValueType::Scalar => {
                    let s = existing.scalar.get_or_insert(Scalar { value: 0.0 });
                    s.value = round_scalar(s.value + item.scalar.map_or(0.0, |x| x.value));
                }
                ValueType::Ranges => {
                    let merged = existing
                        .ranges
                        .clone()
                        .unwrap_or_default()
                        .union(&item.ranges.unwrap_or_default());
                    existing.ranges = Some(merged);
                }
                ValueType::Set => {
                    let mut items = existing.set.clone().unwrap_or_default().item;
                    items.extend(item.set.unwrap_or_default().item);
                    existing.set = Some(Set::new(items));
                }
                ValueType::Text => {}
            }
        } else {
            self.0.push(item);
        }
    }

    pub fn add(&self, other: &Resources) -> Resources {
        let mut out = self.clone();
        for r in &other.0 {
            out.add_one(r.clone());
        }
        out
    }

    /// `self - other`; amounts that would go negative stop at zero (and are dropped).
    pub fn subtract(&self, other: &Resources) -> Resources {
        let mut out = Vec::with_capacity(self.0.len());
        for mine in &self.0 {
            let mut left = mine.clone();
            for theirs in other.0.iter().filter(|o| o.same_kind(mine)) {
                match mine.kind {
                    ValueType::Scalar => {
                        let v = left.scalar.as_ref().map_or(0.0, |s| s.value)
                            - theirs.scalar.as_ref().map_or(0.0, |s| s.value);
                        left.scalar = Some(Scalar {
                            value: round_scalar(v.max(0.0)),
                        });
                    }
                    ValueType::Ranges => {
                        left.ranges = Some(
                            left.ranges
                                .clone()
                                .unwrap_or_default()
                                .difference(&theirs.ranges.clone().unwrap_or_default()),
                        );
                    }
                    ValueType::Set => {
                        let drop = theirs.set.clone().unwrap_or_default().item;
                        let keep = left
                            .set
                            .clone()
                            .unwrap_or_default()
                            .item
                            .into_iter()
                            .filter(|i| !drop.contains(i));
                        left.set = Some(Set::new(keep));
                    }
                    ValueType::Text => {}
                }
            }
            if !left.is_empty() {
                out.push(left);
            }
        }
        Resources(out)
    }

    /// Every resource in `other` is available in `self`.
    pub fn contains(&self, other: &Resources) -> bool {
        other.0.iter().all(|theirs| {
            self.0
                .iter()
                .find(|mine| mine.same_kind(theirs))
                .is_some_and(|mine| match theirs.kind {
                    ValueType::Scalar => {
                        round_scalar(
                            mine.scalar.as_ref().map_or(0.0, |s| s.value)
                                - theirs.scalar.as_ref().map_or(0.0, |s| s.value),
                        ) >= 0.0
                    }
                    ValueType::Ranges => mine
                        .ranges
                        .clone()
                        .unwrap_or_default()
                        .contains(&theirs.ranges.clone().unwrap_or_default()),
                    ValueType::Set => {
                        let have = &mine.set.as_ref().map(|s| &s.item);
                        theirs
                            .set
                            .iter()
                            .flat_map(|s| &s.item)
                            .all(|i| have.is_some_and(|h| h.contains(i)))
                    }
                    ValueType::Text => false,
                })
        })
    }

    /// `amount` of scalar resource `name` out of these, reserved resources first (a framework's
    /// reservation is there to be used), then unreserved: the pieces keep their roles, as a
    /// task's resources must name the role they come from. `None` if there is not enough.
    pub fn take_scalar(&self, name: &str, amount: f64) -> Option<Vec<Resource>> {
        let mut candidates: Vec<&Resource> = self
            .0
            .iter()
            .filter(|r| r.name == name && r.kind == ValueType::Scalar)
            .collect();
        // Reserved (a role other than "*") before unreserved; stable otherwise.
        candidates.sort_by_key(|r| r.role() == "*");
        let mut pieces = Vec::new();
        let mut left = round_scalar(amount);
        for r in candidates {
            if left <= 0.0 {
                break;
            }
            let have = r.scalar.as_ref().map_or(0.0, |s| s.value);
            let take = round_scalar(have.min(left));
            if take <= 0.0 {
                continue;
            }
            let mut piece = r.clone();
            piece.scalar = Some(Scalar { value: take });
            piece.allocation_info = None;
            pieces.push(piece);
            left = round_scalar(left - take);
        }
        (left <= 0.0).then_some(pieces)
    }

    /// The total of a scalar resource, any role.
    pub fn scalar(&self, name: &str) -> f64 {
        round_scalar(
            self.0
                .iter()
                .filter(|r| r.name == name && r.kind == ValueType::Scalar)
                .filter_map(|r| r.scalar.as_ref().map(|s| s.value))
                .sum(),
        )
    }

    /// Marks every resource as allocated to `role`, as offers and launched tasks carry it.
    pub fn allocated_to(&self, role: &str) -> Vec<Resource> {
        self.0
            .iter()
            .cloned()
            .map(|mut r| {
                r.allocation_info = Some(AllocationInfo { role: role.into() });
                r
            })
            .collect()
    }

    /// The legacy JSON "resources object": `{"cpus":n,"gpus":n,"mem":n,"disk":n,"ports":"[…]"}`,
    /// with cpus, gpus, mem and disk always present.
    pub fn to_legacy_object(&self) -> Value {
        let mut obj = Map::new();
        for name in ["cpus", "gpus", "mem", "disk"] {
            obj.insert(name.into(), json!(self.scalar(name)));
        }
        for r in &self.0 {
            if obj.contains_key(&r.name) && r.kind == ValueType::Scalar {
                continue;
            }
            let value = match r.kind {
                ValueType::Scalar => json!(self.scalar(&r.name)),
                ValueType::Ranges => json!(r.ranges.clone().unwrap_or_default().to_string()),
                ValueType::Set => json!(r.set.clone().unwrap_or_default().to_string()),
                ValueType::Text => continue,
            };
            obj.insert(r.name.clone(), value);
        }
        Value::Object(obj)
    }

    /// The resources reserved for no role (`role` "*").
    pub fn unreserved(&self) -> Resources {
        Resources::new(self.iter().filter(|r| r.role() == "*").cloned())
    }

    /// What a framework of `role` may use: unreserved resources and those reserved for `role`.
    pub fn usable_by(&self, role: &str) -> Resources {
        Resources::new(
            self.iter()
                .filter(|r| r.role() == "*" || r.role() == role)
                .cloned(),
        )
    }

    /// The legacy `reserved_resources` object: `{role: resources object}` for every role that
    /// holds a reservation; `{}` when nothing is reserved.
    pub fn reserved_legacy_objects(&self) -> Value {
        let mut roles: Vec<&str> = self
            .iter()
            .map(Resource::role)
            .filter(|r| *r != "*")
            .collect();
        roles.sort();
        roles.dedup();
        let objects = roles.into_iter().map(|role| {
            let of_role = Resources::new(self.iter().filter(|r| r.role() == role).cloned());
            (role.to_string(), of_role.to_legacy_object())
        });
        Value::Object(objects.collect())
    }

    /// Parses the `--resources` flag: `cpus:2;mem:1024;ports:[31000-32000];disks:{a,b}`, with an
    /// optional `(role)` after the name, or the JSON array form.
    pub fn parse(text: &str) -> Result<Resources, InvalidValue> {
        Resources::parse_with_role(text, "*")
    }

    /// `parse`, with `default_role` for resources that name no role (the agent's
    /// `--default_role`, as Mesos's `Resources::parse(text, defaultRole)`).
    pub fn parse_with_role(text: &str, default_role: &str) -> Result<Resources, InvalidValue> {
        let text = text.trim();
        if text.starts_with('[') {
            let mut list: Vec<Value> = serde_json::from_str(text)
                .map_err(|e| format!("--resources looks like JSON but does not parse: {e}"))?;
            for item in list.iter_mut().filter_map(Value::as_object_mut) {
                item.entry("role").or_insert_with(|| json!(default_role));
            }
            let list: Vec<Resource> = serde_json::from_value(Value::Array(list))
                .map_err(|e| format!("--resources looks like JSON but does not parse: {e}"))?;
            for r in &list {
                r.validate()?;
            }
            return Ok(Resources::new(list));
        }
        let mut out = Resources::default();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once(':').ok_or_else(|| {
                format!("'{part}' is not a resource; expected name:value, e.g. cpus:2")
            })?;
            let (name, role) = match key.split_once('(') {
                Some((name, rest)) => {
                    let role = rest.strip_suffix(')').ok_or_else(|| {
                        format!("'{key}' has an unclosed role; expected name(role)")
                    })?;
                    (name.trim(), role.trim())
                }
                None => (key.trim(), default_role),
            };
            if name.is_empty() {
                return Err(format!("'{part}' has no resource name").into());
            }
            let value = value.trim();
            let mut resource = if value.starts_with('[') {
                Resource::ranges(name, Ranges::parse(value)?)
            } else if value.starts_with('{') {
                Resource::set(name, Set::parse(value)?)
            } else {
                let v: f64 = value.parse().map_err(|_| {
                    format!("resource '{name}' has value '{value}', which is not a number")
                })?;
                if !v.is_finite() || v < 0.0 {
                    return Err(format!(
                        "resource '{name}' must be a non-negative number, got {value}"
                    )
                    .into());
                }
                Resource::scalar(name, v)
            };
            resource.role = Some(role.into());
            out.add_one(resource);
        }
        Ok(out)
    }

    /// What a Mesos agent offers when `--resources` leaves a standard resource out.
    pub fn with_agent_defaults(self) -> Resources {
        self.with_agent_defaults_for("*")
    }

    /// `with_agent_defaults`, the defaults taking `role` (the agent's `--default_role`).
    pub fn with_agent_defaults_for(self, role: &str) -> Resources {
        let mut out = self;
        let has = |r: &Resources, n: &str| r.0.iter().any(|x| x.name == n);
        let mut defaults = Vec::new();
        for (name, value) in [("cpus", 1.0), ("mem", 1024.0), ("disk", 10240.0)] {
            if !has(&out, name) {
                defaults.push(Resource::scalar(name, value));
            }
        }
        if !has(&out, "ports") {
            defaults.push(Resource::ranges("ports", Ranges::new([(31000, 32000)])));
        }
        for mut r in defaults {
            r.role = Some(role.into());
            out.add_one(r);
        }
        out
    }
}

impl FromIterator<Resource> for Resources {
    fn from_iter<I: IntoIterator<Item = Resource>>(iter: I) -> Self {
        Resources::new(iter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flag_syntax_with_roles_ranges_and_sets() {
        let r = Resources::parse("cpus:2;mem:1024;ports:[31000-32000];cpus(web):1;disks:{a,b}")
            .unwrap();
        assert_eq!(r.scalar("cpus"), 3.0);
        assert_eq!(r.iter().count(), 5);
        let legacy = r.to_legacy_object();
        assert_eq!(legacy["mem"], 1024.0);
        assert_eq!(legacy["gpus"], 0.0);
        assert_eq!(legacy["ports"], "[31000-32000]");
        assert_eq!(legacy["disks"], "{a,b}");
    }

    #[test]
    fn parses_json_form() {
        let r = Resources::parse(
            r#"[{"name":"cpus","type":"SCALAR","scalar":{"value":4}},
                {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":1,"end":"5"}]}}]"#,
        )
        .unwrap();
        assert_eq!(r.scalar("cpus"), 4.0);
        assert_eq!(r.to_legacy_object()["ports"], "[1-5]");
    }

    #[test]
    fn rejects_bad_flag_values_with_reasons() {
        for (input, needle) in [
            ("cpus", "expected name:value"),
            ("cpus:two", "not a number"),
            ("cpus:-1", "non-negative"),
            ("ports:[5-1]", "ends before"),
            ("cpus(web:1", "unclosed role"),
            ("[{\"name\":\"x\"}]", "does not parse"),
        ] {
            let err = Resources::parse(input).unwrap_err();
            assert!(err.0.contains(needle), "{input}: {err}");
        }
    }

    #[test]
    fn arithmetic_add_subtract_contains() {
        let total = Resources::parse("cpus:2;mem:1024;ports:[31000-31010]").unwrap();
        let task = Resources::parse("cpus:0.1;mem:32;ports:[31005-31005]").unwrap();
        assert!(total.contains(&task));
        let left = total.subtract(&task);
        assert_eq!(left.scalar("cpus"), 1.9);
        assert_eq!(left.scalar("mem"), 992.0);
        assert_eq!(
            left.to_legacy_object()["ports"],
            "[31000-31004, 31006-31010]"
        );
        assert_eq!(left.add(&task), total);
        assert!(!task.contains(&total));
        let too_big = Resources::parse("cpus:3").unwrap();
        assert!(!total.contains(&too_big));
        // A reserved resource is not satisfied by unreserved ones.
        let reserved = Resources::parse("cpus(web):1").unwrap();
        assert!(!total.contains(&reserved));
        // Subtracting everything leaves nothing, not zero-valued entries.
        assert!(total.subtract(&total).is_empty());
    }

    #[test]
    fn repeated_fractional_subtraction_stays_exact() {
        let mut left = Resources::parse("cpus:1").unwrap();
        let tenth = Resources::parse("cpus:0.1").unwrap();
        for _ in 0..10 {
            assert!(left.contains(&tenth));
            left = left.subtract(&tenth);
        }
        assert!(left.is_empty());
    }

    #[test]
    fn usable_by_keeps_unreserved_and_the_roles_own_reservations() {
        let r = Resources::parse("cpus:1;cpus(web):2;mem(db):64;mem:32").unwrap();
        let web = r.usable_by("web");
        assert_eq!(web.scalar("cpus"), 3.0);
        assert_eq!(web.scalar("mem"), 32.0);
        let any = r.usable_by("*");
        assert_eq!((any.scalar("cpus"), any.scalar("mem")), (1.0, 32.0));
        assert_eq!(r.usable_by("db").scalar("mem"), 96.0);
    }

    #[test]
    fn agent_defaults_fill_what_is_missing() {
        let r = Resources::parse("cpus:4").unwrap().with_agent_defaults();
        assert_eq!(r.scalar("cpus"), 4.0);
        assert_eq!(r.scalar("mem"), 1024.0);
        assert_eq!(r.scalar("disk"), 10240.0);
        assert_eq!(r.to_legacy_object()["ports"], "[31000-32000]");
    }
}
