//! Tailing scenarios, each by name: every line written is delivered exactly once (except in
//! copytruncate's documented window), in order, across rotations and truncations.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use faultline_ingest::{TailEvent, Tailer};

const FLUSH_MS: u64 = 1000;

fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// Polls once and returns the text of the lines delivered and the other events.
fn poll(t: &mut Tailer, now: u64) -> (String, Vec<TailEvent>) {
    let mut out = Vec::new();
    t.poll(now, &mut out);
    let mut text = String::new();
    let mut other = Vec::new();
    for e in out {
        match e {
            TailEvent::Lines { bytes, .. } => text.push_str(&String::from_utf8(bytes).unwrap()),
            e => other.push(e),
        }
    }
    (text, other)
}

#[test]
fn appended_lines_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("access.log");
    append(&p, "a\nb\n");
    let mut t = Tailer::new(&p, None, FLUSH_MS);
    assert_eq!(poll(&mut t, 0).0, "a\nb\n");
    assert_eq!(poll(&mut t, 1).0, "");
    append(&p, "c\n");
    assert_eq!(poll(&mut t, 2).0, "c\n");
}

#[test]
fn partial_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("access.log");
    append(&p, "a\nhalf");
    let mut t = Tailer::new(&p, None, FLUSH_MS);
    assert_eq!(poll(&mut t, 0).0, "a\n", "the partial line waits");
    append(&p, " done\nnext");
    assert_eq!(poll(&mut t, 10).0, "half done\n");
    // Nothing completes it: delivered once it is older than the flush timeout.
    assert_eq!(poll(&mut t, 500).0, "");
    assert_eq!(poll(&mut t, 10 + FLUSH_MS).0, "next");
    assert_eq!(
        t.checkpoint().unwrap().offset,
        fs::metadata(&p).unwrap().len()
    );
}

#[test]
fn rename_rotation() {
    // logrotate's create mode: rename, create a new file; the writer keeps writing to the
    // old one for a moment (nginx reopens its logs on a signal).
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("access.log");
    append(&p, "1\n2\n");
    let mut t = Tailer::new(&p, None, FLUSH_MS);
    assert_eq!(poll(&mut t, 0).0, "1\n2\n");
    fs::rename(&p, dir.path().join("access.log.1")).unwrap();
    append(&dir.path().join("access.log.1"), "3\n");
    append(&p, "4\n");
    let (text, events) = poll(&mut t, 1);
    assert_eq!(text, "3\n4\n", "the old file is read to its end first");
    assert!(
        matches!(events[..], [TailEvent::Rotated { .. }]),
        "{events:?}"
    );
    append(&p, "5\n");
    assert_eq!(poll(&mut t, 2).0, "5\n");
}

#[test]
fn copytruncate() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("access.log");
    append(&p, "1\n2\n");
    let mut t = Tailer::new(&p, None, FLUSH_MS);
    assert_eq!(poll(&mut t, 0).0, "1\n2\n");
    fs::copy(&p, dir.path().join("access.log.1")).unwrap();
    fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&p)
        .unwrap();
    append(&p, "3\n");
    let (text, events) = poll(&mut t, 1);
    assert_eq!(text, "3\n");
    assert!(
        matches!(events[..], [TailEvent::Truncated { at: 4, .. }]),
        "{events:?}"
    );
}

#[test]
fn truncation_in_place_then_growth_past_the_old_offset() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("access.log");
    append(&p, "first line\n");
    let mut t = Tailer::new(&p, None, FLUSH_MS);
    assert_eq!(poll(&mut t, 0).0, "first line\n");
    // Truncated and rewritten to more than before between two polls: the first bytes
    // changed, so it is read again from the start.
    fs::write(&p, "other content, longer than before\n").unwrap();
    let (text, events) = poll(&mut t, 1);
    assert_eq!(text, "other content, longer than before\n");
    assert!(
        matches!(events[..], [TailEvent::Truncated { .. }]),
        "{events:?}"
    );
}

