//! Waiting for what the suite does in the background (an event consumed, a mail sent, a mailbox
//! flagged): poll a condition until a deadline, never sleep a fixed time and hope.

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

/// How long to wait between two looks.
const POLL: Duration = Duration::from_millis(25);

/// Polls `probe` until it answers `Ok`, and returns that value. `Err` carries what the probe saw
/// instead; when `deadline` has passed the test fails naming `what` and the last thing seen.
pub async fn wait_until<T, S, F, Fut>(deadline: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, S>>,
    S: Debug,
{
    let start = tokio::time::Instant::now();
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(seen) if start.elapsed() >= deadline => {
                panic!("timed out after {deadline:?} waiting for {what}; last seen: {seen:#?}")
            }
            Err(_) => tokio::time::sleep(POLL).await,
        }
    }
}

/// [`wait_until`] for a condition that only holds or not.
pub async fn eventually<F, Fut>(what: &str, deadline: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    wait_until(deadline, what, || {
        let holds = check();
        async move { if holds.await { Ok(()) } else { Err("not yet") } }
    })
    .await
}

/// `Ok(value)` when `done`, else `Err(value)`: the value is what a waiting test saw either way.
pub fn when<T>(done: bool, value: T) -> Result<T, T> {
    if done { Ok(value) } else { Err(value) }
}
