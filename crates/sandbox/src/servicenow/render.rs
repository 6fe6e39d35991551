//! Records rendered as the Table API returns them, for each combination of
//! `sysparm_display_value`, `sysparm_exclude_reference_link` and `sysparm_fields`.

use super::db::{Db, Record, View};
use serde_json::{json, Map, Value};
use twinsync_model::{FieldDef, FieldType};
use twinsync_query::servicenow::resolve_path;
use twinsync_query::Span;

/// `sysparm_display_value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DisplayMode {
    /// `false` (the default): stored values.
    #[default]
    Value,
    /// `true`: display values.
    Display,
    /// `all`: both, as `{display_value, value}`.
    All,
}

impl DisplayMode {
    /// Reads the parameter as the platform does: anything unrecognised means `false`.
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_lowercase().as_str() {
            "true" => DisplayMode::Display,
            "all" => DisplayMode::All,
            _ => DisplayMode::Value,
        }
    }
}

/// How to render records.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// `sysparm_display_value`.
    pub display: DisplayMode,
    /// `sysparm_exclude_reference_link`.
    pub exclude_reference_link: bool,
    /// `sysparm_fields`, possibly dot-walked; `None` for every field.
    pub fields: Option<Vec<String>>,
    /// The instance URL for reference links (`https://host`).
    pub base_url: String,
}

/// The label a journal field's history entries carry.
fn journal_label(element: &str) -> &'static str {
    match element {
        "work_notes" => "Work notes",
        _ => "Additional comments",
    }
}

/// The journal history of a record, newest first, in the platform's display format.
pub fn journal_history(db: &Db, table: &str, sys_id: &str, elements: &[&str]) -> String {
    let Some(journal) = db.table("sys_journal_field") else {
        return String::new();
    };
    let col = |name: &str| journal.column(name).unwrap_or(0);
    let (c_element, c_id, c_name, c_value, c_on, c_by) = (
        col("element"),
        col("element_id"),
        col("name"),
        col("value"),
        col("sys_created_on"),
        col("sys_created_by"),
    );
    let mut entries: Vec<&Record> = journal
        .lookup(c_id, sys_id)
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.get(c_name) == table && elements.contains(&r.get(c_element)))
        .collect();
    entries.reverse();
    entries.sort_by(|a, b| b.get(c_on).cmp(a.get(c_on)));
    let users = db.table("sys_user");
    let mut out = String::new();
    for e in entries {
        let user_name = e.get(c_by);
        let shown = users
            .and_then(|u| {
                let name = u.column("name")?;
                let hits = u.lookup(u.column("user_name")?, user_name)?;
                hits.first().map(|r| r.get(name).to_string())
            })
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| user_name.to_string());
        out.push_str(&format!(
            "{} - {} ({})\n{}\n\n",
            e.get(c_on),
            shown,
            journal_label(e.get(c_element)),
            e.get(c_value)
        ));
    }
    out
}

/// `1234567` → `1,234,567`, the platform's display of plain integers.
fn thousands(raw: &str) -> String {
    let Ok(n) = raw.parse::<i64>() else {
        return raw.to_string();
    };
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// Where a value came from, for the journal history and display lookups.
struct Source<'a> {
    table: &'a str,
    record: &'a Record,
}

fn display_text(db: &Db, field: &FieldDef, raw: &str, source: &Source<'_>) -> String {
    match &field.ty {
        FieldType::Reference { target } => {
            if raw.is_empty() {
                String::new()
            } else {
                db.display_of(target, raw)
            }
        }
        FieldType::Journal => {
            let elements: &[&str] = match field.name.as_str() {
                "comments_and_work_notes" => &["comments", "work_notes"],
                other => &[other][..],
            };
            // The history belongs to the record whose field this is, not a dot-walked one.
            journal_history(db, source.table, source.record.get(0), elements)
        }
        _ if !field.choices.is_empty() => field.choice_label(raw).unwrap_or(raw).to_string(),
        FieldType::Integer => thousands(raw),
        _ => raw.to_string(),
    }
}

fn render_value(
    db: &Db,
    field: &FieldDef,
    raw: &str,
    source: &Source<'_>,
    opts: &RenderOptions,
) -> Value {
    let link = match &field.ty {
        FieldType::Reference { target } if !raw.is_empty() && !opts.exclude_reference_link => {
            Some(format!("{}/api/now/table/{target}/{raw}", opts.base_url))
        }
        _ => None,
    };
    let value = if field.ty == FieldType::Journal {
        ""
    } else {
        raw
    };
    match (opts.display, link) {
        (DisplayMode::Value, None) => json!(value),
        (DisplayMode::Value, Some(link)) => json!({"link": link, "value": value}),
        (DisplayMode::Display, None) => json!(display_text(db, field, raw, source)),
        (DisplayMode::Display, Some(link)) => {
            json!({"display_value": display_text(db, field, raw, source), "link": link})
        }
        (DisplayMode::All, None) => {
            json!({"display_value": display_text(db, field, raw, source), "value": value})
        }
        (DisplayMode::All, Some(link)) => json!({
            "display_value": display_text(db, field, raw, source),
            "link": link,
            "value": value,
        }),
    }
}

/// Renders record `record` of table `t`.
pub fn render_record(
    db: &Db,
    t: usize,
    record: &Record,
    opts: &RenderOptions,
) -> Map<String, Value> {
    let table = &db.tables[t];
    let source = Source {
        table: table.name(),
        record,
    };
    let mut out = Map::new();
    match &opts.fields {
        None => {
            for (i, field) in table.def.schema.fields.iter().enumerate() {
                out.insert(
                    field.name.clone(),
                    render_value(db, field, record.get(i), &source, opts),
                );
            }
        }
        Some(names) => {
            for name in names {
                if let Some(c) = table.column(name) {
                    let field = &table.def.schema.fields[c];
                    out.insert(
                        name.clone(),
                        render_value(db, field, record.get(c), &source, opts),
                    );
                } else if name.contains('.') {
                    // A dot-walked field: its value through the references, typed as the end field.
                    let Ok(path) = resolve_path(db, t, name, Span::default()) else {
                        continue;
                    };
                    let view = View(db);
                    let raw = path.get(&view, record).unwrap_or("");
                    let end = FieldDef::new(name, name, path.field_type().clone());
                    out.insert(name.clone(), render_value(db, &end, raw, &source, opts));
                }
            }
        }
    }
    out
}

/// An attachment's metadata as the Attachment API returns it: stored values plus
/// `download_link`.
pub fn render_attachment(db: &Db, record: &Record, base_url: &str) -> Map<String, Value> {
    let Some(t) = db.table_index("sys_attachment") else {
        return Map::new();
    };
    let opts = RenderOptions {
        exclude_reference_link: true,
        base_url: base_url.to_string(),
        ..Default::default()
    };
    let mut out = render_record(db, t, record, &opts);
    out.insert(
        "download_link".to_string(),
        json!(format!(
            "{base_url}/api/now/attachment/{}/file",
            record.get(0)
        )),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_display_with_thousands_separators() {
        assert_eq!(thousands("102197"), "102,197");
        assert_eq!(thousands("-1234"), "-1,234");
        assert_eq!(thousands("12"), "12");
        assert_eq!(thousands("x"), "x");
    }
}