#[test]
fn rotated_file_compressed_afterwards() {
    // Rename, then the rotated file gets more lines and is replaced by a compressed copy
    // before the next poll: the descriptor still open reads it to its end.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("access.log");
    let old = dir.path().join("access.log.1");
    append(&p, "1\n");
    let mut t = Tailer::new(&p, None, FLUSH_MS);
    assert_eq!(poll(&mut t, 0).0, "1\n");
    fs::rename(&p, &old).unwrap();
    append(&old, "2\n");
    fs::write(dir.path().join("access.log.1.gz"), b"compressed").unwrap();
    fs::remove_file(&old).unwrap();
    append(&p, "3\n");
    assert_eq!(poll(&mut t, 1).0, "2\n3\n");
}

#[test]
fn delete_and_recreate() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("access.log");
    append(&p, "1\n");
    let mut t = Tailer::new(&p, None, FLUSH_MS);
    assert_eq!(poll(&mut t, 0).0, "1\n");
    fs::remove_file(&p).unwrap();
    let (text, events) = poll(&mut t, 1);
    assert_eq!(
        (text.as_str(), events.len()),
        ("", 0),
        "a missing path is waited for"
    );
    append(&p, "2\n");
    let (text, events) = poll(&mut t, 2);
    assert_eq!(text, "2\n");
    assert_eq!(events.len(), 1, "{events:?}");
}

#[test]
fn inode_reuse() {
    // The same inode holding another file (deleted and recreated, the inode handed out
    // again; here: rewritten in place at the same length): its first bytes differ.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("access.log");
    append(&p, "aaaa\n");
    let mut t = Tailer::new(&p, None, FLUSH_MS);
    assert_eq!(poll(&mut t, 0).0, "aaaa\n");
    let cp = t.checkpoint().unwrap();
    fs::write(&p, "bbbb\n").unwrap();
    assert_eq!(poll(&mut t, 1).0, "bbbb\n");
    // A checkpoint of the old content does not resume the new one mid-file.
    let mut again = Tailer::new(&p, Some(cp), FLUSH_MS);
    assert_eq!(poll(&mut again, 0).0, "bbbb\n");
}

#[test]
fn two_files_with_the_same_first_line() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    append(&a, "same\nA\n");
    append(&b, "same\nB\n");
    let mut ta = Tailer::new(&a, None, FLUSH_MS);
    assert_eq!(poll(&mut ta, 0).0, "same\nA\n");
    // b's checkpoint cannot be a's: identity is device and inode first.
    let mut tb = Tailer::new(&b, ta.checkpoint(), FLUSH_MS);
    assert_eq!(poll(&mut tb, 0).0, "same\nB\n");
}

#[test]
fn unreadable_file_is_reported_once_and_retried() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("access.log");
    fs::create_dir(&p).unwrap();
    let mut t = Tailer::new(&p, None, FLUSH_MS);
    let (_, events) = poll(&mut t, 0);
    assert!(
        matches!(&events[..], [TailEvent::Unreadable { error }] if error.contains("access.log")),
        "{events:?}"
    );
    assert!(
        poll(&mut t, 1).1.is_empty(),
        "a lasting error is reported once"
    );
    fs::remove_dir(&p).unwrap();
    append(&p, "ok\n");
    assert_eq!(poll(&mut t, 2).0, "ok\n");
}

#[test]
fn a_checkpoint_resumes_without_loss_or_repeat() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("access.log");
    append(&p, "1\n2\npart");
    let mut t = Tailer::new(&p, None, FLUSH_MS);
    assert_eq!(poll(&mut t, 0).0, "1\n2\n");
    let cp = t.checkpoint().unwrap();
    assert_eq!(cp.offset, 4, "the partial line is not consumed");
    drop(t);
    append(&p, "ial\n3\n");
    let mut t = Tailer::new(&p, Some(cp), FLUSH_MS);
    assert_eq!(poll(&mut t, 0).0, "partial\n3\n");
}

mod watcher {
    use super::*;
    use faultline_ingest::{StartAt, WatchEvent, Watcher};

