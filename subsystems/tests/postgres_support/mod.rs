//! Shared by the Postgres capture tests: a database of its own per test, unique slot and role
//! names, cleanup that runs even when a test fails, and waiting on conditions with deadlines.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use subsystems::change::Change;
use subsystems::source::postgres::{ChangeStream, PgSource};
use tokio::time::Instant;
use tokio_postgres::Client;

pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The message of every Postgres test without a server.
pub const NO_DATABASE: &str =
    "DATABASE_URL is not set: run `bash tests/run.sh`, which starts PostgreSQL";

/// The server to test against: `DATABASE_URL`, or an error saying how to get one.
pub fn database_url() -> TestResult<String> {
    std::env::var("DATABASE_URL").map_err(|_| NO_DATABASE.into())
}

/// A name no other test (or test run) uses: `prefix_<pid>_<n>`.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A database of its own, dropped with its slots (and the roles the test made) at the end,
/// whether the test passed or not.
pub struct TestDb {
    pub name: String,
    /// The superuser connection settings of the test database.
    pub source: PgSource,
    /// A superuser connection to the test database.
    pub client: Client,
    admin: PgSource,
    slots: Vec<String>,
    roles: Vec<String>,
}

impl TestDb {
    /// Creates the database and runs `schema` in it.
    pub async fn create(prefix: &str, schema: &str) -> TestResult<Self> {
        let admin = PgSource::from_url(&database_url()?)?;
        let name = unique(prefix);
        admin
            .connect()
            .await?
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        let source = admin.with_database(&name);
        let client = source.connect().await?;
        client.batch_execute(schema).await?;
        Ok(Self {
            name,
            source,
            client,
            admin,
            slots: Vec::new(),
            roles: Vec::new(),
        })
    }

    /// A slot name, dropped at the end.
    pub fn slot(&mut self) -> String {
        let slot = unique("slot");
        self.slots.push(slot.clone());
        slot
    }

    /// A role name (the test creates the role), dropped at the end.
    pub fn role(&mut self) -> String {
        let role = unique("role");
        self.roles.push(role.clone());
        role
    }

    /// A new superuser connection to the test database.
    pub async fn connect(&self) -> TestResult<Client> {
        Ok(self.source.connect().await?)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let name = self.name.clone();
        let slots = std::mem::take(&mut self.slots);
        let roles = std::mem::take(&mut self.roles);
        // Drop cannot await, and may run inside the test's runtime: clean up on a thread with
        // a runtime of its own.
        let cleanup = std::thread::spawn(move || -> TestResult {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let client = admin.connect().await?;
                for slot in &slots {
                    drop_slot(&client, slot).await?;
                }
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await?;
                for role in &roles {
                    client
                        .batch_execute(&format!("DROP ROLE IF EXISTS \"{role}\""))
                        .await?;
                }
                Ok(())
            })
        });
        match cleanup.join() {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("cleanup of test database {}: {error}", self.name),
            Err(_) => eprintln!("cleanup of test database {} panicked", self.name),
        }
    }
}

/// Drops `slot` if it exists, ending the walsender that holds it.
pub async fn drop_slot(client: &Client, slot: &str) -> TestResult {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        client
            .execute(
                "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots
                 WHERE slot_name = $1 AND active_pid IS NOT NULL",
                &[&slot],
            )
            .await?;
        match client
            .execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
                 WHERE slot_name = $1",
                &[&slot],
            )
            .await
        {
            Ok(_) => return Ok(()),
            // Still active: the terminated walsender has not exited yet.
            Err(error) if Instant::now() < deadline => {
                let _ = error;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// Polls `check` until it returns `Some`, failing with `what` after `within`.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut check: F) -> TestResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = TestResult<Option<T>>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            return Err(format!("timed out after {within:?} waiting for {what}").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads changes until `done` says so, failing after `within` with what was read.
pub async fn read_until(
    stream: &mut ChangeStream,
    within: Duration,
    mut done: impl FnMut(&[Change]) -> bool,
) -> TestResult<Vec<Change>> {
    let deadline = Instant::now() + within;
    let mut all = Vec::new();
    while !done(&all) {
        match tokio::time::timeout_at(deadline, stream.next_batch(1_000)).await {
            Ok(batch) => all.extend(batch?),
            Err(_) => {
                return Err(format!(
                    "timed out after {within:?} with {} changes read; last: {:?}",
                    all.len(),
                    all.last()
                )
                .into())
            }
        }
    }
    Ok(all)
}

/// Reads `n` changes; fails if the batch that reaches `n` goes past it.
pub async fn read_n(
    stream: &mut ChangeStream,
    n: usize,
    within: Duration,
) -> TestResult<Vec<Change>> {
    let all = read_until(stream, within, |all| all.len() >= n).await?;
    if all.len() > n {
        return Err(format!("expected {n} changes, got {}: {:?}", all.len(), &all[n..]).into());
    }
    Ok(all)
}

/// Waits until the stream has confirmed a position past `position` (the commit of the last
/// transaction read may still be on its way when its changes are), keeping it polled.
pub async fn confirmed_past(stream: &mut ChangeStream, position: u64) -> TestResult<u64> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let batch = stream.try_batch(10).await?;
        if !batch.is_empty() {
            return Err(format!("unexpected changes: {batch:?}").into());
        }
        let confirmed = stream.confirmed().0;
        if confirmed > position {
            return Ok(confirmed);
        }
        if Instant::now() >= deadline {
            return Err(format!("confirmed {confirmed} still not past {position}").into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
