//! An image configuration.

use serde_json::Value;

use super::{Breach, Finding, Judged, Place};
use crate::digest::Digest;

/// What a config says, as far as it could be read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// `os`, if a string.
    pub os: Option<String>,
    /// `architecture`, if a string.
    pub architecture: Option<String>,
    /// `variant`, if a string.
    pub variant: Option<String>,
    /// `created`, if a string.
    pub created: Option<String>,
    /// `rootfs.diff_ids`, one per element, `None` where not a valid digest;
    /// `None` when `rootfs` or its `diff_ids` array is missing.
    pub diff_ids: Option<Vec<Option<Digest>>>,
    /// `rootfs.diff_ids` as written (each string, `None` where not a
    /// string), for messages that quote the config; empty when missing.
    pub diff_ids_written: Vec<Option<String>>,
}

/// Judge an image config for a manifest with `layers` layers.
pub fn judge(v: &Value, layers: usize) -> Judged<Config> {
    if !v.is_object() {
        return Judged::none(vec![Finding::doc("not a JSON object")]);
    }
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let rootfs_ids = v
        .get("rootfs")
        .and_then(|r| r.get("diff_ids"))
        .and_then(Value::as_array);
    let mut config = Config {
        os: text("os"),
        architecture: text("architecture"),
        variant: text("variant"),
        created: text("created"),
        diff_ids: None,
        diff_ids_written: rootfs_ids
            .map(|a| a.iter().map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default(),
    };
    let mut problems = Vec::new();
    platform_fields(v, &mut problems);
    config.diff_ids = rootfs(v, layers, &mut problems);
    consumer_rules(v, &mut problems);
    if config.diff_ids.is_some()
        && problems.is_empty()
        && let Err(e) = serde_json::from_value::<oci_spec::image::ImageConfiguration>(v.clone())
    {
        problems.push(Finding {
            place: Place::Schema,
            ..Finding::doc(format!("not an image configuration: {e}"))
        });
    }
    Judged {
        value: Some(config),
        problems,
    }
}

fn platform_fields(v: &Value, problems: &mut Vec<Finding>) {
    let mut names = Vec::new();
    for field in ["architecture", "os"] {
        match v.get(field) {
            Some(Value::String(s)) if !s.is_empty() => names.push(s.as_str()),
            Some(other) => problems.push(Finding::doc(format!(
                "{field} is {other}, not a platform name"
            ))),
            None => problems.push(Finding::doc(format!("has no {field}"))),
        }
    }
    let variant = v.get("variant");
    if let Some(other) = variant.filter(|x| !x.is_string()) {
        problems.push(Finding::doc(format!("variant is {other}, not a string")));
    }
    if let [arch, os] = names[..] {
        let variant = variant.and_then(Value::as_str);
        for (field, b) in super::platform::platform_breaches(os, arch, variant) {
            problems.push(Finding::rule(b.finding(field)));
        }
    }
}

/// What the consumers refuse in a config that parses: times Go cannot
/// read, a `User` none of config.md's forms, relative volumes, reserved
/// labels.
fn consumer_rules(v: &Value, problems: &mut Vec<Finding>) {
    let mut find = |field: String, b: Breach| problems.push(Finding::rule(b.finding(&field)));
    if let Some(b) = v
        .get("created")
        .and_then(Value::as_str)
        .and_then(time_breach)
    {
        find("created".into(), b);
    }
    let history = v.get("history").and_then(Value::as_array);
    for (i, h) in history.into_iter().flatten().enumerate() {
        if let Some(b) = h
            .get("created")
            .and_then(Value::as_str)
            .and_then(time_breach)
        {
            find(format!("history[{i}].created"), b);
        }
    }
    let Some(c) = v.get("config") else { return };
    if let Some(b) = c.get("User").and_then(Value::as_str).and_then(user_breach) {
        find("config.User".into(), b);
    }
    let volumes = c.get("Volumes").and_then(Value::as_object);
    for path in volumes.into_iter().flat_map(|m| m.keys()) {
        if let Some(b) = volume_breach(path) {
            find("config.Volumes".into(), b);
        }
    }
    let labels = c.get("Labels").and_then(Value::as_object);
    for (k, val) in labels.into_iter().flatten() {
        let b = val
            .as_str()
            .and_then(|s| super::annotations::breach(k, s, super::annotations::Site::Label));
        if let Some(b) = b {
            find(format!("config.Labels {k}"), b);
        }
    }
}

/// The earliest and latest times with a four-digit year, as given to
/// `--created` and `SOURCE_DATE_EPOCH`.
const TIME_RANGE: &str = "give a time from 0000-01-01T00:00:00Z to 9999-12-31T23:59:59Z (@-62167219200 to @253402300799)";

/// A time (`created`, `org.opencontainers.image.created`) that Go's RFC
/// 3339 parser, which skopeo, umoci and podman use, refuses: not
/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM)` with a four-digit year and a
/// real date, or a leap second.
pub fn time_breach(s: &str) -> Option<Breach> {
    match rfc3339_second(s) {
        Some(sec) if sec < 60 => None,
        Some(_) => Some(Breach {
            why: format!(
                "{s:?} has second 60, a leap second (config.md created: Go's RFC 3339 parser takes seconds 00-59)"
            ),
            consumers: "skopeo and umoci fail on it: second out of range".into(),
            fix: "use second 59, or the next second".into(),
        }),
        None => Some(Breach {
            why: format!(
                "{s:?} is not an RFC 3339 time with a four-digit year (config.md created: a config-schema.json date-time)"
            ),
            consumers: "skopeo and umoci fail on it: parsing time ... cannot parse".into(),
            fix: TIME_RANGE.into(),
        }),
    }
}

/// The seconds field of an RFC 3339 date-time with a four-digit year and
/// a real date, or `None`.
fn rfc3339_second(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let digits = b.get(from..from + len)?;
        digits
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| digits.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let at = |i: usize, set: &[u8]| b.get(i).is_some_and(|c| set.contains(c));
    let shape = at(4, b"-") && at(7, b"-") && at(10, b"Tt") && at(13, b":") && at(16, b":");
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let date = i32::try_from(year)
        .ok()
        .and_then(|y| chrono::NaiveDate::from_ymd_opt(y, month, day));
    if !shape || date.is_none() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let zone_ok = match rest.as_bytes() {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit())
                && (h1 - b'0') * 10 + (h2 - b'0') <= 23
                && (m1 - b'0') * 10 + (m2 - b'0') <= 59
        }
        _ => false,
    };
    zone_ok.then_some(second)
}

/// A `User` that is none of config.md's forms (user, uid, user:group,
/// uid:gid, uid:group, user:gid). Empty means the default user.
pub fn user_breach(user: &str) -> Option<Breach> {
    let parts: Vec<&str> = user.split(':').collect();
    if user.is_empty() || (parts.len() <= 2 && parts.iter().all(|p| !p.is_empty())) {
        return None;
    }
    Some(Breach {
        why: format!(
            "{user:?} is none of config.md's User forms (user, uid, user:group, uid:gid, uid:group, user:gid)"
        ),
        consumers: "podman run fails (it takes everything after the first : as the group) and so does containerd (invalid USER value)"
            .into(),
        fix: "give a user or uid, optionally :group or :gid".into(),
    })
}

/// A volume that is not an absolute path (or, for Windows images, a drive
/// path such as `C:\data`). conversion.md makes each volume a mount, and
/// runtime-spec config.md requires a mount's destination to be absolute;
/// Docker and podman work around it by mounting under `/`.
pub fn volume_breach(path: &str) -> Option<Breach> {
    let b = path.as_bytes();
    let drive =
        b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && matches!(b[2], b'\\' | b'/');
    if path.starts_with('/') || drive {
        return None;
    }
    let fixed = format!("/{}", path.trim_start_matches("./"));
    Some(Breach {
        why: format!(
            "{path:?} is not an absolute path (config.md Volumes become mounts by conversion.md, and runtime-spec config.md requires an absolute mount destination)"
        ),
        consumers: format!(
            "a runtime bundle converted from it is invalid; Docker 20.10 and podman 4.3 mount it at {fixed}, Docker recording the destination {path:?}"
        ),
        fix: format!("write {fixed}"),
    })
}

/// `rootfs`: its type and DiffIDs, one per layer.
fn rootfs(v: &Value, layers: usize, problems: &mut Vec<Finding>) -> Option<Vec<Option<Digest>>> {
    let Some(rootfs) = v.get("rootfs") else {
        problems.push(Finding::doc("has no rootfs"));
        return None;
    };
    match rootfs.get("type") {
        Some(Value::String(s)) if s == "layers" => {}
        Some(other) => problems.push(Finding::doc(format!(
            "rootfs.type is {other}, expected \"layers\""
        ))),
        None => problems.push(Finding::doc("has no rootfs.type")),
    }
    let ids = match rootfs.get("diff_ids") {
        Some(Value::Array(a)) => a,
        Some(_) => {
            problems.push(Finding::doc("rootfs.diff_ids is not an array"));
            return None;
        }
        None => {
            problems.push(Finding::doc("has no rootfs.diff_ids"));
            return None;
        }
    };
    if ids.len() != layers {
        let manifest_has = match layers {
            1 => "1 layer".to_string(),
            n => format!("{n} layers"),
        };
        problems.push(Finding::doc(format!(
            "rootfs.diff_ids lists {} DiffIDs but the manifest has {manifest_has}",
            ids.len()
        )));
    }
    let ids = ids.iter().enumerate().map(|(i, id)| match id.as_str() {
        Some(s) => Digest::parse(s)
            .map_err(|e| problems.push(Finding::doc(format!("rootfs.diff_ids[{i}]: {e}"))))
            .ok(),
        None => {
            problems.push(Finding::doc(format!(
                "rootfs.diff_ids[{i}] is not a string"
            )));
            None
        }
    });
    Some(ids.collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rendered(j: &Judged<Config>) -> Vec<String> {
        j.problems.iter().map(Finding::to_string).collect()
    }

    fn hex(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    #[test]
    fn a_good_config() {
        let v = json!({"architecture": "arm64", "os": "linux", "variant": "v8",
            "created": "1970-01-01T00:00:00Z",
            "rootfs": {"type": "layers", "diff_ids": [hex('d')]}});
        let j = judge(&v, 1);
        assert!(j.problems.is_empty(), "{:?}", j.problems);
        let c = j.value.unwrap();
        assert_eq!(c.variant.as_deref(), Some("v8"));
        assert_eq!(c.diff_ids, Some(vec![Digest::parse(&hex('d')).ok()]));
        assert_eq!(c.diff_ids_written, vec![Some(hex('d'))]);
    }

    #[test]
    fn every_problem_in_document_order() {
        assert_eq!(rendered(&judge(&json!(1), 0)), ["not a JSON object"]);
        let j = judge(&json!({"architecture": "", "rootfs": {"type": "x"}}), 0);
        assert_eq!(
            rendered(&j),
            [
                "architecture is \"\", not a platform name",
                "has no os",
                "rootfs.type is \"x\", expected \"layers\"",
                "has no rootfs.diff_ids",
            ]
        );
        assert_eq!(j.value.and_then(|c| c.diff_ids), None);
        let v = json!({"architecture": "amd64", "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": ["sha256:zz", 3]}});
        let j = judge(&v, 1);
        assert_eq!(
            rendered(&j),
            [
                "rootfs.diff_ids lists 2 DiffIDs but the manifest has 1 layer",
                "rootfs.diff_ids[0]: invalid digest \"sha256:zz\": sha256 needs 64 hex digits, found 2",
                "rootfs.diff_ids[1] is not a string",
            ]
        );
        let c = j.value.unwrap();
        assert_eq!(c.diff_ids, Some(vec![None, None]));
        assert_eq!(c.diff_ids_written, vec![Some("sha256:zz".into()), None]);
        assert_eq!(
            rendered(&judge(&json!({"architecture": "amd64", "os": "linux"}), 2)),
            ["has no rootfs"]
        );
    }

    #[test]
    fn oci_spec_has_the_last_word() {
        let v = json!({"architecture": "amd64", "os": "linux", "created": 5,
            "rootfs": {"type": "layers", "diff_ids": []}});
        let j = judge(&v, 0);
        assert_eq!(j.problems.len(), 1);
        assert_eq!(j.problems[0].place, Place::Schema);
        assert!(
            j.problems[0]
                .message
                .starts_with("not an image configuration: ")
        );
    }

    #[test]
    fn times_go_can_parse() {
        for ok in [
            "1970-01-01T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2024-02-29T12:00:00.123456789+02:00",
            "2024-05-01t12:00:00z",
        ] {
            assert_eq!(time_breach(ok), None, "{ok}");
        }
        for bad in [
            "+10000-01-01T00:00:00Z",
            "-0001-12-31T23:59:59Z",
            "notadate",
            "",
            "2023-02-29T00:00:00Z",
            "2024-05-01 12:00:00Z",
            "2024-05-01T12:00:00",
            "2024-05-01T24:00:00Z",
            "2024-05-01T12:00:00.Z",
            "2024-05-01T12:00:00+2:00",
        ] {
            assert!(
                time_breach(bad).is_some_and(|b| b.why.contains("four-digit")),
                "{bad}"
            );
        }
        assert_eq!(
            time_breach("2016-12-31T23:59:60Z")
                .unwrap()
                .finding("created"),
            "created: \"2016-12-31T23:59:60Z\" has second 60, a leap second (config.md created: Go's RFC 3339 parser takes seconds 00-59); skopeo and umoci fail on it: second out of range"
        );
    }

    #[test]
    fn users_and_volumes_of_config_md() {
        for ok in ["", "nobody", "1000", "a:b", "1000:1000", "1:b", "a:2"] {
            assert_eq!(user_breach(ok), None, "{ok}");
        }
        for bad in ["a:b:c", ":b", "a:", "::"] {
            assert!(user_breach(bad).is_some(), "{bad}");
        }
        assert_eq!(volume_breach("/data"), None);
        assert_eq!(volume_breach("C:\\data"), None);
        assert_eq!(
            volume_breach("relative").unwrap().usage("VOLUME relative"),
            "VOLUME relative: \"relative\" is not an absolute path (config.md Volumes become mounts by conversion.md, and runtime-spec config.md requires an absolute mount destination); write /relative"
        );
    }

    #[test]
    fn consumers_rules_are_findings() {
        let v = json!({"architecture": "x86_64", "os": "linux", "variant": "",
            "created": "+10000-01-01T00:00:00Z",
            "history": [{"created": "2016-12-31T23:59:60Z"}],
            "config": {"User": "a:b:c", "Volumes": {"rel": {}, "/ok": {}},
                "Labels": {"org.opencontainers.image.nope": "x"}},
            "rootfs": {"type": "layers", "diff_ids": []}});
        let found: Vec<String> = rendered(&judge(&v, 0))
            .iter()
            .map(|f| f.split(':').next().unwrap_or_default().to_string())
            .collect();
        assert_eq!(
            found,
            [
                "architecture",
                "variant",
                "created",
                "history[0].created",
                "config.User",
                "config.Volumes",
                "config.Labels org.opencontainers.image.nope"
            ]
        );
    }
}