    fn text(events: &[WatchEvent]) -> Vec<(String, String)> {
        events
            .iter()
            .filter_map(|e| match &e.event {
                TailEvent::Lines { bytes, .. } => Some((
                    e.path.file_name().unwrap().to_string_lossy().into_owned(),
                    String::from_utf8(bytes.clone()).unwrap(),
                )),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_glob_matching_a_new_file_after_start() {
        let dir = tempfile::tempdir().unwrap();
        append(&dir.path().join("a.access.log"), "a1\n");
        let glob = format!("{}/*.access.log", dir.path().display());
        let mut w = Watcher::new(vec![glob], Vec::new(), StartAt::Beginning, FLUSH_MS);
        let mut out = Vec::new();
        w.poll(0, &mut out);
        assert_eq!(text(&out), vec![("a.access.log".into(), "a1\n".into())]);
        // A vhost added while running: read from its first line.
        append(&dir.path().join("b.access.log"), "b1\nb2\n");
        append(&dir.path().join("a.access.log"), "a2\n");
        out.clear();
        w.poll(1, &mut out);
        assert_eq!(
            text(&out),
            vec![
                ("a.access.log".into(), "a2\n".into()),
                ("b.access.log".into(), "b1\nb2\n".into())
            ]
        );
        assert_eq!(w.paths().count(), 2);
        assert!(out.iter().all(|e| e.input == 0));
    }

    #[test]
    fn start_at_end_skips_history_but_not_new_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("access.log");
        append(&p, "old\n");
        let mut w = Watcher::new(
            vec![p.display().to_string()],
            Vec::new(),
            StartAt::End,
            FLUSH_MS,
        );
        let mut out = Vec::new();
        w.poll(0, &mut out);
        assert!(text(&out).is_empty());
        append(&p, "new\n");
        w.poll(1, &mut out);
        assert_eq!(text(&out), vec![("access.log".into(), "new\n".into())]);
        // After a rotation the new file is read whole.
        fs::rename(&p, dir.path().join("access.log.1")).unwrap();
        append(&p, "rotated\n");
        out.clear();
        w.poll(2, &mut out);
        assert_eq!(text(&out), vec![("access.log".into(), "rotated\n".into())]);
        // Checkpoints resume where reading stood.
        let cps = w.checkpoints();
        append(&p, "after restart\n");
        let mut again = Watcher::new(vec![p.display().to_string()], cps, StartAt::End, FLUSH_MS);
        out.clear();
        again.poll(3, &mut out);
        assert_eq!(
            text(&out),
            vec![("access.log".into(), "after restart\n".into())]
        );
    }
}

#[test]
fn rotated_while_stopped() {
    // Stopped with a checkpoint; meanwhile more lines, a rename rotation, and new lines:
    // the rest of the old file is read first, found by its identity as access.log.1.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("access.log");
    append(&p, "1\n");
    let mut t = Tailer::new(&p, None, FLUSH_MS);
    assert_eq!(poll(&mut t, 0).0, "1\n");
    let cp = t.checkpoint();
    drop(t);
    append(&p, "2\n");
    fs::rename(&p, dir.path().join("access.log.1")).unwrap();
    append(&p, "3\n");
    let mut t = Tailer::new(&p, cp, FLUSH_MS);
    let (text, events) = poll(&mut t, 1);
    assert_eq!(text, "2\n3\n");
    assert!(
        matches!(events[..], [TailEvent::Rotated { .. }]),
        "{events:?}"
    );
}

/// A random walk of writes, rotations, deletions, truncations, crashes and polls, checked
/// against a model of what must be delivered: every line exactly once and in order, except
/// the lines of a file the tailer never saw before it was rotated away, and the rest of a
/// deleted file after a crash.
mod model {
    use super::*;
    use faultline_ingest::Checkpoint;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    struct FileModel {
        lines: Vec<u64>,
        deleted: bool,
    }

    /// What the model says a poll delivers: the rest of the file the tailer has open (or
    /// of the checkpoint's file, still on disk), then the file the path names, whole.
    fn expect(
        files: &[FileModel],
        current: usize,
        open: Option<(usize, usize)>,
        committed: Option<&(usize, usize, Checkpoint)>,
        expected: &mut Vec<u64>,
    ) {
        let from = match (open, committed) {
            (Some(o), _) => Some(o),
            (None, Some(&(f, c, _))) if !files[f].deleted || f == current => Some((f, c)),
            (None, Some(_)) | (None, None) => None,
        };
        match from {
            Some((f, c)) => {
                expected.extend(&files[f].lines[c..]);
                if f != current {
                    expected.extend(&files[current].lines);
                }
            }
            None => expected.extend(&files[current].lines),
        }
    }

    fn run(seed: u64) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("access.log");
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut files = vec![FileModel {
            lines: Vec::new(),
            deleted: false,
        }];
        fs::write(&p, "").unwrap();
        let mut current = 0usize;
        let mut next_id = 0u64;
        let mut rotations = 0;
        // The tailer's view: the file open (index, lines read) or, after a crash, the
        // committed checkpoint to resume from.
        let mut open: Option<(usize, usize)> = None;
        let mut committed: Option<(usize, usize, Checkpoint)> = None;
        let mut tailer = Tailer::new(&p, None, FLUSH_MS);
        let mut delivered: Vec<u64> = Vec::new();
        let mut expected: Vec<u64> = Vec::new();
        let mut log = Vec::new();
        let mut held = Vec::new();
        for _ in 0..80 {
            match rng.below(100) {
                0..=44 => {
                    let n = 1 + rng.below(4);
                    let mut text = String::new();
                    for _ in 0..n {
                        text.push_str(&format!("line {next_id}\n"));
                        files[current].lines.push(next_id);
                        next_id += 1;
                    }
                    append(&p, &text);
                    log.push(format!("write {n}"));
                }
                45..=69 => {
                    let (text, _) = poll(&mut tailer, 0);
                    delivered.extend(text.lines().map(|l| l[5..].parse::<u64>().unwrap()));
                    expect(&files, current, open, committed.as_ref(), &mut expected);
                    open = Some((current, files[current].lines.len()));
                    committed = tailer
                        .checkpoint()
                        .map(|cp| (current, files[current].lines.len(), cp));
                    log.push("poll".into());
                }
                70..=79 => {
                    rotations += 1;
                    fs::rename(&p, dir.path().join(format!("access.log.{rotations}"))).unwrap();
                    fs::write(&p, "").unwrap();
                    files.push(FileModel {
                        lines: Vec::new(),
                        deleted: false,
                    });
                    current = files.len() - 1;
                    log.push("rotate".into());
                }
                80..=84 => {
                    // Held open so that its inode is not handed to a later file: the model
                    // cannot predict inode reuse (which the tailer also handles).
                    held.push(fs::File::open(&p).unwrap());
                    fs::remove_file(&p).unwrap();
                    files[current].deleted = true;
                    fs::write(&p, "").unwrap();
                    files.push(FileModel {
                        lines: Vec::new(),
                        deleted: false,
                    });
                    current = files.len() - 1;
                    log.push("delete and recreate".into());
                }
                85..=92 => {
                    drop(std::mem::replace(
                        &mut tailer,
                        Tailer::new(&p, committed.as_ref().map(|c| c.2.clone()), FLUSH_MS),
                    ));
                    open = None;
                    log.push("crash".into());
                }
                _ => {
                    // copytruncate right after a poll: nothing unread is lost.
                    let (text, _) = poll(&mut tailer, 0);
                    delivered.extend(text.lines().map(|l| l[5..].parse::<u64>().unwrap()));
                    expect(&files, current, open, committed.as_ref(), &mut expected);
                    fs::copy(&p, dir.path().join("access.log.copy")).unwrap();
                    OpenOptions::new()
                        .write(true)
                        .truncate(true)
                        .open(&p)
                        .unwrap();
                    files.push(FileModel {
                        lines: Vec::new(),
                        deleted: false,
                    });
                    current = files.len() - 1;
                    // Same inode: the tailer keeps it open and restarts at 0.
                    open = Some((current, 0));
                    committed = tailer.checkpoint().map(|cp| (current, 0, cp));
                    log.push("poll, copytruncate".into());
                }
            }
            assert_eq!(delivered, expected, "seed {seed}: after {log:?}");
        }
    }

    #[test]
    fn random_walks_match_the_model() {
        for seed in 1..=300 {
            run(seed);
        }
    }
}
