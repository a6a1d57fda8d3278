//! The one way integration tests start facets: the real `facets` binary as a
//! subprocess on 127.0.0.1 port 0, with a temporary data directory, talked to
//! over HTTP.

#![allow(dead_code, reason = "each test binary uses a different part of the helper")]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a server may take to print `Ready on`: the first start of all
/// compiles the engine into the shared cache.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server may take to exit after SIGTERM, or a CLI run to finish.
const EXIT_TIMEOUT: Duration = Duration::from_secs(60);

/// The compiled-engine cache shared by every test run on this machine.
pub fn cache_dir() -> PathBuf {
    PathBuf::from("/var/tmp/facets-test-cache")
}

/// A project directory under `tests/fixtures`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures").join(name)
}

/// `facets` with the test environment (shared engine cache, info logs).
pub fn facets_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_facets"));
    cmd.env("FACETS_CACHE_DIR", cache_dir()).env("FACETS_LOG", "info");
    cmd
}

/// What a finished `facets` run printed.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `facets ARGS` to completion (killing it and failing the test if it
/// takes longer than a minute, e.g. a `serve` that should not have started).
pub fn run_facets(args: &[&str]) -> Finished {
    let mut child = facets_command()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning facets");
    let stdout = read_all_in_background(child.stdout.take().expect("piped stdout"));
    let stderr = read_all_in_background(child.stderr.take().expect("piped stderr"));
    let status = match wait_timeout(&mut child, EXIT_TIMEOUT) {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`facets {}` did not exit within {EXIT_TIMEOUT:?}\nstdout:\n{}\nstderr:\n{}",
                args.join(" "),
                stdout.join().unwrap_or_default(),
                stderr.join().unwrap_or_default()
            );
        }
    };
    Finished {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

fn read_all_in_background(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("waiting for facets") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `text` without ANSI escape sequences (colors), so that tests can match
/// log lines whatever the logger's styling.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// An HTTP response as the tests see it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// Names lowercased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON; panics with the body if it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("response body is not JSON ({e}): status {}, body {:?}", self.status, self.body))
    }
}

/// A running `facets serve`.
pub struct TestHost {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// `http://127.0.0.1:PORT` of the admin listener, when it was started.
    pub admin: Option<String>,
    pub data_dir: PathBuf,
    logs: Arc<Mutex<String>>,
    stderr_reader: Option<JoinHandle<()>>,
    agent: ureq::Agent,
    _temp: Option<tempfile::TempDir>,
}

impl TestHost {
    /// Serves `project` with a fresh temporary data directory.
    pub fn start(project: impl AsRef<Path>) -> TestHost {
        let temp = tempfile::tempdir().expect("creating a temporary data directory");
        let mut host = TestHost::start_with(project, temp.path(), &[]);
        host._temp = Some(temp);
        host
    }

    /// Serves `project` on `data_dir` (which outlives this host), with more
    /// `facets serve` arguments.
    pub fn start_with(project: impl AsRef<Path>, data_dir: &Path, extra_args: &[&str]) -> TestHost {
        let project = project.as_ref();
        let mut child = facets_command()
            .arg("serve")
            .arg(project)
            .args(["--ip", "127.0.0.1", "--port", "0", "--data-dir"])
            .arg(data_dir)
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning facets serve");

        let logs = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("piped stderr");
        let sink = logs.clone();
        let stderr_reader = std::thread::spawn(move || {
            let mut reader = BufReader::new(stderr);
            let mut line = Vec::new();
            while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
                sink.lock().expect("log buffer").push_str(&strip_ansi(&String::from_utf8_lossy(&line)));
                line.clear();
            }
        });

