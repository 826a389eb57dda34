//! Real mail peers for the tests: an SMTP receiver (aiosmtpd, `deploy/dev/smtp-sink.py`), swaks
//! as the sending client, and the Dovecot IMAP server of `deploy/dev/dovecot.sh`. All of them are
//! installed and started by `make services`; a test that finds one missing fails and says so.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The Python that has aiosmtpd (`deploy/dev/mail-tools.sh` makes it).
pub fn python() -> PathBuf {
    let venv = std::env::var_os("DOCKET_PY_VENV").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/docket/py"),
        PathBuf::from,
    );
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `make services` (deploy/dev/mail-tools.sh) first",
        python.display()
    );
    python
}

/// A real SMTP server that keeps what it receives as files.
pub struct Sink {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
}

impl Sink {
    pub fn start() -> Self {
        Self::start_with(0, &[])
    }

    /// On `port` (0: any), with more of the sink's options (`--tls-cert`, `--auth-user`, …).
    pub fn start_with(port: u16, options: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(python())
            .arg(repo().join("deploy/dev/smtp-sink.py"))
            .args(["--port", &port.to_string(), "--dir"])
            .arg(dir.path())
            .args(options)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the SMTP sink starts");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let port = line
            .trim()
            .strip_prefix("listening 127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the SMTP sink said {line:?}"));
        Self { port, dir, child }
    }

    /// The contents of the sink's files `<n>.<extension>`, in the order of `n`.
    fn numbered(&self, extension: &str) -> Vec<Vec<u8>> {
        let mut numbered: Vec<(u64, PathBuf)> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == extension))
            .filter_map(|p| Some((p.file_stem()?.to_str()?.parse().ok()?, p)))
            .collect();
        numbered.sort();
        numbered
            .into_iter()
            .map(|(_, p)| std::fs::read(p).unwrap())
            .collect()
    }

    /// Every message received so far, in order.
    pub fn messages(&self) -> Vec<String> {
        self.numbered("eml")
            .iter()
            .map(|raw| String::from_utf8_lossy(raw).into_owned())
            .collect()
    }

    /// The envelope of every message received so far, in order (`mail_from`, `rcpt_tos`, `tls`,
    /// `auth_user`).
    pub fn envelopes(&self) -> Vec<serde_json::Value> {
        self.numbered("json")
            .iter()
            .map(|raw| serde_json::from_slice(raw).unwrap())
            .collect()
    }

    /// Waits for a message that contains every one of `needles`.
    pub async fn wait_for(&self, needles: &[&str]) -> String {
        crate::wait_until(
            Duration::from_secs(30),
            &format!("a mail with {needles:?}"),
            || async {
                let messages = self.messages();
                messages
                    .iter()
                    .find(|m| needles.iter().all(|n| m.contains(n)))
                    .cloned()
                    .ok_or(messages)
            },
        )
        .await
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A header's value in a raw message (the first one; unfolded).
pub fn header(message: &str, name: &str) -> Option<String> {
    let head = message.split("\r\n\r\n").next()?;
    let mut lines = head.split("\r\n").peekable();
    while let Some(line) = lines.next() {
        if let Some((n, v)) = line.split_once(':')
            && n.eq_ignore_ascii_case(name)
        {
            let mut value = v.trim().to_owned();
            while lines.peek().is_some_and(|l| l.starts_with([' ', '\t'])) {
                value.push(' ');
                value.push_str(lines.next().unwrap_or_default().trim());
            }
            return Some(value);
        }
    }
    None
}

/// Sends with swaks (`protocol`: `ESMTP` or `LMTP`); returns whether it was accepted and what
/// swaks printed.
pub fn swaks(port: u16, protocol: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new("swaks")
        .args(["--server", "127.0.0.1", "--port", &port.to_string()])
        .args(["--protocol", protocol, "--helo", "client.test"])
        .args(["--timeout", "30"])
        .args(args)
        .output()
        .expect("swaks runs (make services installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The Dovecot of `deploy/dev/dovecot.sh`.
pub struct Dovecot;

impl Dovecot {
    pub const STARTTLS_PORT: u16 = 10143;
    pub const TLS_PORT: u16 = 10993;

    pub fn dir() -> PathBuf {
        std::env::var_os("DOCKET_DOVECOT_DIR")
            .map_or_else(|| PathBuf::from("/var/tmp/docket-dovecot"), PathBuf::from)
    }

    /// Dovecot's key (the SMTP receiver reuses the certificate for STARTTLS).
    pub fn key_file() -> String {
        Self::dir().join("tls.key").display().to_string()
    }

    /// The certificate clients trust.
    pub fn ca_file() -> String {
        let file = Self::dir().join("tls.crt");
        assert!(
            file.exists(),
            "{} is missing: run `make services` (deploy/dev/dovecot.sh) first",
            file.display()
        );
        file.display().to_string()
    }

    fn imap(user: &str, password: &str, script: &str, raw: &[u8]) -> String {
        use std::io::Write as _;
        let program = format!(
            r#"
import imaplib, ssl, sys
context = ssl.create_default_context(cafile={ca:?})
m = imaplib.IMAP4("127.0.0.1", {port})
m.starttls(ssl_context=context)
m.login({user:?}, {password:?})
m.select("INBOX")
raw = sys.stdin.buffer.read()
{script}
m.logout()
"#,
            ca = Self::ca_file(),
            port = Self::STARTTLS_PORT,
        );
        let mut child = Command::new("python3")
            .args(["-c", &program])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(raw).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "IMAP at 127.0.0.1:{} failed (make services starts Dovecot): {}",
            Self::STARTTLS_PORT,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Empties the account's INBOX.
    pub fn clear(user: &str, password: &str) {
        Self::imap(
            user,
            password,
            "m.store('1:*', '+FLAGS.SILENT', '(\\\\Deleted)') if int(m.select('INBOX')[1][0]) else None\nm.expunge()",
            b"",
        );
    }

    /// Places a message in the account's INBOX, as a mail delivered there would be.
    pub fn append(user: &str, password: &str, raw: &[u8]) {
        Self::imap(user, password, "m.append('INBOX', None, None, raw)", raw);
    }

    /// The flags of every message in the INBOX, one line each.
    pub fn flags(user: &str, password: &str) -> Vec<String> {
        Self::imap(
            user,
            password,
            "typ, data = m.fetch('1:*', '(FLAGS)') if int(m.select('INBOX')[1][0]) else ('OK', [])\nprint('\\n'.join(d.decode() for d in data if d))",
            b"",
        )
        .lines()
        .map(str::to_owned)
        .collect()
    }
}
