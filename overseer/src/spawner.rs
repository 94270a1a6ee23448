//! Where subsystems and their jobs run.

use std::sync::Arc;

use futures::future::BoxFuture;

/// Something that runs futures: the overseer spawns every subsystem and every job through it.
///
/// The signature is orchestra's, so existing spawners keep working.
pub trait Spawner: Clone + Send + Sync {
    /// Run `future` where it may block a thread.
    fn spawn_blocking(
        &self,
        name: &'static str,
        group: Option<&'static str>,
        future: BoxFuture<'static, ()>,
    );
    /// Run `future` on the executor.
    fn spawn(
        &self,
        name: &'static str,
        group: Option<&'static str>,
        future: BoxFuture<'static, ()>,
    );
}

/// A [`Spawner`] on a tokio runtime; blocking futures run on tokio's blocking pool.
#[derive(Debug, Clone)]
pub struct TokioSpawner {
    handle: tokio::runtime::Handle,
}

impl TokioSpawner {
    /// A spawner on the runtime this is called from; `None` outside of a tokio runtime.
    pub fn current() -> Option<Self> {
        tokio::runtime::Handle::try_current().ok().map(Self::new)
    }

    /// A spawner on the given runtime.
    pub fn new(handle: tokio::runtime::Handle) -> Self {
        Self { handle }
    }
}

impl Spawner for TokioSpawner {
    fn spawn_blocking(
        &self,
        _name: &'static str,
        _group: Option<&'static str>,
        future: BoxFuture<'static, ()>,
    ) {
        let handle = self.handle.clone();
        drop(self.handle.spawn_blocking(move || handle.block_on(future)));
    }

    fn spawn(
        &self,
        _name: &'static str,
        _group: Option<&'static str>,
        future: BoxFuture<'static, ()>,
    ) {
        drop(self.handle.spawn(future));
    }
}

/// Object-safe view of a [`Spawner`], so contexts need not be generic over it.
pub(crate) trait DynSpawner: Send + Sync {
    fn spawn_dyn(
        &self,
        name: &'static str,
        group: Option<&'static str>,
        future: BoxFuture<'static, ()>,
    );
    fn spawn_blocking_dyn(
        &self,
        name: &'static str,
        group: Option<&'static str>,
        future: BoxFuture<'static, ()>,
    );
}

impl<S: Spawner> DynSpawner for S {
    fn spawn_dyn(
        &self,
        name: &'static str,
        group: Option<&'static str>,
        future: BoxFuture<'static, ()>,
    ) {
        self.spawn(name, group, future)
    }

    fn spawn_blocking_dyn(
        &self,
        name: &'static str,
        group: Option<&'static str>,
        future: BoxFuture<'static, ()>,
    ) {
        self.spawn_blocking(name, group, future)
    }
}

/// A shared, type-erased spawner.
pub(crate) type SharedSpawner = Arc<dyn DynSpawner>;
