//! `faultline serve` and `faultline check`: the daemon that follows logs as they are
//! written, keeps rollups, incidents and checkpoints in one SQLite file, and answers the
//! JSON API; and the command that validates its config.
//!
//! The loop is synchronous: poll the files, run new lines through the engine, and once a
//! tick advance the watermark through idle time and commit. Only this loop reads the clock.
//! SIGTERM and SIGINT stop it after a last commit (exit 0); SIGHUP reloads the config and
//! keeps the old one when the new one is invalid.

pub mod alerting;
pub mod api;
pub mod config;
pub mod live;
pub mod metrics;
pub mod telemetry;
pub mod views;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use faultline_serve::Server;
use faultline_store::{AlertDb, Store};

use crate::analyze::{Fatal, EXIT_UNUSABLE};
use crate::cli::{CheckArgs, ServeArgs};
use alerting::delivery::{wall_ms, Delivery};
use api::Api;
use live::Live;
use telemetry::{SelfEvent, Sink, Telemetry};

/// How often rollups past their retention are deleted.
const RETAIN_EVERY_MS: u64 = 60_000;

fn unusable(message: String) -> Fatal {
    Fatal {
        message,
        status: EXIT_UNUSABLE,
    }
}

/// `faultline check --config FILE`: every error with its line and key; exit 2 if any.
pub fn check(args: &CheckArgs) -> Result<u8, Fatal> {
    match config::load(&args.config) {
        Ok(plan) => {
            let plural = |n: usize| if n == 1 { "" } else { "s" };
            let (rules, receivers) = (plan.alerting.rules.len(), plan.alerting.receivers.len());
            println!(
                "{}: ok ({} source{}, state {}, API on {}; {rules} alert rule{}, {receivers} receiver{})",
                args.config.display(),
                plan.sources.len(),
                plural(plan.sources.len()),
                plan.state.display(),
                plan.url(plan.listen),
                plural(rules),
                plural(receivers),
            );
            Ok(0)
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!(
                "{}: {} error{}",
                args.config.display(),
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            );
            Ok(EXIT_UNUSABLE)
        }
    }
}

fn signals() -> Result<(Arc<AtomicBool>, Arc<AtomicBool>), Fatal> {
    let stop = Arc::new(AtomicBool::new(false));
    let reload = Arc::new(AtomicBool::new(false));
    for (sig, flag) in [
        (signal_hook::consts::SIGTERM, &stop),
        (signal_hook::consts::SIGINT, &stop),
        (signal_hook::consts::SIGHUP, &reload),
    ] {
        signal_hook::flag::register(sig, flag.clone())
            .map_err(|e| unusable(format!("cannot handle signal {sig}: {e}")))?;
    }
    Ok((stop, reload))
}

/// `faultline serve --config FILE`.
pub fn run(args: &ServeArgs) -> Result<u8, Fatal> {
    let plan = config::load(&args.config)
        .map_err(|errors| unusable(format!("invalid config:\n  {}", errors.join("\n  "))))?;
    let store =
        Store::open(&plan.state, plan.tiers.clone()).map_err(|e| unusable(e.to_string()))?;
    let sink = Arc::new(Sink::default());
    let followed = Arc::new(Mutex::new((0, 0)));
    let api = Arc::new(Api {
        reader: Mutex::new(store.reader().map_err(|e| unusable(e.to_string()))?),
        sink: sink.clone(),
        followed: followed.clone(),
        alert_db: Mutex::new(AlertDb::open(store.path()).map_err(|e| unusable(e.to_string()))?),
        active: Arc::new(Mutex::new(Vec::new())),
        tokens: Arc::new(Mutex::new(tokens_of(&plan))),
        counters: Arc::new(Mutex::new(metrics::Counters::default())),
        rules: Mutex::new(rules_of(&plan)),
    });
    let (stop, reload) = signals()?;
    let listener = std::net::TcpListener::bind(plan.listen)
        .map_err(|e| unusable(format!("serve.listen {}: {e}", plan.listen)))?;
    let mut server = Server::start_with(listener, api.clone(), &plan.base_path, plan.tls.as_ref())
        .map_err(|e| unusable(format!("HTTP: {e}")))?;
    sink.emit(&SelfEvent::Notice(format!(
        "serving {} with state in {}",
        plan.url(server.addr()),
        plan.state.display()
    )));
    let mut delivery = start_delivery(&plan, &store, &sink)?;
    let mut live = Live::new(plan, store, wall_ms()).map_err(|e| unusable(e.to_string()))?;
    live.set_counters(api.counters.clone());
    let started = Instant::now();
    let now_ms = || started.elapsed().as_millis() as u64;
    let (mut next_tick, mut next_retain) = (0u64, 0u64);
    while !stop.load(Ordering::Relaxed) {
        if reload.swap(false, Ordering::Relaxed) {
            server = reload_config(args, &mut live, server, &api, &sink);
            delivery = reload_delivery(&live, delivery, &sink);
        }
        let lines = live.poll(now_ms(), &*sink);
        *followed.lock().expect("not poisoned") = live.followed();
        let now = now_ms();
        if now >= next_tick || live.has_new_incident() || live.rollups_piling_up() {
            tick(&mut live, now, &sink, delivery.as_ref(), &api);
            next_tick = now + live.plan().tick_ms;
        }
        if now >= next_retain {
            if let Some(newest) = live.newest() {
                if let Err(e) = live.retain(newest) {
                    sink.emit(&SelfEvent::Notice(format!("retention: {e}")));
                }
            }
            if let Err(e) = live.retain_alerts(wall_ms()) {
                sink.emit(&SelfEvent::Notice(format!("alert history retention: {e}")));
            }
            next_retain = now + RETAIN_EVERY_MS;
        }
        if lines == 0 {
            std::thread::sleep(Duration::from_millis(live.plan().poll_ms));
        }
    }
    // Graceful stop: what was read is committed with its checkpoints.
    live.poll(now_ms(), &*sink);
    tick(&mut live, now_ms(), &sink, delivery.as_ref(), &api);
    server.stop();
    if let Some(d) = delivery {
        d.stop();
    }
    sink.emit(&SelfEvent::Notice("stopped".into()));
    Ok(0)
}

