//! Exec: runs a local command (no shell) with the notification on its standard input, as the
//! same JSON document a webhook receives, and `FAULTLINE_NOTIFICATION_ID` in its
//! environment. Exit status 0 means delivered; anything else is tried again, since a script
//! usually fails for reasons that pass (a network, a lock); a program that does not exist
//! will not appear by retrying.
//!
//! The command runs in a process group of its own, so that at its timeout the processes it
//! started (a `curl` under `sh -c`, say) are killed with it and none is left holding the
//! pipes or running on.

use std::io::{self, Read, Write};
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::{webhook, Context, Notifier, SendError};
use crate::dispatch::Notification;
use crate::Ms;

/// How much of stderr goes into the error.
const STDERR_CHARS: usize = 200;

/// An exec receiver's plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The program and its arguments.
    pub command: Vec<String>,
    pub timeout_ms: Ms,
}

/// The exec notifier.
#[derive(Debug)]
pub struct Exec {
    program: String,
    args: Vec<String>,
    timeout: Duration,
}

impl Exec {
    pub fn new(c: &Config) -> Result<Exec, String> {
        let Some((program, args)) = c.command.split_first() else {
            return Err("empty command".to_string());
        };
        if program.is_empty() {
            return Err("empty program name".to_string());
        }
        Ok(Exec {
            program: program.clone(),
            args: args.to_vec(),
            timeout: Duration::from_millis(c.timeout_ms.max(1) as u64),
        })
    }

    fn spawn(&self, id: &str) -> Result<Child, SendError> {
        Command::new(&self.program)
            .args(&self.args)
            .env("FAULTLINE_NOTIFICATION_ID", id)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| {
                let message = format!("running {:?}: {e}", self.program);
                match e.kind() {
                    io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied => {
                        SendError::fatal(message)
                    }
                    _ => SendError::retry(message, None),
                }
            })
    }

    /// Waits for the exit, or kills the command at the deadline.
    fn wait(&self, child: &mut Child, deadline: Instant) -> Result<ExitStatus, SendError> {
        let mut pause = Duration::from_millis(1);
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Ok(status),
                Ok(None) if Instant::now() >= deadline => {
                    kill_group(child);
                    let _ = child.wait();
                    let message = format!("{:?} killed after {:?}", self.program, self.timeout);
                    return Err(SendError::retry(message, None));
                }
                Ok(None) => {
                    thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())))
                }
                Err(e) => {
                    kill_group(child);
                    return Err(SendError::retry(
                        format!("waiting for {:?}: {e}", self.program),
                        None,
                    ));
                }
            }
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }
}

impl Notifier for Exec {
    fn send(&self, n: &Notification, ctx: &Context) -> Result<(), SendError> {
        let body = webhook::payload(n, ctx)?;
        let deadline = Instant::now() + self.timeout;
        let mut child = self.spawn(&n.id)?;
        // Feeding stdin and draining stderr on threads of their own: a command that writes
        // a lot before it reads, or never reads, must not block us past the deadline.
        if let Some(mut stdin) = child.stdin.take() {
            thread::spawn(move || stdin.write_all(&body));
        }
        let stderr = child.stderr.take().map(drain);
        let status = self.wait(&mut child, deadline)?;
        if status.success() {
            return Ok(());
        }
        // A grandchild may hold stderr open after the command exits: wait only briefly.
        let text = stderr
            .and_then(|rx| rx.recv_timeout(Duration::from_millis(100)).ok())
            .unwrap_or_default();
        let mut message = format!("{:?} exited with {status}", self.program);
        let text: String = text.trim().chars().take(STDERR_CHARS).collect();
        if !text.is_empty() {
            message.push_str(": ");
            message.extend(text.chars().map(|c| if c.is_control() { ' ' } else { c }));
        }
        Err(SendError::retry(message, None))
    }
}

/// Kills the command and everything it started. The group is the command's own (it leads
/// it, see `process_group(0)`), and the command is not reaped yet, so its id cannot have
/// been reused for another group.
fn kill_group(child: &mut Child) {
    let pid = rustix::process::Pid::from_child(child);
    if rustix::process::kill_process_group(pid, rustix::process::Signal::KILL).is_err() {
        let _ = child.kill();
    }
}

/// Reads a pipe to its end and hands over the start of it.
fn drain(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut head = Vec::new();
        let _ = pipe
            .by_ref()
            .take(4 * STDERR_CHARS as u64)
            .read_to_end(&mut head);
        let _ = io::copy(&mut pipe, &mut io::sink());
        let _ = tx.send(String::from_utf8_lossy(&head).into_owned());
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::testkit::{self, notification};

    fn exec(command: &[&str], timeout_ms: Ms) -> Exec {
        Exec::new(&Config {
            command: command.iter().map(|s| s.to_string()).collect(),
            timeout_ms,
        })
        .unwrap()
    }

    fn send(e: &Exec) -> Result<(), SendError> {
        e.send(&notification(), &testkit::context())
    }

    #[test]
    fn the_command_reads_the_webhook_document_and_the_id() {
        let dir = std::env::temp_dir().join(format!("faultline-exec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("notification.json");
        let script = format!(
            "cat > {:?} && echo \"$FAULTLINE_NOTIFICATION_ID\" > {:?}.id",
            file, file
        );
        send(&exec(&["sh", "-c", &script], 2_000)).unwrap();
        let got: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let n = notification();
        let want = webhook::payload(&n, &testkit::context()).unwrap();
        assert_eq!(
            got,
            serde_json::from_slice::<serde_json::Value>(&want).unwrap()
        );
        let id = std::fs::read_to_string(format!("{}.id", file.display())).unwrap();
        assert_eq!(id.trim(), n.id);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failing_command_is_retried_with_its_stderr() {
        let err = send(&exec(&["false"], 2_000)).unwrap_err();
        assert!(err.retryable, "{err}");
        let err = send(&exec(
            &["sh", "-c", "echo 'pager API down' >&2; exit 3"],
            2_000,
        ))
        .unwrap_err();
        assert!(
            err.retryable && err.message.contains("pager API down"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_program_is_fatal() {
        let err = send(&exec(&["/nonexistent/faultline-notify"], 2_000)).unwrap_err();
        assert!(!err.retryable, "{err}");
        assert!(Exec::new(&Config {
            command: vec![],
            timeout_ms: 1
        })
        .is_err());
    }

    /// Whether a process is gone (or a zombie nobody reaped yet, which runs no more).
    fn gone(pid: &str) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z')),
        }
    }

    #[test]
    fn what_a_command_started_is_killed_with_it_at_the_timeout() {
        let dir = std::env::temp_dir().join(format!("faultline-exec-group-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pid_file = dir.join("child.pid");
        // A script whose own child outlives it unless the whole group is killed.
        let script = format!("sleep 30 & echo $! > {:?}; wait", pid_file);
        let err = send(&exec(&["sh", "-c", &script], 1_000)).unwrap_err();
        assert!(err.retryable && err.message.contains("killed"), "{err}");
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let pid = pid.trim();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !gone(pid) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        assert!(gone(pid), "the script's `sleep` {pid} still runs");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_command_that_hangs_is_killed_at_the_timeout() {
        let started = Instant::now();
        let err = send(&exec(&["sleep", "5"], 200)).unwrap_err();
        assert!(err.retryable, "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
}
