//! Persistence for sandboxes started with `--data FILE`: an append-only log of JSON lines.
//!
//! The file starts with a header line, then holds a snapshot of the state as operations,
//! then every later change. Each change is written and flushed before its request is
//! answered, so a killed process loses nothing it acknowledged. On start the log is replayed
//! and compacted into a fresh snapshot (written beside it, synced, then renamed over it), so
//! the file never holds a half-written snapshot. A torn last line from a crash is ignored.
//! A change whose write fails is cut back off the file, so it cannot reappear on restart.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Errors of the data file, each naming the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum OpLogError {
    /// Reading or writing failed.
    #[error("data file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a data file of this sandbox.
    #[error("data file {path} is not a twinsync {expected} sandbox file (found {found}); pass another --data path")]
    WrongKind {
        /// The file.
        path: PathBuf,
        /// The sandbox kind expected.
        expected: String,
        /// What the header says.
        found: String,
    },
    /// A line other than the last cannot be read: the file was damaged, not just cut short.
    #[error("data file {path} is damaged at line {line}: {reason}; it was left untouched — restore a backup or pass another --data path")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The parse error.
        reason: String,
    },
}

#[derive(Serialize, Deserialize)]
struct Header {
    twinsync_sandbox: String,
    format: u32,
}

const FORMAT: u32 = 1;

/// An open data file, appended to as the state changes.
pub struct OpLog {
    path: PathBuf,
    file: File,
    /// The length of the file up to the last complete change.
    len: u64,
    appended: u64,
}

