//! Group commit: the database lives on one thread, which runs the calls waiting for it
//! together in one transaction and syncs the disk once for all of them. With
//! `synchronous=FULL` every commit waits for the disk; a node applying many changes at once
//! would otherwise wait once per change. A caller still hears back only after its work is
//! durable, and a failing call rolls back its own savepoint, not its neighbours' work.

use super::Cached;
use crate::error::{Result, StoreError};
use rusqlite::Connection as Db;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;

/// Calls run in one transaction at most.
const GROUP_MAX: usize = 64;

/// What a call leaves to do once its group's commit is known: hand its result over.
type Completion = Box<dyn FnOnce(std::result::Result<(), &str>) + Send>;
/// A call waiting for the database, or told why it will not get it; it says whether it
/// succeeded and leaves its completion.
type Job = Box<dyn FnOnce(std::result::Result<&mut Db, &str>) -> (bool, Completion) + Send>;

/// The handle callers send work through; the thread stops when the last handle is gone.
#[derive(Clone)]
pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Moves `db` onto its own thread.
    pub(super) fn start(db: Db) -> Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("twinsync-store".into())
            .spawn(move || serve(db, queue))
            .map_err(|e| StoreError::Worker(format!("cannot start the database thread: {e}")))?;
        Ok(Writer { jobs })
    }

    /// Runs `f` on the database and answers once what it wrote is committed.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Db) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |db: std::result::Result<&mut Db, &str>| {
            let result = match db {
                Ok(db) => f(db),
                Err(reason) => Err(StoreError::Commit(reason.to_string())),
            };
            let ok = result.is_ok();
            let completion: Completion = Box::new(move |committed| {
                let result = match (result, committed) {
                    (Ok(_), Err(e)) => Err(StoreError::Commit(e.to_string())),
                    (result, _) => result,
                };
                let _ = answer.send(result);
            });
            (ok, completion)
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Worker("the database thread has stopped".into()))?;
        answered
            .await
            .map_err(|_| StoreError::Worker("a database call panicked; see the log".into()))?
    }
}

