//! The RabbitMQ bus.
//!
//! Topology, declared idempotently by whoever connects first:
//! - a durable topic exchange (`docket.events`) that every event is published to, its type as the
//!   routing key;
//! - per consuming service a durable quorum queue `<exchange>.<consumer>` (e.g. `docket.events.ticket`) bound with the service's
//!   patterns, with a delivery limit and a dead-letter exchange (`docket.events.dlx`) that routes
//!   what exceeds it, or what a handler rejects, to `<exchange>.<consumer>.dead`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use docket_platform::Shutdown;
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
};
use tokio::sync::Mutex;

use crate::{Bus, BusError, BusMessage, Delivery, Handler, HandlerError, Subscription};

#[derive(Debug, Clone)]
pub struct RabbitConfig {
    /// `amqp://user:password@host:5672/%2f`
    pub url: String,
    /// The topic exchange events are published to.
    pub exchange: String,
    /// Unacknowledged deliveries a consumer holds at once.
    pub prefetch: u16,
    /// Names the connections in the broker's management view.
    pub connection_name: String,
}

impl RabbitConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            exchange: "docket.events".into(),
            prefetch: 32,
            connection_name: "docket".into(),
        }
    }

    fn dead_letter_exchange(&self) -> String {
        format!("{}.dlx", self.exchange)
    }

    /// The durable queue of a consuming service, named after the exchange it is bound to, so
    /// installations sharing a broker with their own exchanges never share a queue
    /// (`docket.events` → `docket.events.ticket`).
    pub fn queue_name(&self, consumer: &str) -> String {
        format!("{}.{consumer}", self.exchange)
    }
}

pub struct RabbitBus {
    config: RabbitConfig,
    publisher: Mutex<Option<(Connection, Channel)>>,
    connected: Arc<AtomicBool>,
}

/// How long one round trip to the broker (connecting, a declaration, a publisher confirm, an
/// acknowledgement) may take. A broker that stops answering — blocked by a resource alarm, out of
/// file handles — fails the operation instead of holding a relay or a consumer forever.
const BROKER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a starting service keeps trying to reach the broker before it gives up: a pod
/// that starts beside a broker still booting, or a busy broker, is not a reason to crash.
const STARTUP_WINDOW: Duration = Duration::from_secs(30);

impl RabbitBus {
    /// Connects to check the broker and declare the exchanges, retrying within the start-up
    /// window; later failures reconnect.
    pub async fn connect(config: RabbitConfig) -> Result<Self, BusError> {
        let bus = Self {
            config,
            publisher: Mutex::new(None),
            connected: Arc::new(AtomicBool::new(false)),
        };
        let deadline = tokio::time::Instant::now() + STARTUP_WINDOW;
        let mut pause = Duration::from_millis(250);
        let opened = loop {
            match bus.open_publisher().await {
                Ok(opened) => break opened,
                Err(e) if tokio::time::Instant::now() + pause < deadline => {
                    tracing::warn!(error = %e, retry_in = ?pause, "the message broker is not reachable yet");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(4));
                }
                Err(e) => return Err(e),
            }
        };
        *bus.publisher.lock().await = Some(opened);
        Ok(bus)
    }

    async fn open_connection(&self, role: &str) -> Result<Connection, BusError> {
        connect(&self.config, role).await
    }

    async fn open_publisher(&self) -> Result<(Connection, Channel), BusError> {
        let conn = self.open_connection("publisher").await?;
        let channel = answered("opening a channel", conn.create_channel()).await?;
        answered(
            "the publisher-confirm mode",
            channel.confirm_select(ConfirmSelectOptions::default()),
        )
        .await?;
        declare_exchanges(&channel, &self.config).await?;
        self.connected.store(true, Ordering::Relaxed);
        tracing::info!(broker = %docket_store::redact(&self.config.url), "connected to the message broker");
        Ok((conn, channel))
    }

    async fn try_publish(&self, channel: &Channel, message: &BusMessage) -> Result<(), BusError> {
        let mut headers = FieldTable::default();
        for (k, v) in &message.headers {
            headers.insert(
                k.as_str().into(),
                AMQPValue::LongString(LongString::from(v.as_str())),
            );
        }
        let props = BasicProperties::default()
            .with_message_id(ShortString::from(message.event_id.as_str()))
            .with_type(ShortString::from(message.routing_key.as_str()))
            .with_content_type("application/x-protobuf".into())
            .with_delivery_mode(2)
            .with_headers(headers);
        let confirm = answered(
            "a publish",
            channel.basic_publish(
                self.config.exchange.as_str().into(),
                message.routing_key.as_str().into(),
                BasicPublishOptions::default(),
                &message.body,
                props,
            ),
        )
        .await?;
        let confirmation = answered("a publisher confirm", confirm).await?;
        match confirmation {
            Confirmation::Ack(_) => Ok(()),
            Confirmation::Nack(_) | Confirmation::NotRequested => Err(BusError::Refused {
                event_id: message.event_id.clone(),
            }),
        }
    }
}

