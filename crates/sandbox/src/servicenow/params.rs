//! The `sysparm_*` parameters of the Table and Attachment APIs, read leniently as the
//! platform reads them: an unrecognised value falls back to the default.

use super::render::{DisplayMode, RenderOptions};
use super::writes::WriteOptions;

/// The platform's page size when `sysparm_limit` is absent.
pub const DEFAULT_LIMIT: usize = 10_000;

/// Query-string parameters in their original order (for `Link` URLs).
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> Self {
        Params {
            pairs: raw
                .map(|q| {
                    url::form_urlencoded::parse(q.as_bytes())
                        .into_owned()
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// The last value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// `sysparm_query`.
    pub fn query(&self) -> &str {
        self.get("sysparm_query").unwrap_or("")
    }

    /// `sysparm_limit`, or the default.
    pub fn limit(&self) -> usize {
        self.get("sysparm_limit")
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_LIMIT)
    }

    /// `sysparm_offset`, or 0.
    pub fn offset(&self) -> usize {
        self.get("sysparm_offset")
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0)
    }

    /// `sysparm_suppress_pagination_header`.
    pub fn suppress_pagination(&self) -> bool {
        self.flag("sysparm_suppress_pagination_header")
    }

    /// `sysparm_no_count`.
    pub fn no_count(&self) -> bool {
        self.flag("sysparm_no_count")
    }

    /// Render options from `sysparm_display_value`, `sysparm_exclude_reference_link` and
    /// `sysparm_fields`.
    pub fn render(&self, base_url: String) -> RenderOptions {
        let fields = self
            .get("sysparm_fields")
            .map(|f| {
                f.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .filter(|f| !f.is_empty());
        RenderOptions {
            display: DisplayMode::parse(self.get("sysparm_display_value").unwrap_or("false")),
            exclude_reference_link: self.flag("sysparm_exclude_reference_link"),
            fields,
            base_url,
        }
    }

    /// Write options from `sysparm_input_display_value` and
    /// `sysparm_suppress_auto_sys_field`.
    pub fn write(&self) -> WriteOptions {
        WriteOptions {
            input_display_value: self.flag("sysparm_input_display_value"),
            suppress_auto_sys_field: self.flag("sysparm_suppress_auto_sys_field"),
        }
    }

    /// The query string with paging replaced, for `Link` URLs: the other parameters in
    /// their order, then `sysparm_limit` and `sysparm_offset`.
    pub fn with_page(&self, limit: usize, offset: usize) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.pairs {
            if k != "sysparm_limit" && k != "sysparm_offset" {
                out.append_pair(k, v);
            }
        }
        out.append_pair("sysparm_limit", &limit.to_string());
        out.append_pair("sysparm_offset", &offset.to_string());
        out.finish()
    }
}

/// The `Link` header for a page, or `None` when everything fits on one page. Offsets and
/// limits come straight from the query string, so all arithmetic saturates.
pub fn link_header(
    url: &str,
    params: &Params,
    total: usize,
    limit: usize,
    offset: usize,
) -> Option<String> {
    let end = offset.saturating_add(limit);
    if total == 0 || (offset == 0 && end >= total) {
        return None;
    }
    let link =
        |o: usize, rel: &str| format!("<{url}?{}>;rel=\"{rel}\"", params.with_page(limit, o));
    let mut parts = vec![link(0, "first")];
    if offset > 0 {
        parts.push(link(offset.saturating_sub(limit), "prev"));
    }
    if end < total {
        parts.push(link(end, "next"));
    }
    parts.push(link((total - 1) / limit.max(1) * limit.max(1), "last"));
    Some(parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_carry_the_other_parameters_and_the_page() {
        let p = Params::parse(Some(
            "sysparm_query=active%3Dtrue&sysparm_limit=10&sysparm_offset=10",
        ));
        let h = link_header("https://i/api/now/table/incident", &p, 35, 10, 10).unwrap();
        assert_eq!(
            h,
            "<https://i/api/now/table/incident?sysparm_query=active%3Dtrue&sysparm_limit=10&sysparm_offset=0>;rel=\"first\",\
<https://i/api/now/table/incident?sysparm_query=active%3Dtrue&sysparm_limit=10&sysparm_offset=0>;rel=\"prev\",\
<https://i/api/now/table/incident?sysparm_query=active%3Dtrue&sysparm_limit=10&sysparm_offset=20>;rel=\"next\",\
<https://i/api/now/table/incident?sysparm_query=active%3Dtrue&sysparm_limit=10&sysparm_offset=30>;rel=\"last\""
        );
        assert!(link_header("u", &p, 5, 10, 0).is_none());
        let last = link_header("u", &p, 35, 10, 30).unwrap();
        assert!(!last.contains("rel=\"next\""));
    }

    #[test]
    fn huge_offsets_and_limits_do_not_overflow() {
        let p = Params::default();
        let h = link_header("u", &p, 10, 5, usize::MAX).unwrap();
        assert!(
            h.contains("rel=\"prev\"") && !h.contains("rel=\"next\""),
            "{h}"
        );
        let h = link_header("u", &p, 10, usize::MAX, 1).unwrap();
        assert!(h.contains("sysparm_offset=0>;rel=\"last\""), "{h}");
        assert!(link_header("u", &p, 10, usize::MAX, 0).is_none());
    }

    #[test]
    fn bad_numbers_fall_back_to_defaults() {
        let p = Params::parse(Some(
            "sysparm_limit=abc&sysparm_offset=-3&sysparm_display_value=maybe",
        ));
        assert_eq!(p.limit(), DEFAULT_LIMIT);
        assert_eq!(p.offset(), 0);
        assert_eq!(p.render(String::new()).display, DisplayMode::Value);
    }
}
