//! Persistence for sandboxes started with `--data FILE`: an append-only log of JSON lines.
//!
//! The file starts with a header line, then holds a snapshot of the state as operations,
//! then every later change. Each change is written and flushed before its request is
//! answered, so a killed process loses nothing it acknowledged. On start the log is replayed
//! and compacted into a fresh snapshot (written beside it, synced, then renamed over it), so
//! the file never holds a half-written snapshot. A torn last line from a crash is ignored.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
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
    writer: BufWriter<File>,
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
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(path)(e)),
        };
        let lines: Vec<String> = BufReader::new(file)
            .lines()
            .collect::<Result<_, _>>()
            .map_err(io_err(path))?;
        let Some(first) = lines.first() else {
            return Ok(Some(Vec::new()));
        };
        let header: Header = serde_json::from_str(first).map_err(|_| OpLogError::WrongKind {
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
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str(line) {
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
        let tmp = path.with_extension("tmp");
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
        Ok(OpLog {
            path: path.to_path_buf(),
            writer: BufWriter::new(file),
            appended: 0,
        })
    }

    /// Appends operations and flushes them to the operating system before returning.
    pub fn append<Op: Serialize>(&mut self, ops: &[Op]) -> Result<(), OpLogError> {
        for op in ops {
            write_line(&mut self.writer, op).map_err(io_err(&self.path))?;
        }
        self.writer.flush().map_err(io_err(&self.path))?;
        self.appended += ops.len() as u64;
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

fn write_line<T: Serialize>(w: &mut impl Write, value: &T) -> std::io::Result<()> {
    serde_json::to_writer(&mut *w, value)?;
    w.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Op {
        Set(u32),
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
    fn a_file_of_another_kind_is_refused() {
        let path = tmpdir().join("data.jsonl");
        OpLog::create(&path, "salesforce", &[Op::Set(1)]).unwrap();
        let err = OpLog::load::<Op>(&path, "servicenow").unwrap_err();
        assert!(err
            .to_string()
            .contains("not a twinsync servicenow sandbox file"));
    }
}