/// The database thread: takes the calls waiting, runs them in one transaction, commits.
fn serve(mut db: Db, queue: mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < GROUP_MAX {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = db.exec("BEGIN IMMEDIATE", []) {
            let e = e.to_string();
            for job in group {
                job(Err(&e)).1(Err(&e));
            }
            continue;
        }
        let mut done: Vec<Completion> = Vec::with_capacity(group.len());
        let mut lost: Option<String> = None;
        for job in group {
            if let Some(e) = &lost {
                job(Err(e)).1(Err(e));
                continue;
            }
            // Each call runs in a savepoint of its own, so a call that fails or panics
            // leaves nothing behind, whatever its own code does.
            if let Err(e) = db.exec("SAVEPOINT call", []) {
                let e = e.to_string();
                job(Err(&e)).1(Err(&e));
                continue;
            }
            // After a panic the caller's answer channel is gone with the unwinding: it
            // hears that the call panicked (the message went to stderr).
            let ok = match catch_unwind(AssertUnwindSafe(|| job(Ok(&mut db)))) {
                Ok((ok, completion)) => {
                    done.push(completion);
                    ok
                }
                Err(_) => false,
            };
            // SQLite rolls a whole transaction back on some errors (a full disk, say): what
            // ran before is gone and what comes after must not run outside the group.
            if db.is_autocommit() {
                lost = Some("the transaction was rolled back by the database".into());
                continue;
            }
            let closed = if ok {
                db.exec("RELEASE call", [])
            } else {
                db.exec("ROLLBACK TO call", [])
                    .and_then(|_| db.exec("RELEASE call", []))
            };
            if let Err(e) = closed {
                lost = Some(format!("a call's savepoint could not be closed: {e}"));
            }
        }
        let outcome = match &lost {
            Some(e) => Err(e.clone()),
            None => db.exec("COMMIT", []).map(drop).map_err(|e| e.to_string()),
        };
        if outcome.is_err() && !db.is_autocommit() {
            let _ = db.execute_batch("ROLLBACK");
        }
        for completion in done {
            completion(outcome.as_ref().map(|_| ()).map_err(String::as_str));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc as std_mpsc;

    fn writer() -> Writer {
        let db = Db::open_in_memory().unwrap();
        db.execute_batch("CREATE TABLE t (v INTEGER NOT NULL)")
            .unwrap();
        Writer::start(db).unwrap()
    }

    /// Holds the database thread until the returned sender fires, so the calls sent
    /// meanwhile wait together and run as one group.
    fn hold(w: &Writer) -> (std_mpsc::Sender<()>, tokio::task::JoinHandle<Result<()>>) {
        let (release, wait) = std_mpsc::channel::<()>();
        let w = w.clone();
        let held = tokio::spawn(async move {
            w.run(move |_| {
                let _ = wait.recv();
                Ok(())
            })
            .await
        });
        (release, held)
    }

    fn insert(w: &Writer, v: i64) -> impl std::future::Future<Output = Result<usize>> {
        let w = w.clone();
        async move {
            w.run(move |db| Ok(db.execute("INSERT INTO t (v) VALUES (?1)", [v])?))
                .await
        }
    }

    /// Sends `f` to the database from a task of its own.
    fn spawn<T: Send + 'static>(
        w: &Writer,
        f: impl FnOnce(&mut Db) -> Result<T> + Send + 'static,
    ) -> tokio::task::JoinHandle<Result<T>> {
        let w = w.clone();
        tokio::spawn(async move { w.run(f).await })
    }

    async fn count(w: &Writer) -> i64 {
        w.run(|db| Ok(db.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?))
            .await
            .unwrap()
    }

    /// Gives the spawned calls time to reach the queue behind the held thread.
    async fn queued() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_call_in_a_group_keeps_its_neighbours_work() {
        let w = writer();
        let (release, held) = hold(&w);
        queued().await;
        let mut calls = Vec::new();
        for v in 0..10 {
            calls.push(tokio::spawn(insert(&w, v)));
        }
        let failing = spawn(&w, |db| {
            let sp = db.savepoint()?;
            sp.execute("INSERT INTO t (v) VALUES (99)", [])?;
            sp.execute("INSERT INTO t (v) VALUES (NULL)", [])?;
            sp.commit()?;
            Ok(())
        });
        queued().await;
        release.send(()).unwrap();
        held.await.unwrap().unwrap();
        for c in calls {
            assert_eq!(c.await.unwrap().unwrap(), 1);
        }
        assert!(matches!(failing.await.unwrap(), Err(StoreError::Sqlite(_))));
        assert_eq!(
            count(&w).await,
            10,
            "the failing call's first insert is rolled back"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_call_that_fails_after_writing_leaves_nothing_even_without_a_savepoint() {
        let w = writer();
        let (release, held) = hold(&w);
        queued().await;
        let before = tokio::spawn(insert(&w, 1));
        queued().await;
        let failing = spawn(&w, |db| -> Result<()> {
            db.execute("INSERT INTO t (v) VALUES (5)", [])?;
            Err(StoreError::Conflict("refused after writing".into()))
        });
        queued().await;
        let panicking = spawn(&w, |db| -> Result<()> {
            db.execute("INSERT INTO t (v) VALUES (6)", [])?;
            panic!("a bug after writing");
        });
        queued().await;
        let after = tokio::spawn(insert(&w, 2));
        queued().await;
        release.send(()).unwrap();
        held.await.unwrap().unwrap();
        assert_eq!(before.await.unwrap().unwrap(), 1);
        assert!(matches!(
            failing.await.unwrap(),
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            panicking.await.unwrap(),
            Err(StoreError::Worker(_))
        ));
        assert_eq!(after.await.unwrap().unwrap(), 1);
        let kept: Vec<i64> = w
            .run(|db| {
                let mut st = db.prepare("SELECT v FROM t ORDER BY v")?;
                let rows = st.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<rusqlite::Result<Vec<i64>>>()?)
            })
            .await
            .unwrap();
        assert_eq!(kept, [1, 2]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_group_whose_transaction_is_lost_fails_every_call_in_it() {
        let w = writer();
        let (release, held) = hold(&w);
        queued().await;
        let before = tokio::spawn(insert(&w, 1));
        queued().await;
        let breaker = spawn(&w, |db| Ok(db.execute_batch("ROLLBACK")?));
        queued().await;
        let after = tokio::spawn(insert(&w, 2));
        queued().await;
        release.send(()).unwrap();
        held.await.unwrap().unwrap();
        assert!(matches!(before.await.unwrap(), Err(StoreError::Commit(_))));
        assert!(matches!(breaker.await.unwrap(), Err(StoreError::Commit(_))));
        assert!(matches!(after.await.unwrap(), Err(StoreError::Commit(_))));
        assert_eq!(count(&w).await, 0, "nothing of the lost group was kept");
        // The thread goes on with the next group.
        assert_eq!(insert(&w, 3).await.unwrap(), 1);
        assert_eq!(count(&w).await, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_call_is_reported_and_its_group_commits() {
        let w = writer();
        let (release, held) = hold(&w);
        queued().await;
        let first = tokio::spawn(insert(&w, 1));
        queued().await;
        let panicking = spawn(&w, |db| -> Result<()> {
            let sp = db.savepoint()?;
            sp.execute("INSERT INTO t (v) VALUES (7)", [])?;
            panic!("a bug in a store call");
        });
        queued().await;
        release.send(()).unwrap();
        held.await.unwrap().unwrap();
        assert_eq!(first.await.unwrap().unwrap(), 1);
        assert!(matches!(
            panicking.await.unwrap(),
            Err(StoreError::Worker(_))
        ));
        assert_eq!(
            count(&w).await,
            1,
            "the panicking call's insert is rolled back"
        );
    }
}
