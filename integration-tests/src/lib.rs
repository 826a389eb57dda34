//! Helpers of the end-to-end tests: spawn the suite on free ports in either mode, observe the
//! broker, cut the network to it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod html;
pub mod mail;
pub mod wait;
pub mod web;

pub use wait::{eventually, wait_until, when};

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docket::{Service, Settings, Suite};
use docket_platform::Shutdown;
use docket_platform::config::Secret;
use docket_store::Backend;
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use tokio::net::{TcpListener, TcpStream};

/// The entry of a REST list (`{"items": […]}`) whose `field` is `value`; panics, showing the
/// list, when there is none.
pub fn item_where<'a>(
    list: &'a serde_json::Value,
    field: &str,
    value: &str,
) -> &'a serde_json::Value {
    find_item(list, field, value).unwrap_or_else(|| panic!("no {field} {value} in {list}"))
}

/// The entry of a REST list (`{"items": […]}`) whose `field` is `value`, if there is one.
pub fn find_item<'a>(
    list: &'a serde_json::Value,
    field: &str,
    value: &str,
) -> Option<&'a serde_json::Value> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e[field] == value)
}

/// The `field` of every entry of a REST list (`{"items": […]}`), in order.
pub fn item_strs<'a>(list: &'a serde_json::Value, field: &str) -> Vec<&'a str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[field].as_str().unwrap())
        .collect()
}

/// The response's `content-type`.
pub fn content_type(response: &reqwest::Response) -> &str {
    response.headers()["content-type"].to_str().unwrap()
}

