//! The archive of a full export: a zip (deflate) with
//! - `tables/<table>.ndjson`: one JSON object per row, columns in registry order (sealed columns
//!   decrypted and named without `_enc`; `"_erased": [...]` lists those whose key was destroyed);
//! - `csv/<table>.csv`: the same rows for spreadsheets (header row, RFC 4180 quoting; a text cell
//!   starting with `=`, `+`, `-`, `@`, tab or carriage return gets a leading `'` so a spreadsheet
//!   does not run it as a formula);
//! - `index.html`: self-contained (no scripts, no external resources), the tables with their
//!   counts and the first [`HTML_ROWS_PER_TABLE`] rows of each, everything escaped;
//! - `manifest.json`: format version, community, subject, time, registry version, and each
//!   file's path, rows, SHA-256 and size (of its uncompressed content).

use std::fs::File;
use std::io::{BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

use classcred_store::export::{ExportRow, ExportSubject};
use classcred_store::registry::export::{exported_tables, registry_version};
use classcred_store::{CommunityId, Store};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

use super::ExportError;

/// The archive layout version (`manifest.json` `format_version`).
pub const FORMAT_VERSION: u32 = 1;
/// Rows per table rendered in `index.html`; the CSV and NDJSON files hold them all.
pub const HTML_ROWS_PER_TABLE: usize = 200;
/// Rows read per page.
const PAGE: u32 = 500;

/// One file of the archive, as listed in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ManifestFile {
    pub path: String,
    pub rows: u64,
    pub sha256: String,
    pub bytes: u64,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub community_id: String,
    /// `community` or `member:<member row id>`.
    pub subject: String,
    pub generated_at: String,
    pub registry_version: String,
    pub files: Vec<ManifestFile>,
}

/// Counts a writer's bytes and hashes them.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Hashing<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hash: Sha256::new(),
            bytes: 0,
        }
    }
    fn finish(self) -> (W, String, u64) {
        (self.inner, hex::encode(self.hash.finalize()), self.bytes)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Escape text for HTML element content and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A CSV cell's text: strings guarded against formula injection, other values as JSON.
pub fn csv_cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => {
            if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{s}")
            } else {
                s.clone()
            }
        }
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => {
            let s = other.to_string();
            if s.starts_with(['=', '+', '-', '@']) {
                format!("'{s}")
            } else {
                s
            }
        }
    }
}

fn cell_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One row as a JSON object, columns in order.
fn ndjson_line(row: &ExportRow) -> Result<String, ExportError> {
    let mut line = String::from("{");
    for (i, (name, v)) in row.values.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        line.push_str(&serde_json::to_string(name)?);
        line.push(':');
        line.push_str(&serde_json::to_string(v)?);
    }
    if !row.erased.is_empty() {
        line.push_str(",\"_erased\":");
        line.push_str(&serde_json::to_string(&row.erased)?);
    }
    line.push_str("}\n");
    Ok(line)
}

