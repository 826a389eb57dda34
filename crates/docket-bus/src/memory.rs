//! The in-process bus of the embedded mode.
//!
//! `publish` hands the event to every matching subscriber and returns once each has processed it
//! (or dead-lettered it after its bounded retries). The outbox marks an event published only then,
//! so a crash before that republishes it on the next start and the consumers' inbox drops the
//! duplicate: the same guarantees as with RabbitMQ, without a broker.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use docket_platform::Shutdown;
use tokio::sync::{mpsc, oneshot};

use crate::{
    Bus, BusError, BusMessage, Delivery, Handler, HandlerError, Subscription, topic_matches,
};

struct Subscriber {
    subscription: Subscription,
    queue: mpsc::Sender<(BusMessage, oneshot::Sender<()>)>,
}

type Inbound = mpsc::Receiver<(BusMessage, oneshot::Sender<()>)>;

/// An in-process bus; clones share the same subscribers.
#[derive(Clone, Default)]
pub struct MemoryBus {
    subscribers: Arc<Mutex<Vec<Subscriber>>>,
    /// Queues declared but not consumed yet: their events wait here (and their publishers with
    /// them) until the consumer starts.
    declared: Arc<Mutex<std::collections::HashMap<String, Inbound>>>,
    dead_letters: Arc<Mutex<Vec<(String, BusMessage, String)>>>,
    retry_delay: Duration,
}

impl MemoryBus {
    pub fn new() -> Self {
        Self {
            retry_delay: Duration::from_millis(200),
            ..Self::default()
        }
    }

    /// Events that failed every delivery, with the consumer and the last error.
    pub fn dead_letters(&self) -> Vec<(String, BusMessage, String)> {
        self.dead_letters
            .lock()
            .map(|d| d.clone())
            .unwrap_or_default()
    }
}

#[async_trait]
impl Bus for MemoryBus {
    async fn publish(&self, message: &BusMessage) -> Result<(), BusError> {
        let queues: Vec<_> = match self.subscribers.lock() {
            Ok(subs) => subs
                .iter()
                .filter(|s| {
                    s.subscription
                        .patterns
                        .iter()
                        .any(|p| topic_matches(p, &message.routing_key))
                })
                .map(|s| (s.queue.clone(), s.subscription.transient))
                .collect(),
            Err(_) => return Err(BusError::Unavailable("in-process bus poisoned".into())),
        };
        let mut acks = Vec::with_capacity(queues.len());
        for (queue, transient) in queues {
            let (tx, rx) = oneshot::channel();
            match queue.send((message.clone(), tx)).await {
                Ok(()) => acks.push((rx, transient)),
                // A transient subscriber that stopped misses what it would have missed anyway.
                Err(_) if transient => {}
                Err(_) => return Err(BusError::Unavailable("a consumer has stopped".into())),
            }
        }
        for (ack, transient) in acks {
            // A consumer that stopped (shutdown) drops the sender: the event stays in the outbox.
            if ack.await.is_err() && !transient {
                return Err(BusError::Unavailable(
                    "a consumer stopped before processing".into(),
                ));
            }
        }
        Ok(())
    }

    async fn declare(&self, subscription: &Subscription) -> Result<(), BusError> {
        let poisoned = || BusError::Unavailable("in-process bus poisoned".into());
        let mut subscribers = self.subscribers.lock().map_err(|_| poisoned())?;
        if subscribers
            .iter()
            .any(|s| s.subscription.consumer == subscription.consumer)
        {
            return Ok(());
        }
        let (tx, rx) = mpsc::channel(64);
        subscribers.push(Subscriber {
            subscription: subscription.clone(),
            queue: tx,
        });
        self.declared
            .lock()
            .map_err(|_| poisoned())?
            .insert(subscription.consumer.clone(), rx);
        Ok(())
    }

    async fn subscribe(
        &self,
        subscription: Subscription,
        handler: Arc<dyn Handler>,
        shutdown: Shutdown,
    ) -> Result<tokio::task::JoinHandle<()>, BusError> {
        self.declare(&subscription).await?;
        let mut rx = self
            .declared
            .lock()
            .map_err(|_| BusError::Unavailable("in-process bus poisoned".into()))?
            .remove(&subscription.consumer)
            .ok_or_else(|| {
                BusError::Unavailable(format!(
                    "consumer `{}` is running already",
                    subscription.consumer
                ))
            })?;
        let consumer = subscription.consumer.clone();
        let max = subscription.max_deliveries.max(1);
        let dead_letters = self.dead_letters.clone();
        let retry_delay = self.retry_delay;
        Ok(tokio::spawn(async move {
            loop {
                let (message, done) = tokio::select! {
                    next = rx.recv() => match next { Some(m) => m, None => break },
                    () = shutdown.cancelled() => break,
                };
                let mut attempt = 0;
                let outcome = loop {
                    let delivery = match Delivery::decode(&message, attempt) {
                        Ok(d) => d,
                        Err(e) => break Err(e.to_string()),
                    };
                    match crate::handle_traced(handler.as_ref(), &consumer, &delivery).await {
                        Ok(()) => break Ok(()),
                        Err(HandlerError::Reject(e)) => break Err(e),
                        Err(HandlerError::Retry(e)) if attempt + 1 >= max => break Err(e),
                        Err(HandlerError::Retry(e)) => {
                            tracing::warn!(consumer = %consumer, event_id = %message.event_id, attempt, error = %e, "event handling failed; retrying");
                            attempt += 1;
                            tokio::time::sleep(retry_delay * attempt).await;
                        }
                    }
                };
                if let Err(e) = outcome {
                    tracing::error!(consumer = %consumer, event_id = %message.event_id, error = %e, "event dead-lettered");
                    if let Ok(mut d) = dead_letters.lock() {
                        d.push((consumer.clone(), message, e));
                    }
                }
                let _ = done.send(());
            }
        }))
    }

    fn is_connected(&self) -> bool {
        true
    }
}