/// The RabbitMQ the tests use; `DOCKET_TEST_AMQP` overrides it.
pub fn amqp_url() -> String {
    std::env::var("DOCKET_TEST_AMQP")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// How many times its regular size a size-parameterised scenario runs: `DOCKET_SOAK_SCALE`
/// (`make soak`), 1 in `make test`.
pub fn soak_scale() -> usize {
    std::env::var("DOCKET_SOAK_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// SQLite files and the in-process bus, as `docket run`.
    Embedded,
    /// PostgreSQL and RabbitMQ, as in Kubernetes.
    Production,
}

pub struct TestApp {
    pub api: String,
    pub ops: String,
    /// The mail service's LMTP and SMTP listeners.
    pub lmtp: Option<SocketAddr>,
    pub smtp: Option<SocketAddr>,
    /// Logged in as the bootstrapped administrator.
    pub client: reqwest::Client,
    /// The administrator's agent id and tenant id (empty without a gateway).
    pub admin_id: String,
    pub tenant_id: String,
    /// The exchange events go to (production mode).
    pub exchange: String,
    pub bus: Arc<dyn docket_bus::Bus>,
    pub shutdown: Shutdown,
    stopped: Option<tokio::task::JoinHandle<()>>,
    _data: tempfile::TempDir,
}

/// The administrator every test suite is bootstrapped with.
pub const ADMIN_TENANT: &str = "it-centre";
pub const ADMIN_LOGIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "a test password, long enough";

/// Logs in as `login` and returns a client that sends the access token with every request.
pub async fn login_client(
    api: &str,
    login: &str,
    password: &str,
) -> Result<reqwest::Client, reqwest::StatusCode> {
    login_with_claims(api, login, password)
        .await
        .map(|(client, _)| client)
}

/// Logs in as `login`: a client sending the access token, and the token's claims.
pub async fn login_with_claims(
    api: &str,
    login: &str,
    password: &str,
) -> Result<(reqwest::Client, serde_json::Value), reqwest::StatusCode> {
    let response = reqwest::Client::new()
        .post(format!("{api}/auth/login"))
        .json(&serde_json::json!({ "login": login, "password": password }))
        .send()
        .await
        .unwrap();
    if !response.status().is_success() {
        return Err(response.status());
    }
    let token: serde_json::Value = response.json().await.unwrap();
    let token = token["access_token"].as_str().unwrap();
    Ok((bearer_client(token), claims_of(token)))
}

/// A client that sends `token` as its bearer token with every request.
pub fn bearer_client(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let bearer = format!("Bearer {token}");
    headers.insert(reqwest::header::AUTHORIZATION, bearer.parse().unwrap());
    reqwest::Client::builder()
        .default_headers(headers)
        // A request that hangs fails its test instead of the whole run.
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// The claims of a JWT, read without verifying it (the services verify it).
pub fn claims_of(token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Quiet by default; `TEST_LOG=1` prints the suite's logs.
pub fn init_telemetry() {
    let filter = if std::env::var_os("TEST_LOG").is_some() {
        "info"
    } else {
        "off"
    };
    let config = docket_platform::telemetry::TelemetryConfig {
        log_filter: filter.into(),
        ..Default::default()
    };
    // The guard only flushes an exporter, which tests do not configure.
    std::mem::forget(docket_platform::telemetry::init(&config, "docket-tests").unwrap());
}

/// Settings for a test: free ports, a fresh database, a unique exchange.
pub async fn test_settings(mode: Mode, data: &std::path::Path) -> Settings {
    let mut s = Settings {
        data_dir: data.to_path_buf(),
        ..Settings::default()
    };
    s.ops.listen = "127.0.0.1:0".parse().unwrap();
    s.ticket.listen = "127.0.0.1:0".parse().unwrap();
    // Reminders and escalations are looked for every second, not every minute.
    s.ticket.due_interval_secs = 1;
    s.gateway.listen = "127.0.0.1:0".parse().unwrap();
    s.identity.listen = "127.0.0.1:0".parse().unwrap();
    s.mail.listen = "127.0.0.1:0".parse().unwrap();
    s.mail.lmtp_listen = Some("127.0.0.1:0".parse().unwrap());
    s.mail.smtp_listen = Some("127.0.0.1:0".parse().unwrap());
    s.mail.hostname = "desk.test".into();
    if mode == Mode::Production {
        let url = docket_store::testing::fresh_database_url(Backend::Postgres)
            .await
            .unwrap();
        s.ticket.database_url = Some(Secret::new(url));
        let url = docket_store::testing::fresh_database_url(Backend::Postgres)
            .await
            .unwrap();
        s.identity.database_url = Some(Secret::new(url));
        let url = docket_store::testing::fresh_database_url(Backend::Postgres)
            .await
            .unwrap();
        s.mail.database_url = Some(Secret::new(url));
        s.bus.amqp_url = Some(Secret::new(amqp_url()));
        s.bus.exchange = Some(format!("docket.test.{}", uuid::Uuid::now_v7().simple()));
    }
    s
}

impl TestApp {
    pub async fn spawn(mode: Mode) -> Self {
        let data = tempfile::tempdir().unwrap();
        let settings = test_settings(mode, data.path()).await;
        Self::spawn_with(settings, data, None).await
    }

    pub async fn spawn_with(
        settings: Settings,
        data: tempfile::TempDir,
        services: Option<BTreeSet<Service>>,
    ) -> Self {
        init_telemetry();
        let services = services.unwrap_or_else(|| Service::ALL.into_iter().collect());
        if services.contains(&Service::Identity) {
            docket::bootstrap_admin(
                &settings,
                ADMIN_TENANT,
                "IT Centre",
                ADMIN_LOGIN,
                "Test Admin",
                ADMIN_PASSWORD,
            )
            .await
            .unwrap();
        }
        let shutdown = Shutdown::new();
        let suite = Suite::start(&settings, &services, shutdown.clone())
            .await
            .unwrap();
        let api = suite
            .gateway_addr
            .map(|a| format!("http://{a}/api/v1"))
            .unwrap_or_default();
        let ops = format!("http://{}", suite.ops_addr);
        let (lmtp, smtp) = (suite.lmtp_addr, suite.smtp_addr);
        let bus = suite.bus.clone();
        let stopped = tokio::spawn(suite.wait());
        let (client, claims) = if api.is_empty() {
            (reqwest::Client::new(), serde_json::Value::Null)
        } else {
            login_with_claims(&api, ADMIN_LOGIN, ADMIN_PASSWORD)
                .await
                .expect("the bootstrapped administrator logs in")
        };
        let admin_id = claims["sub"].as_str().unwrap_or_default().to_owned();
        let tenant_id = claims["agent"]["tenants"]
            .as_object()
            .and_then(|t| t.keys().next().cloned())
            .unwrap_or_default();
        Self {
            api,
            ops,
            lmtp,
            smtp,
            client,
            admin_id,
            tenant_id,
            exchange: settings
                .bus
                .exchange
                .clone()
                .unwrap_or_else(|| "docket.events".into()),
            bus,
            shutdown,
            stopped: Some(stopped),
            _data: data,
        }
    }

    /// The id of the administrator's tenant's default queue named `name`. Ticket core creates
    /// the default queues when the identity service's `tenant.created` reaches it: waits for that.
    pub async fn queue_id(&self, name: &str) -> String {
        wait_until(
            Duration::from_secs(20),
            &format!("the queue {name}"),
            || async {
                let queues = self.get_json("/queues").await;
                find_item(&queues, "name", name)
                    .map(|q| q["id"].as_str().unwrap().to_owned())
                    .ok_or(queues)
            },
        )
        .await
    }

    /// Creates a ticket as `client` (`POST /tickets`): the status and body of the answer. A new
    /// customer is known to ticket core once identity's event has reached it, and until then
    /// tickets for them are 404: this waits that out, and answers whatever came after.
    pub async fn create_ticket(
        &self,
        client: &reqwest::Client,
        ticket: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let url = format!("{}/tickets", self.api);
        wait_until(
            Duration::from_secs(20),
            "ticket core to learn of the ticket's customer",
            || async {
                let (status, body) = send(client.post(&url).json(ticket)).await;
                if status == 404 {
                    Err(body)
                } else {
                    Ok((status, body))
                }
            },
        )
        .await
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.api))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// The entry named `name` in the list that `GET path` answers (a role, a service, a queue…).
    pub async fn named(&self, path: &str, name: &str) -> serde_json::Value {
        item_where(&self.get_json(path).await, "name", name).clone()
    }

    /// The id of the entry named `name` in the list that `GET path` answers.
    pub async fn id_named(&self, path: &str, name: &str) -> String {
        self.named(path, name).await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let r = self
            .client
            .get(format!("{}{path}", self.api))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.unwrap()
    }

    /// A customer of the administrator's tenant (`login`, `password`, email `<login>@uni.example`)
    /// with one ticket titled `title` in the Misc queue, once ticket core knows the customer.
    /// Returns the customer and the ticket.
    pub async fn customer_with_ticket(
        &self,
        login: &str,
        password: &str,
        title: &str,
    ) -> (serde_json::Value, serde_json::Value) {
        let (status, customer) = send(
            self.client
                .post(format!("{}/admin/tenants/{}/customers", self.api, self.tenant_id))
                .json(&serde_json::json!({"login": login, "name": login, "email": format!("{login}@uni.example"), "password": password})),
        )
        .await;
        assert_eq!(status, 201, "{customer}");
        let queue = self.queue_id("Misc").await;
        let ticket = serde_json::json!({
            "queue_id": queue, "title": title, "customer_id": customer["id"],
            "article": {"sender": "customer", "channel": "phone", "visible_to_customer": true, "body": "Reported by phone."}
        });
        let (status, created) = self.create_ticket(&self.client, &ticket).await;
        assert_eq!(status, 201, "ticket for {login}: {created}");
        (customer, created)
    }

    /// Stops the suite in order and waits for it.
    pub async fn stop(mut self) {
        self.shutdown.trigger();
        if let Some(s) = self.stopped.take() {
            tokio::time::timeout(Duration::from_secs(30), s)
                .await
                .expect("suite stops in time")
                .unwrap();
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

/// A message a probe saw on the broker.
#[derive(Debug, Clone)]
pub struct Seen {
    pub routing_key: String,
    pub envelope: docket_bus::Envelope,
    pub headers: std::collections::HashMap<String, String>,
}

/// A temporary queue bound to `exchange` that records every event matching `pattern`.
pub async fn probe(exchange: &str, pattern: &str) -> Arc<Mutex<Vec<Seen>>> {
    let conn = lapin::Connection::connect(&amqp_url(), lapin::ConnectionProperties::default())
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    channel
        .exchange_declare(
            exchange.into(),
            lapin::ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    let queue = channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    channel
        .queue_bind(
            queue.name().clone(),
            exchange.into(),
            pattern.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut consumer = channel
        .basic_consume(
            queue.name().clone(),
            "probe".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    tokio::spawn(async move {
        let _keep = conn;
        while let Some(Ok(d)) = consumer.next().await {
            use prost::Message as _;
            let headers = docket_bus::rabbit::headers_of(&d.properties);
            if let Ok(envelope) = docket_bus::Envelope::decode(d.data.as_slice()) {
                sink.lock().unwrap().push(Seen {
                    routing_key: d.routing_key.to_string(),
                    envelope,
                    headers,
                });
            }
            let _ = d.acker.ack(BasicAckOptions::default()).await;
        }
    });
    seen
}

/// A TCP proxy in front of a server whose connections the test can cut.
pub struct Proxy {
    pub addr: SocketAddr,
    down: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let down = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let (d, c) = (down.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if d.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                c.lock().unwrap().push(task);
            }
        });
        Self {
            addr,
            down,
            connections,
        }
    }

    /// Drops every open connection and refuses new ones until [`Proxy::restore`].
    pub fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        for task in self.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    pub fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

/// Sends a request; its status and JSON body (null when it has none).
pub async fn send(request: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

/// Sends a request: the body of its answer as text.
pub async fn text_of(request: reqwest::RequestBuilder) -> String {
    request.send().await.unwrap().text().await.unwrap()
}

/// Sends a request and expects `status`: its JSON body (null when it has none). `what` names the
/// step in the failure message.
pub async fn expect(
    status: u16,
    request: reqwest::RequestBuilder,
    what: &str,
) -> serde_json::Value {
    let (got, body) = send(request).await;
    assert_eq!(got, status, "{what}: {body}");
    body
}

/// Logs a customer of the administrator's tenant in; a client that sends their access token.
pub async fn customer_client(api: &str, login: &str, password: &str) -> reqwest::Client {
    let response = reqwest::Client::new()
        .post(format!("{api}/auth/login"))
        .json(&serde_json::json!({"kind": "customer", "tenant": ADMIN_TENANT, "login": login, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{login} logs in");
    let token: serde_json::Value = response.json().await.unwrap();
    bearer_client(token["access_token"].as_str().unwrap())
}
