//! tokio's OS integrations on nbio: pipes, child processes, signals, timers
//! (which drive `Poll` timeouts), `spawn_blocking` wake-ups and runtime
//! shutdown under load. Every wait is bounded.

use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;
use tokio::time::timeout;

const DEADLINE: Duration = Duration::from_secs(20);

#[tokio::test]
async fn unix_pipe_carries_data_and_reports_close() {
    let (mut tx, mut rx) = pipe::pipe().unwrap();
    let writer = tokio::spawn(async move {
        // Larger than a pipe buffer (64 KiB), so the writer must wait for
        // writable events.
        for chunk in 0..64u8 {
            tx.write_all(&[chunk; 4096]).await.unwrap();
        }
    });
    let mut got = Vec::new();
    timeout(DEADLINE, rx.read_to_end(&mut got))
        .await
        .expect("pipe stalled")
        .unwrap();
    writer.await.unwrap();
    assert_eq!(got.len(), 64 * 4096);
    assert!(got
        .chunks(4096)
        .enumerate()
        .all(|(i, c)| c.iter().all(|&b| b == i as u8)));
}

#[tokio::test]
async fn child_process_stdin_stdout_and_exit() {
    let mut child = tokio::process::Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn cat");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let input: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let expected = input.clone();
    let feeder = tokio::spawn(async move {
        stdin.write_all(&input).await.unwrap();
        // Dropping stdin closes it: cat sees EOF and exits.
    });
    let mut out = Vec::new();
    timeout(DEADLINE, stdout.read_to_end(&mut out))
        .await
        .expect("child output stalled")
        .unwrap();
    feeder.await.unwrap();
    let status = timeout(DEADLINE, child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "cat exited with {status}");
    assert!(out == expected, "child echoed different bytes");
}

#[tokio::test]
async fn child_exit_code_is_reported() {
    let status = timeout(
        DEADLINE,
        tokio::process::Command::new("sh")
            .args(["-c", "exit 7"])
            .status(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(status.code(), Some(7));
}

#[tokio::test]
async fn signal_to_self_is_delivered() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
    for _ in 0..3 {
        // SAFETY: kill(2) with our own pid and a signal tokio handles.
        let rc = unsafe { libc::kill(libc::getpid(), libc::SIGUSR1) };
        assert_eq!(rc, 0);
        timeout(DEADLINE, usr1.recv())
            .await
            .expect("SIGUSR1 not delivered")
            .expect("signal stream ended");
    }
}

#[tokio::test]
async fn timers_all_fire_and_never_early() {
    let start = Instant::now();
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for ms in [30u64, 10, 20, 1, 5] {
        let order = Arc::clone(&order);
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            tokio::time::sleep(Duration::from_millis(ms)).await;
            assert!(
                t.elapsed() >= Duration::from_millis(ms),
                "{ms} ms fired early"
            );
            order.lock().unwrap().push(ms);
        }));
    }
    timeout(DEADLINE, async {
        for t in tasks {
            t.await.unwrap();
        }
    })
    .await
    .unwrap();
    // All fired (the order may vary if the thread was descheduled past
    // several deadlines at once).
    let mut fired = order.lock().unwrap().clone();
    fired.sort_unstable();
    assert_eq!(fired, vec![1, 5, 10, 20, 30]);
    assert!(start.elapsed() >= Duration::from_millis(30));
}

#[tokio::test]
async fn timeout_on_a_silent_socket_expires() {
    let (a, _b) = tokio::net::UnixStream::pair().unwrap();
    let mut buf = [0u8; 1];
    let t = Instant::now();
    let res = timeout(Duration::from_millis(50), async {
        let mut a = a;
        a.read(&mut buf).await
    })
    .await;
    assert!(res.is_err(), "read on a silent socket returned {res:?}");
    assert!(t.elapsed() >= Duration::from_millis(50));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_blocking_results_wake_their_tasks() {
    let done = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for i in 0..64usize {
        let done = Arc::clone(&done);
        handles.push(tokio::task::spawn_blocking(move || {
            std::thread::sleep(Duration::from_millis(1));
            done.fetch_add(1, Ordering::SeqCst);
            i * 2
        }));
    }
    let results = timeout(DEADLINE, async {
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    })
    .await
    .expect("spawn_blocking results never woke their tasks");
    assert_eq!(results, (0..64).map(|i| i * 2).collect::<Vec<_>>());
    assert_eq!(done.load(Ordering::SeqCst), 64);
}

#[test]
fn multi_thread_runtime_shuts_down_under_load() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let exchanged = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&exchanged);
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        for _ in 0..50 {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
                let mut buf = [0u8; 16];
                loop {
                    s.write_all(&[1; 16]).await.unwrap();
                    s.read_exact(&mut buf).await.unwrap();
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        // Let the load build up (a bounded wait on a real condition).
        let until = Instant::now() + DEADLINE;
        while counter.load(Ordering::Relaxed) < 5_000 {
            assert!(Instant::now() < until, "load never built up");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let t = Instant::now();
    // Dropping tasks mid-I/O deregisters their sources; the runtime's
    // threads must all stop.
    rt.shutdown_timeout(Duration::from_secs(10));
    assert!(t.elapsed() < Duration::from_secs(10), "shutdown timed out");
    assert!(exchanged.load(Ordering::Relaxed) >= 5_000);
}