/// Opens a connection named `<connection_name>-<role>` in the broker's management view.
async fn connect(config: &RabbitConfig, role: &str) -> Result<Connection, BusError> {
    let props = ConnectionProperties::default()
        .with_connection_name(format!("{}-{role}", config.connection_name).into());
    answered("connecting", Connection::connect(&config.url, props)).await
}

/// Awaits one broker operation for at most [`BROKER_TIMEOUT`].
async fn answered<T>(
    what: &str,
    operation: impl Future<Output = Result<T, lapin::Error>>,
) -> Result<T, BusError> {
    tokio::time::timeout(BROKER_TIMEOUT, operation)
        .await
        .map_err(|_| {
            BusError::Unavailable(format!(
                "the broker did not answer {what} within {} s",
                BROKER_TIMEOUT.as_secs()
            ))
        })?
        .map_err(unavailable)
}

/// The text headers of a message (trace context and our own).
pub fn headers_of(properties: &BasicProperties) -> HashMap<String, String> {
    properties
        .headers()
        .as_ref()
        .map(|t| {
            t.inner()
                .iter()
                .filter_map(|(k, v)| match v {
                    AMQPValue::LongString(s) => Some((k.to_string(), s.to_string())),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn unavailable(e: lapin::Error) -> BusError {
    BusError::Unavailable(e.to_string())
}

fn long_string(s: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(s))
}

async fn declare_exchanges(channel: &Channel, config: &RabbitConfig) -> Result<(), BusError> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    answered(
        "an exchange declaration",
        channel.exchange_declare(
            config.exchange.as_str().into(),
            ExchangeKind::Topic,
            durable,
            FieldTable::default(),
        ),
    )
    .await?;
    answered(
        "an exchange declaration",
        channel.exchange_declare(
            config.dead_letter_exchange().as_str().into(),
            ExchangeKind::Direct,
            durable,
            FieldTable::default(),
        ),
    )
    .await?;
    Ok(())
}

/// Declares a consumer's queue, its dead-letter queue and its bindings.
pub async fn declare_consumer_queue(
    channel: &Channel,
    config: &RabbitConfig,
    subscription: &Subscription,
) -> Result<String, BusError> {
    declare_exchanges(channel, config).await?;
    let queue = config.queue_name(&subscription.consumer);
    if subscription.transient {
        let options = QueueDeclareOptions {
            exclusive: true,
            auto_delete: true,
            ..QueueDeclareOptions::default()
        };
        answered(
            "a queue declaration",
            channel.queue_declare(queue.as_str().into(), options, FieldTable::default()),
        )
        .await?;
        bind(channel, config, &queue, &subscription.patterns).await?;
        return Ok(queue);
    }
    let dead = format!("{queue}.dead");
    let durable = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    let mut dead_args = FieldTable::default();
    dead_args.insert("x-queue-type".into(), long_string("quorum"));
    answered(
        "a queue declaration",
        channel.queue_declare(dead.as_str().into(), durable, dead_args),
    )
    .await?;
    answered(
        "a queue binding",
        channel.queue_bind(
            dead.as_str().into(),
            config.dead_letter_exchange().as_str().into(),
            subscription.consumer.as_str().into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        ),
    )
    .await?;
    let mut args = FieldTable::default();
    args.insert("x-queue-type".into(), long_string("quorum"));
    args.insert(
        "x-dead-letter-exchange".into(),
        long_string(&config.dead_letter_exchange()),
    );
    args.insert(
        "x-dead-letter-routing-key".into(),
        long_string(&subscription.consumer),
    );
    // The broker dead-letters a message once it was returned *more* than this many times, so a
    // limit of `max_deliveries - 1` delivers it `max_deliveries` times in all, as the memory bus does.
    args.insert(
        "x-delivery-limit".into(),
        AMQPValue::LongInt(
            i32::try_from(subscription.max_deliveries.max(1) - 1).unwrap_or(i32::MAX),
        ),
    );
    answered(
        "a queue declaration",
        channel.queue_declare(queue.as_str().into(), durable, args),
    )
    .await?;
    bind(channel, config, &queue, &subscription.patterns).await?;
    Ok(queue)
}

async fn bind(
    channel: &Channel,
    config: &RabbitConfig,
    queue: &str,
    patterns: &[String],
) -> Result<(), BusError> {
    for pattern in patterns {
        answered(
            "a queue binding",
            channel.queue_bind(
                queue.into(),
                config.exchange.as_str().into(),
                pattern.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            ),
        )
        .await?;
    }
    Ok(())
}

#[async_trait]
impl Bus for RabbitBus {
    async fn publish(&self, message: &BusMessage) -> Result<(), BusError> {
        let mut publisher = self.publisher.lock().await;
        let usable = matches!(&*publisher, Some((conn, ch)) if conn.status().connected() && ch.status().connected());
        if !usable {
            self.connected.store(false, Ordering::Relaxed);
            *publisher = None;
            *publisher = Some(self.open_publisher().await?);
        }
        let Some((_, channel)) = publisher.as_ref() else {
            return Err(BusError::Unavailable("no broker connection".into()));
        };
        let result = self.try_publish(channel, message).await;
        if let Err(BusError::Unavailable(_)) = &result {
            // Reconnect on the next publish.
            self.connected.store(false, Ordering::Relaxed);
            *publisher = None;
        }
        result
    }

    async fn declare(&self, subscription: &Subscription) -> Result<(), BusError> {
        let conn = self
            .open_connection(&format!("{}-setup", subscription.consumer))
            .await?;
        let channel = answered("opening a channel", conn.create_channel()).await?;
        declare_consumer_queue(&channel, &self.config, subscription).await?;
        let _ = answered("closing", conn.close(200, "declared".into())).await;
        Ok(())
    }

    async fn subscribe(
        &self,
        subscription: Subscription,
        handler: Arc<dyn Handler>,
        shutdown: Shutdown,
    ) -> Result<tokio::task::JoinHandle<()>, BusError> {
        // Declare once now so that events published from here on are kept for this consumer.
        // A transient queue lives with the consumer's own connection: it is opened (declared
        // and bound) now, for the same promise.
        if !subscription.transient {
            self.declare(&subscription).await?;
        }
        let transient = subscription.transient;
        let config = self.config.clone();
        let this = Consumer {
            config,
            subscription,
            handler,
        };
        let first = if transient {
            Some(this.open().await?)
        } else {
            None
        };
        Ok(tokio::spawn(async move { this.run(shutdown, first).await }))
    }

    fn is_connected(&self) -> bool {
        match self.publisher.try_lock() {
            Ok(publisher) => publisher
                .as_ref()
                .is_some_and(|(conn, ch)| conn.status().connected() && ch.status().connected()),
            // Publishing right now: the last known state.
            Err(_) => self.connected.load(Ordering::Relaxed),
        }
    }
}

/// A consumer's connection with its queue bound and its deliveries flowing.
struct Opened {
    conn: Connection,
    _channel: Channel,
    deliveries: lapin::Consumer,
}

struct Consumer {
    config: RabbitConfig,
    subscription: Subscription,
    handler: Arc<dyn Handler>,
}

impl Consumer {
    /// Consumes until shutdown, reconnecting after failures; `first` is an already opened
    /// consumer to start with.
    async fn run(self, shutdown: Shutdown, mut first: Option<Opened>) {
        let mut backoff = Duration::from_millis(200);
        while !shutdown.is_triggered() {
            let consumed = match first.take() {
                Some(opened) => self.consume(opened, &shutdown).await,
                None => match self.open().await {
                    Ok(opened) => self.consume(opened, &shutdown).await,
                    Err(e) => Err(e),
                },
            };
            match consumed {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(consumer = %self.subscription.consumer, error = %e, retry_in_ms = backoff.as_millis() as u64, "consumer lost the broker; reconnecting");
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {},
                        () = shutdown.cancelled() => break,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
        tracing::debug!(consumer = %self.subscription.consumer, "consumer stopped");
    }

    /// Connects, declares and binds the queue, and starts consuming from it.
    async fn open(&self) -> Result<Opened, BusError> {
        let conn = connect(&self.config, &self.subscription.consumer).await?;
        let channel = answered("opening a channel", conn.create_channel()).await?;
        let queue = declare_consumer_queue(&channel, &self.config, &self.subscription).await?;
        answered(
            "the prefetch setting",
            channel.basic_qos(self.config.prefetch, BasicQosOptions::default()),
        )
        .await?;
        let deliveries = answered(
            "the start of consuming",
            channel.basic_consume(
                queue.as_str().into(),
                format!("{}-{}", self.subscription.consumer, uuid::Uuid::now_v7()).into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            ),
        )
        .await?;
        tracing::info!(consumer = %self.subscription.consumer, queue = %queue, "consuming");
        Ok(Opened {
            conn,
            _channel: channel,
            deliveries,
        })
    }

    /// Consumes until shutdown (Ok) or until the connection fails (Err).
    async fn consume(&self, opened: Opened, shutdown: &Shutdown) -> Result<(), BusError> {
        let Opened {
            conn,
            mut deliveries,
            ..
        } = opened;
        loop {
            let next = tokio::select! {
                next = deliveries.next() => next,
                () = shutdown.cancelled() => {
                    let _ = answered("closing", conn.close(200, "shutdown".into())).await;
                    return Ok(());
                }
            };
            let delivery = match next {
                Some(Ok(d)) => d,
                Some(Err(e)) => return Err(unavailable(e)),
                None => {
                    return Err(BusError::Unavailable(
                        "the broker cancelled the consumer".into(),
                    ));
                }
            };
            self.process(delivery).await?;
        }
    }

    async fn process(&self, delivery: lapin::message::Delivery) -> Result<(), BusError> {
        let headers = headers_of(&delivery.properties);
        let attempt = delivery
            .properties
            .headers()
            .as_ref()
            .and_then(|t| t.inner().get("x-delivery-count").cloned())
            .and_then(|v| match v {
                AMQPValue::LongLongInt(n) => u32::try_from(n).ok(),
                AMQPValue::LongInt(n) => u32::try_from(n).ok(),
                _ => None,
            })
            .unwrap_or(0);
        let message = BusMessage {
            event_id: delivery
                .properties
                .message_id()
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            routing_key: delivery.routing_key.to_string(),
            body: delivery.data.clone(),
            headers,
        };
        let outcome = match Delivery::decode(&message, attempt) {
            Ok(d) => {
                crate::handle_traced(self.handler.as_ref(), &self.subscription.consumer, &d).await
            }
            Err(e) => Err(HandlerError::Reject(e.to_string())),
        };
        let acker = &delivery.acker;
        match outcome {
            Ok(()) => answered("an acknowledgement", acker.ack(BasicAckOptions::default())).await?,
            Err(HandlerError::Retry(e)) => {
                tracing::warn!(consumer = %self.subscription.consumer, event_id = %message.event_id, attempt, error = %e, "event handling failed; redelivering");
                tokio::time::sleep(Duration::from_millis(200) * (attempt + 1).min(25)).await;
                answered(
                    "a negative acknowledgement",
                    acker.nack(BasicNackOptions {
                        requeue: true,
                        ..BasicNackOptions::default()
                    }),
                )
                .await?
            }
            Err(HandlerError::Reject(e)) => {
                tracing::error!(consumer = %self.subscription.consumer, event_id = %message.event_id, error = %e, "event rejected; dead-lettered");
                answered(
                    "a negative acknowledgement",
                    acker.nack(BasicNackOptions {
                        requeue: false,
                        ..BasicNackOptions::default()
                    }),
                )
                .await?
            }
        };
        Ok(())
    }
}
