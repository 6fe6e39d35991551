//! Running the `twinsync` binary as a child process in tests.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub fn twinsync() -> Command {
    Command::new(env!("CARGO_BIN_EXE_twinsync"))
}

/// A child process killed when dropped, with its stdout lines on a channel.
pub struct Running {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    pub url: String,
}

impl Running {
    /// Starts `twinsync ARGS` and waits for the line announcing its URL.
    pub fn start(args: &[&str]) -> Running {
        let mut child = twinsync()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("twinsync starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut running = Running {
            child,
            lines,
            url: String::new(),
        };
        let line = running.wait_for("listening on ");
        running.url = line.rsplit(' ').next().unwrap().to_string();
        running
    }

    /// The first stdout line containing `needle`, waiting up to 60 s.
    pub fn wait_for(&self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(e) => panic!("no line containing {needle:?}: {e}"),
            }
        }
    }

    /// Every stdout line printed so far.
    pub fn printed(&self) -> Vec<String> {
        std::iter::from_fn(|| self.lines.recv_timeout(Duration::from_millis(200)).ok()).collect()
    }

    /// Asks the process to stop with SIGTERM and returns whether it exited cleanly.
    pub fn terminate(mut self) -> bool {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..100 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// `kill -9`.
    pub fn kill_hard(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `twinsync node --config <config>` as a child process, once it listens.
pub fn start_node(config: &Path) -> Running {
    Running::start(&["node", "--config", config.to_str().unwrap()])
}

/// The admin token of test nodes.
pub const TOKEN: &str = "test-admin-token";

/// Runs an admin command against `node`, asserting it succeeds; answers what it printed.
pub fn admin(node: &str, args: &[&str]) -> String {
    let out = twinsync()
        .args(args)
        .args(["--node", node, "--token", TOKEN])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "twinsync {args:?} failed:\n{printed}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    printed
}

/// A node's configuration on a fixed free port: a restarted node must be found where the
/// other node knows it.
pub fn write_config(dir: &Path, name: &str, platform: &str) -> std::path::PathBuf {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "instance = \"{name}\"\nlisten = \"127.0.0.1:{port}\"\ndata_dir = \"{name}-data\"\npoll_interval_ms = 200\n{platform}\n[[tokens]]\nname = \"test\"\nrole = \"admin\"\ntoken = \"{TOKEN}\"\n"
        ),
    )
    .unwrap();
    path
}

/// An access token of the Salesforce sandbox's admin user.
pub fn sf_token(sf: &str) -> String {
    let v: Value = http()
        .post(format!("{sf}/services/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "twinsync"),
            ("client_secret", "twinsync-secret"),
            ("username", "admin@example.com"),
            ("password", "admin"),
        ])
        .send()
        .unwrap()
        .json()
        .unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

/// Both sandboxes and a node for each, all child processes, the nodes on fixed ports (a
/// restarted node must be found where its peer knows it) and connected: the ServiceNow
/// node initiates with `initiate_args` added, the Salesforce node accepts.
pub struct Pair {
    pub dir: PathBuf,
    pub sn: Running,
    pub sf: Running,
    pub sn_cfg: PathBuf,
    pub sf_cfg: PathBuf,
    pub sn_node: Running,
    pub sf_node: Running,
    /// The connection id.
    pub id: String,
}

/// Starts a [`Pair`].
pub fn start_pair(initiate_args: &[&str]) -> Pair {
    let dir = temp_dir();
    let sn = Running::start(&["sandbox", "servicenow", "--port", "0", "--seed", "0"]);
    let sf = Running::start(&[
        "sandbox",
        "salesforce",
        "--port",
        "0",
        "--seed",
        "0",
        "--custom-field",
        "Case.TwinSync_Key__c:string:external:unique",
    ]);
    let sn_cfg = write_config(
        &dir,
        "sn-node",
        &format!(
            "[servicenow]\nurl = \"{}\"\nuser = \"itil\"\npassword = \"itil\"\nsettle_secs = 1\n",
            sn.url
        ),
    );
    let sf_cfg = write_config(
        &dir,
        "sf-node",
        &format!(
            "[salesforce]\nlogin_url = \"{}\"\nclient_id = \"twinsync\"\nclient_secret = \"twinsync-secret\"\nusername = \"integration@example.com\"\npassword = \"integration\"\nsettle_secs = 1\n",
            sf.url
        ),
    );
    let sn_node = start_node(&sn_cfg);
    let sf_node = start_node(&sf_cfg);
    let mut args = vec!["connection", "initiate", "--remote-url", &sf_node.url];
    args.extend_from_slice(initiate_args);
    let printed = admin(&sn_node.url, &args);
    let code = printed.lines().last().unwrap().trim().to_string();
    let id = printed
        .lines()
        .next()
        .unwrap()
        .split(['(', ')'])
        .nth(1)
        .unwrap()
        .to_string();
    let accepted = admin(&sf_node.url, &["connection", "accept", &code]);
    assert!(accepted.contains("is active"), "{accepted}");
    Pair {
        dir,
        sn,
        sf,
        sn_cfg,
        sf_cfg,
        sn_node,
        sf_node,
        id,
    }
}

pub fn http() -> reqwest::blocking::Client {
    twinsync_sandbox::common::ensure_crypto_provider();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

pub fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "twinsync-cli-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// A client trusting exactly the CA in `pem_file`.
pub fn trusting(pem_file: &std::path::Path) -> reqwest::blocking::Client {
    twinsync_sandbox::common::ensure_crypto_provider();
    let pem = std::fs::read(pem_file).unwrap();
    reqwest::blocking::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .build()
        .unwrap()
}