/// The alert rules `/metrics` shows, by their labels.
fn rules_of(plan: &config::ServePlan) -> Vec<metrics::RuleLabels> {
    let rules = plan.alerting.rules.iter();
    rules
        .map(|r| (r.name.clone(), r.severity.clone()))
        .collect()
}

/// Who may read and write the API.
fn tokens_of(plan: &config::ServePlan) -> faultline_serve::Tokens {
    faultline_serve::Tokens {
        read: plan.read_tokens.clone(),
        admin: plan.alerting.admin_token.clone(),
    }
}

/// The delivery thread, when the config names receivers.
fn start_delivery(
    plan: &config::ServePlan,
    store: &Store,
    sink: &Arc<Sink>,
) -> Result<Option<Delivery>, Fatal> {
    if plan.alerting.route.is_none() {
        return Ok(None);
    }
    Delivery::start(
        store.path(),
        &plan.alerting.receivers,
        plan.alerting.external_url.clone(),
        sink.clone(),
    )
    .map(Some)
    .map_err(|e| unusable(format!("alert delivery: {e}")))
}

/// After a reload: new receivers for the running thread, or a thread when there was none.
fn reload_delivery(live: &Live, running: Option<Delivery>, sink: &Arc<Sink>) -> Option<Delivery> {
    let a = &live.plan().alerting;
    match running {
        Some(d) => {
            d.set_receivers(a.receivers.clone(), a.external_url.clone());
            Some(d)
        }
        None => start_delivery(live.plan(), live.store(), sink).unwrap_or_else(|e| {
            sink.emit(&SelfEvent::Notice(e.message));
            None
        }),
    }
}

fn tick(live: &mut Live, now: u64, sink: &Sink, delivery: Option<&Delivery>, api: &Api) {
    live.end_quiet_events(sink);
    live.advance_idle(now);
    match live.commit(now, wall_ms(), sink) {
        Ok(enqueued) => {
            if enqueued {
                if let Some(d) = delivery {
                    d.wake();
                }
            }
        }
        Err(e) => sink.emit(&SelfEvent::CommitFailed(e.to_string())),
    }
    *api.active.lock().expect("not poisoned") = live.active_alerts();
    *api.tokens.lock().expect("not poisoned") = tokens_of(live.plan());
    *api.rules.lock().expect("not poisoned") = rules_of(live.plan());
    let db = live.store().path().to_path_buf();
    let mut wal = db.clone().into_os_string();
    wal.push("-wal");
    let size: u64 = [db.into_os_string(), wal]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    sink.emit(&SelfEvent::StoreSize { bytes: size });
}

/// SIGHUP: a valid new config replaces the old (the API moves if `serve.listen` changed);
/// an invalid one is reported and the old one stays.
fn reload_config(
    args: &ServeArgs,
    live: &mut Live,
    server: Server,
    api: &Arc<Api>,
    sink: &Sink,
) -> Server {
    let plan = match config::load(&args.config) {
        Ok(p) => p,
        Err(errors) => {
            sink.emit(&SelfEvent::Notice(format!(
                "reload: invalid config, keeping the running one:\n  {}",
                errors.join("\n  ")
            )));
            return server;
        }
    };
    let listen = plan.listen;
    let old_base = live.plan().base_path.clone();
    let tls = live.plan().tls.is_some() || plan.tls.is_some();
    live.reload(plan, sink);
    sink.emit(&SelfEvent::Notice("reload: config applied".into()));
    if listen == server.addr() || listen.port() == 0 {
        if old_base == live.plan().base_path && !tls {
            return server;
        }
        // A new prefix or certificate: serve again on the same socket.
        let addr = server.addr();
        let p = live.plan();
        return match server.restart(api.clone(), &p.base_path, p.tls.as_ref()) {
            Ok(s) => s,
            Err(e) => panic!("HTTP: cannot serve again on {addr}: {e}"),
        };
    }
    match std::net::TcpListener::bind(listen) {
        Ok(l) => {
            server.stop();
            match Server::start_with(
                l,
                api.clone(),
                &live.plan().base_path,
                live.plan().tls.as_ref(),
            ) {
                Ok(s) => s,
                Err(e) => {
                    panic!("HTTP: cannot serve on {listen} after stopping the old listener: {e}")
                }
            }
        }
        Err(e) => {
            sink.emit(&SelfEvent::Notice(format!(
                "reload: serve.listen {listen}: {e}; still serving on {}",
                server.addr()
            )));
            server
        }
    }
}