        // stdout: wait for `Ready on http://...`, then keep draining it so that
        // the server never blocks on a full pipe.
        let stdout = child.stdout.take().expect("piped stdout");
        let (ready_tx, ready_rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            let mut ready_tx = Some(ready_tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.trim().strip_prefix("Admin listening on ")
                    && let Some(tx) = &ready_tx
                {
                    let _ = tx.send(format!("admin {url}"));
                }
                if let Some(url) = line.trim().strip_prefix("Ready on ")
                    && let Some(tx) = ready_tx.take()
                {
                    let _ = tx.send(url.to_string());
                }
            }
        });

        let mut admin = None;
        let base = match ready_rx.recv_timeout(START_TIMEOUT).and_then(|first| match first.strip_prefix("admin ") {
            Some(url) => {
                admin = Some(url.to_string());
                ready_rx.recv_timeout(START_TIMEOUT)
            }
            None => Ok(first),
        }) {
            Ok(url) => url,
            Err(why) => {
                let _ = child.kill();
                let status = child.wait().ok();
                let _ = stderr_reader.join();
                let why = match why {
                    mpsc::RecvTimeoutError::Timeout => format!("did not print `Ready on` within {START_TIMEOUT:?}"),
                    mpsc::RecvTimeoutError::Disconnected => format!("exited before it was ready ({status:?})"),
                };
                panic!(
                    "facets serve {} {why}\nstderr:\n{}",
                    project.display(),
                    logs.lock().expect("log buffer")
                );
            }
        };
        assert!(base.starts_with("http://127.0.0.1:"), "unexpected address in `Ready on {base}`");

        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .timeout_global(Some(Duration::from_secs(60)))
                .build(),
        );
        TestHost {
            child: Some(child),
            base,
            admin,
            data_dir: data_dir.to_path_buf(),
            logs,
            stderr_reader: Some(stderr_reader),
            agent,
            _temp: None,
        }
    }

    /// Everything the server wrote to stderr so far, without colors.
    pub fn logs(&self) -> String {
        self.logs.lock().expect("log buffer").clone()
    }

    /// Waits up to 10 s for the logs to contain `needle`; whether they do.
    pub fn wait_for_log(&self, needle: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.logs().contains(needle) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// A GET on the admin listener, with `token` as bearer token if given.
    pub fn admin_get(&self, path: &str, token: Option<&str>) -> Reply {
        let admin = self.admin.as_deref().expect("the admin listener was not started");
        let mut builder = ureq::http::Request::builder().method("GET").uri(format!("{admin}{path}"));
        if let Some(t) = token {
            builder = builder.header("authorization", format!("Bearer {t}"));
        }
        let response = self
            .agent
            .run(builder.body(()).expect("a valid request"))
            .unwrap_or_else(|e| panic!("GET {path} (admin) failed: {e}\nserver stderr:\n{}", self.logs()));
        self.reply(&format!("GET {path} (admin)"), response)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &[], None)
    }

    pub fn post(&self, path: &str, body: &str) -> Reply {
        self.request("POST", path, &[], Some(body))
    }

    /// Any request; panics (with the server's logs) if no HTTP response comes back.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> Reply {
        let mut builder = ureq::http::Request::builder().method(method).uri(self.url(path));
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let result = match body {
            Some(body) => self.agent.run(builder.body(body.to_string()).expect("a valid request")),
            None => self.agent.run(builder.body(()).expect("a valid request")),
        };
        let response = result.unwrap_or_else(|e| panic!("{method} {path} failed: {e}\nserver stderr:\n{}", self.logs()));
        self.reply(&format!("{method} {path}"), response)
    }

    /// A response as a [`Reply`]; panics (with the server's logs) if its body cannot be read.
    fn reply(&self, what: &str, mut response: ureq::http::Response<ureq::Body>) -> Reply {
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let body = response
            .body_mut()
            .read_to_string()
            .unwrap_or_else(|e| panic!("reading the body of {what}: {e}\nserver stderr:\n{}", self.logs()));
        Reply { status, headers, body }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server is running").id()
    }

    /// Sends SIGTERM without waiting.
    pub fn terminate(&self) {
        let pid = nix::unistd::Pid::from_raw(self.pid() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("sending SIGTERM");
    }

    /// Sends SIGTERM and waits for the server to exit; its exit status.
    pub fn stop(&mut self) -> ExitStatus {
        self.terminate();
        self.wait()
    }

    /// Waits for the server to exit (up to a minute); its exit status.
    pub fn wait(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("server is running");
        let status = match wait_timeout(&mut child, EXIT_TIMEOUT) {
            Some(status) => status,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("facets serve did not exit within {EXIT_TIMEOUT:?}\nstderr:\n{}", self.logs());
            }
        };
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        status
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