impl std::fmt::Debug for OpLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpLog").field("path", &self.path).finish()
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> OpLogError + '_ {
    move |source| OpLogError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl OpLog {
    /// Reads every operation of an existing file; `None` when there is no file yet.
    pub fn load<Op: DeserializeOwned>(
        path: &Path,
        kind: &str,
    ) -> Result<Option<Vec<Op>>, OpLogError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(path)(e)),
        };
        // An empty file (created by hand, or before the first snapshot) is a new instance.
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        // Split on bytes, not text: a line torn inside a multi-byte character is still
        // recognised as torn rather than failing the whole load.
        let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
        if lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        let header: Header =
            serde_json::from_slice(lines[0]).map_err(|_| OpLogError::WrongKind {
                path: path.to_path_buf(),
                expected: kind.to_string(),
                found: "no twinsync header".to_string(),
            })?;
        if header.twinsync_sandbox != kind || header.format != FORMAT {
            return Err(OpLogError::WrongKind {
                path: path.to_path_buf(),
                expected: kind.to_string(),
                found: format!("{} format {}", header.twinsync_sandbox, header.format),
            });
        }
        let mut ops = Vec::with_capacity(lines.len());
        let last = lines.len() - 1;
        for (i, line) in lines.iter().enumerate().skip(1) {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice(line) {
                Ok(op) => ops.push(op),
                Err(e) if i == last => {
                    tracing::warn!(path = %path.display(), line = i + 1, error = %e,
                        "ignoring a torn last line of the data file (the process was stopped mid-write)");
                }
                Err(e) => {
                    return Err(OpLogError::Corrupt {
                        path: path.to_path_buf(),
                        line: i + 1,
                        reason: e.to_string(),
                    })
                }
            }
        }
        Ok(Some(ops))
    }

    /// Writes `snapshot` as the whole new content of the file (atomically) and opens it for
    /// appending.
    pub fn create<'a, Op: Serialize + 'a>(
        path: &Path,
        kind: &str,
        snapshot: impl IntoIterator<Item = &'a Op>,
    ) -> Result<OpLog, OpLogError> {
        let tmp = temp_path(path);
        {
            let file = File::create(&tmp).map_err(io_err(&tmp))?;
            let mut w = BufWriter::new(file);
            let header = Header {
                twinsync_sandbox: kind.to_string(),
                format: FORMAT,
            };
            write_line(&mut w, &header).map_err(io_err(&tmp))?;
            for op in snapshot {
                write_line(&mut w, op).map_err(io_err(&tmp))?;
            }
            w.flush().map_err(io_err(&tmp))?;
            w.get_ref().sync_all().map_err(io_err(&tmp))?;
        }
        std::fs::rename(&tmp, path).map_err(io_err(path))?;
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(io_err(path))?;
        let len = file.metadata().map_err(io_err(path))?.len();
        Ok(OpLog {
            path: path.to_path_buf(),
            file,
            len,
            appended: 0,
        })
    }

    /// Appends operations and hands them to the operating system before returning. On
    /// failure the file is cut back to its previous length, so a change that was refused
    /// cannot be replayed later, even in part.
    pub fn append<Op: Serialize>(&mut self, ops: &[Op]) -> Result<(), OpLogError> {
        let mut batch = Vec::new();
        for op in ops {
            write_line(&mut batch, op).map_err(io_err(&self.path))?;
        }
        if let Err(e) = self.file.write_all(&batch).and_then(|()| self.file.flush()) {
            if let Err(cut) = self.file.set_len(self.len) {
                tracing::error!(path = %self.path.display(), error = %cut,
                    "cannot cut a failed change off the data file");
            }
            return Err(io_err(&self.path)(e));
        }
        self.len += batch.len() as u64;
        self.appended += ops.len() as u64;
        Ok(())
    }

    /// Replaces the file behind `log` (if any) with `snapshot`, to compact it or after a
    /// reset. On failure the old file stays in place, appends continue there, and the error
    /// says why.
    pub fn rewrite<'a, Op: Serialize + 'a>(
        log: &mut Option<OpLog>,
        kind: &str,
        snapshot: impl IntoIterator<Item = &'a Op>,
    ) -> Result<(), OpLogError> {
        let Some(current) = log.as_ref() else {
            return Ok(());
        };
        let path = current.path().to_path_buf();
        let fresh = OpLog::create(&path, kind, snapshot).inspect_err(|e| {
            tracing::error!(error = %e, "cannot rewrite the data file; appending to the old one")
        })?;
        *log = Some(fresh);
        Ok(())
    }

    /// Operations appended since the last snapshot, to decide when to compact.
    pub fn appended(&self) -> u64 {
        self.appended
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `FILE.tmp` beside `FILE`: never the data file itself, whatever its extension, and
/// distinct for `a.json` and `a.jsonl`.
fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

fn write_line<T: Serialize>(w: &mut impl Write, value: &T) -> std::io::Result<()> {
    serde_json::to_writer(&mut *w, value)?;
    w.write_all(b"\n")
}

/// Binary content (attachments, files) as base64 text in a data file, for `#[serde(with)]`.
pub mod base64_bytes {
    use base64::Engine;
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the bytes as base64.
    pub fn serialize<S: Serializer>(data: &Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(data))
    }

    /// Reads base64 back into bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map(Bytes::from)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Op {
        Set(u32),
        Note(String),
    }

    fn tmpdir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "twinsync-oplog-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn snapshot_then_appends_are_read_back_in_order() {
        let path = tmpdir().join("data.jsonl");
        assert!(OpLog::load::<Op>(&path, "test").unwrap().is_none());
        let mut log = OpLog::create(&path, "test", &[Op::Set(1)]).unwrap();
        log.append(&[Op::Set(2), Op::Set(3)]).unwrap();
        drop(log);
        let ops: Vec<Op> = OpLog::load(&path, "test").unwrap().unwrap();
        assert_eq!(ops, [Op::Set(1), Op::Set(2), Op::Set(3)]);
    }

    #[test]
    fn a_torn_last_line_is_ignored_but_damage_elsewhere_is_refused() {
        let path = tmpdir().join("data.jsonl");
        let mut log = OpLog::create(&path, "test", &[Op::Set(1)]).unwrap();
        log.append(&[Op::Set(2)]).unwrap();
        drop(log);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"Set\":");
        std::fs::write(&path, &text).unwrap();
        let ops: Vec<Op> = OpLog::load(&path, "test").unwrap().unwrap();
        assert_eq!(ops, [Op::Set(1), Op::Set(2)]);

        let damaged = text.replacen("{\"Set\":1}", "garbage", 1);
        std::fs::write(&path, damaged).unwrap();
        let err = OpLog::load::<Op>(&path, "test").unwrap_err();
        assert!(matches!(err, OpLogError::Corrupt { line: 2, .. }), "{err}");
    }

    #[test]
    fn a_line_torn_inside_a_multibyte_character_is_ignored() {
        let path = tmpdir().join("data.jsonl");
        let mut log = OpLog::create(&path, "test", &[Op::Set(1)]).unwrap();
        log.append(&[Op::Set(2)]).unwrap();
        drop(log);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice("{\"Note\":\"caf".as_bytes());
        bytes.push(0xc3); // the first byte of "é", cut off
        std::fs::write(&path, bytes).unwrap();
        let ops: Vec<Op> = OpLog::load(&path, "test").unwrap().unwrap();
        assert_eq!(ops, [Op::Set(1), Op::Set(2)]);
    }

    #[test]
    fn an_empty_file_is_a_new_instance() {
        let path = tmpdir().join("data.jsonl");
        std::fs::write(&path, "\n").unwrap();
        assert!(OpLog::load::<Op>(&path, "test").unwrap().is_none());
    }

    #[test]
    fn the_temp_file_is_never_the_data_file() {
        let p = Path::new("/d/state.tmp");
        assert_eq!(temp_path(p), Path::new("/d/state.tmp.tmp"));
        assert_ne!(
            temp_path(Path::new("a.json")),
            temp_path(Path::new("a.jsonl"))
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_failed_append_leaves_the_log_consistent_for_the_next_one() {
        let path = tmpdir().join("data.jsonl");
        let mut log = OpLog::create(&path, "test", &[Op::Set(1)]).unwrap();
        let good_len = std::fs::metadata(&path).unwrap().len();
        // Writing to /dev/full always fails with ENOSPC: the append must fail and must not
        // count the failed bytes as part of the log.
        let real = std::mem::replace(
            &mut log.file,
            OpenOptions::new().append(true).open("/dev/full").unwrap(),
        );
        assert!(log.append(&[Op::Set(2)]).is_err());
        assert_eq!(log.len, good_len);
        assert_eq!(log.appended, 0);
        log.file = real;
        log.append(&[Op::Set(3)]).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), log.len);
        let ops: Vec<Op> = OpLog::load(&path, "test").unwrap().unwrap();
        assert_eq!(ops, [Op::Set(1), Op::Set(3)]);
    }

    #[test]
    fn a_file_of_another_kind_is_refused() {
        let path = tmpdir().join("data.jsonl");
        OpLog::create(&path, "salesforce", &[Op::Set(1)]).unwrap();
        let err = OpLog::load::<Op>(&path, "servicenow").unwrap_err();
        assert!(err
            .to_string()
            .contains("not a twinsync servicenow sandbox file"));
    }
}
