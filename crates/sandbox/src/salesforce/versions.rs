//! The REST API versions the org serves, from v31.0 (Summer '14) to v68.0 (Winter '27).

use serde_json::{json, Value};

/// The newest version.
pub const LATEST: &str = "68.0";
const OLDEST_MAJOR: u32 = 31;
const LATEST_MAJOR: u32 = 68;

/// The release name of a major version (`68` → `Winter '27`).
fn label(major: u32) -> String {
    let back = LATEST_MAJOR - major;
    let (k, r) = (back / 3, back % 3);
    match r {
        0 => format!("Winter '{:02}", 27 - k),
        1 => format!("Summer '{:02}", 26 - k),
        _ => format!("Spring '{:02}", 26 - k),
    }
}

/// `GET /services/data/`: every version, oldest first.
pub fn list() -> Value {
    Value::Array(
        (OLDEST_MAJOR..=LATEST_MAJOR)
            .map(|m| {
                json!({"label": label(m), "url": format!("/services/data/v{m}.0"), "version": format!("{m}.0")})
            })
            .collect(),
    )
}

/// The version a path segment names (`v59.0` → `59.0`, `latest` → the newest), if served.
pub fn parse(segment: &str) -> Option<String> {
    if segment == "latest" {
        return Some(LATEST.to_string());
    }
    let (major, minor) = segment.strip_prefix('v')?.split_once('.')?;
    let major: u32 = major.parse().ok()?;
    (minor == "0" && (OLDEST_MAJOR..=LATEST_MAJOR).contains(&major)).then(|| format!("{major}.0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_release_train() {
        assert_eq!(label(68), "Winter '27");
        assert_eq!(label(59), "Winter '24");
        assert_eq!(label(31), "Summer '14");
        assert_eq!(parse("v59.0").as_deref(), Some("59.0"));
        assert_eq!(parse("latest").as_deref(), Some(LATEST));
        assert_eq!(parse("v20.0"), None);
        assert_eq!(parse("v59.1"), None);
        assert_eq!(parse("59.0"), None);
    }
}