/// Build the archive of `subject` in `community` into `out` (created 0600; must not exist),
/// calling `progress(rows done, rows total)` after each page.
pub async fn write_archive(
    store: &Store,
    community: &CommunityId,
    subject: &ExportSubject,
    out: &Path,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Manifest, ExportError> {
    write_archive_recording(store, community, subject, out, progress, None).await
}

/// [`write_archive`], also recording the progress on the export row `record` after each page.
pub(super) async fn write_archive_recording(
    store: &Store,
    community: &CommunityId,
    subject: &ExportSubject,
    out: &Path,
    progress: &mut (dyn FnMut(u64, u64) + Send),
    record: Option<&super::ExportJob>,
) -> Result<Manifest, ExportError> {
    let tables = exported_tables();
    let mut counts = Vec::with_capacity(tables.len());
    for (rule, _) in &tables {
        counts.push(store.export_count(community, rule, subject).await?);
    }
    let total: u64 = counts.iter().sum();
    progress(0, total);
    let file = create_private(out)?;
    let mut zip = zip::ZipWriter::new(BufWriter::new(file));
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o600);
    let csv_tmp = tmp_path(out, "csv");
    let mut files = Vec::new();
    let mut html_sections = String::new();
    let mut toc = String::new();
    let mut done = 0u64;
    let result: Result<(), ExportError> = async {
        for ((rule, columns), count) in tables.iter().zip(&counts) {
            let names: Vec<String> = columns
                .iter()
                .map(|(c, r)| classcred_store::export::output_column_name(c, *r))
                .collect();
            zip.start_file(format!("tables/{}.ndjson", rule.table), opts)?;
            let mut nd = Hashing::new(&mut zip);
            let mut csv_w = csv::Writer::from_writer(Hashing::new(BufWriter::new(
                create_private(&csv_tmp)?,
            )));
            csv_w.write_record(&names)?;
            let mut html_rows = String::new();
            let mut rows = 0u64;
            let mut after: Option<Vec<Value>> = None;
            loop {
                let page = store
                    .export_page(community, rule, columns, subject, after.as_deref(), PAGE)
                    .await?;
                let n = page.len();
                for row in &page {
                    nd.write_all(ndjson_line(row)?.as_bytes())?;
                    let cells: Vec<String> = row
                        .values
                        .iter()
                        .map(|(name, v)| {
                            if v.is_null() && row.erased.contains(name) {
                                "[erased]".to_owned()
                            } else {
                                csv_cell(v)
                            }
                        })
                        .collect();
                    csv_w.write_record(&cells)?;
                    if (rows as usize) < HTML_ROWS_PER_TABLE {
                        html_rows.push_str("<tr>");
                        for (name, v) in &row.values {
                            let text = if v.is_null() && row.erased.contains(name) {
                                "[erased]".to_owned()
                            } else {
                                cell_text(v)
                            };
                            html_rows.push_str(&format!("<td>{}</td>", html_escape(&text)));
                        }
                        html_rows.push_str("</tr>\n");
                    }
                    rows += 1;
                }
                done += n as u64;
                progress(done, total.max(done));
                if let Some(job) = record {
                    super::set_state(store, job, "running", done, total.max(done)).await?;
                }
                match page.last() {
                    Some(last) if n == PAGE as usize => after = Some(last.key.clone()),
                    _ => break,
                }
            }
            let (_, sha, bytes) = nd.finish();
            files.push(ManifestFile {
                path: format!("tables/{}.ndjson", rule.table),
                rows,
                sha256: sha,
                bytes,
            });
            let hashing = csv_w
                .into_inner()
                .map_err(|e| ExportError::Io(std::io::Error::other(e.to_string())))?;
            let (mut w, sha, bytes) = hashing.finish();
            w.flush()?;
            drop(w);
            zip.start_file(format!("csv/{}.csv", rule.table), opts)?;
            let mut f = File::open(&csv_tmp)?;
            std::io::copy(&mut f, &mut zip)?;
            drop(f);
            std::fs::remove_file(&csv_tmp)?;
            files.push(ManifestFile {
                path: format!("csv/{}.csv", rule.table),
                rows,
                sha256: sha,
                bytes,
            });
            let _ = count;
            toc.push_str(&format!(
                "<li><a href=\"#t-{t}\">{t}</a>: {rows} rows</li>\n",
                t = html_escape(rule.table)
            ));
            html_sections.push_str(&format!(
                "<section id=\"t-{t}\"><h2>{t}</h2><p>{rows} rows.{note} All rows: <code>csv/{t}.csv</code>, <code>tables/{t}.ndjson</code>.</p>\n",
                t = html_escape(rule.table),
                note = if rows as usize > HTML_ROWS_PER_TABLE {
                    format!(" Only the first {HTML_ROWS_PER_TABLE} are shown here.")
                } else {
                    String::new()
                }
            ));
            if rows > 0 {
                html_sections.push_str("<div class=\"scroll\"><table><thead><tr>");
                for n in &names {
                    html_sections.push_str(&format!("<th scope=\"col\">{}</th>", html_escape(n)));
                }
                html_sections.push_str("</tr></thead><tbody>\n");
                html_sections.push_str(&html_rows);
                html_sections.push_str("</tbody></table></div>");
            }
            html_sections.push_str("</section>\n");
        }
        Ok(())
    }
    .await;
    let _ = std::fs::remove_file(&csv_tmp);
    result?;
    let subject_text = match subject {
        ExportSubject::Community => "community".to_owned(),
        ExportSubject::Member(m) => format!("member:{m}"),
    };
    let generated_at = store.clock().now().to_rfc3339();
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>ClassCred export</title><style>body{{font-family:sans-serif;margin:1rem}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:.2rem .4rem;\
         vertical-align:top;text-align:left}}.scroll{{overflow-x:auto}}</style></head><body>\n\
         <h1>ClassCred export</h1>\n<p>Community <code>{c}</code>, subject <code>{s}</code>, \
         generated {g}. Every file is listed with its SHA-256 in <code>manifest.json</code>.</p>\n\
         <h2>Tables</h2><ul>\n{toc}</ul>\n{html_sections}</body></html>\n",
        c = html_escape(community.as_str()),
        s = html_escape(&subject_text),
        g = html_escape(&generated_at),
    );
    zip.start_file("index.html", opts)?;
    let mut h = Hashing::new(&mut zip);
    h.write_all(html.as_bytes())?;
    let (_, sha, bytes) = h.finish();
    files.push(ManifestFile {
        path: "index.html".into(),
        rows: 0,
        sha256: sha,
        bytes,
    });
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        community_id: community.to_string(),
        subject: subject_text,
        generated_at,
        registry_version: registry_version(),
        files,
    };
    zip.start_file("manifest.json", opts)?;
    zip.write_all(serde_json::to_string_pretty(&manifest)?.as_bytes())?;
    let mut w = zip.finish()?;
    w.flush()?;
    w.get_ref().sync_all()?;
    Ok(manifest)
}

fn tmp_path(out: &Path, ext: &str) -> PathBuf {
    let mut name = out
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".{ext}.tmp"));
    out.with_file_name(name)
}

/// Create a new file readable by its owner only; refuses an existing path.
pub fn create_private(path: &Path) -> std::io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

/// SHA-256 (hex) and size of a file.
pub fn file_sha256(path: &Path) -> std::io::Result<(String, u64)> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut n_total = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        n_total += n as u64;
    }
    let _ = f.stream_position();
    Ok((hex::encode(h.finalize()), n_total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_guarded_against_formulas() {
        assert_eq!(csv_cell(&Value::String("=1+1".into())), "'=1+1");
        assert_eq!(csv_cell(&Value::String("+x".into())), "'+x");
        assert_eq!(csv_cell(&Value::String("-x".into())), "'-x");
        assert_eq!(csv_cell(&Value::String("@SUM(A1)".into())), "'@SUM(A1)");
        assert_eq!(csv_cell(&Value::String("plain".into())), "plain");
        assert_eq!(csv_cell(&serde_json::json!(-5)), "-5");
        assert_eq!(csv_cell(&Value::Null), "");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            html_escape("<script>\"&'"),
            "&lt;script&gt;&quot;&amp;&#39;"
        );
    }
}
