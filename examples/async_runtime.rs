//! A minimal async runtime built on nbio, with nothing but std: an executor
//! that runs futures, a reactor that turns readiness events into wake-ups,
//! and an `async` TCP echo server on top that serves many clients at once
//! from a single thread.
//!
//! ```text
//! cargo run --example async_runtime                    # listens on 127.0.0.1:9000
//! cargo run --example async_runtime -- 127.0.0.1:0     # any free port
//! cargo run --example async_runtime -- 127.0.0.1:0 --exit-after-clients 3
//! ```
//!
//! The first line of output is `async echo server listening on ADDR`. Try
//! it with several `nc 127.0.0.1 9000` (or `socat - TCP:127.0.0.1:9000`) at
//! the same time: each is served by its own task. With
//! `--exit-after-clients N` the server stops accepting after N connections
//! and exits once those N clients have disconnected.
//!
//! # Why this is the foundation runtimes are built on
//!
//! A Rust `Future` is a state machine that does nothing by itself: someone
//! must call its `poll` method. `poll` either finishes (`Ready`) or says
//! "not yet" (`Pending`), and in the latter case it promises to arrange for
//! the `Waker` it was given to be called once it is worth polling again.
//! That leaves two jobs to a runtime:
//!
//! * the **executor** keeps the tasks (top-level futures), polls those that
//!   were woken, and sleeps when none was;
//! * the **reactor** knows *when* an I/O future is worth polling again. It
//!   is an event loop like the other examples' (an nbio `Poll`), except that
//!   on an event it does not perform I/O itself: it calls the waker that a
//!   future left behind when its operation returned `WouldBlock`.
//!
//! The I/O futures below are each a few lines: try the non-blocking
//! operation; if it would block, store the waker under the socket's token
//! and return `Pending`. Everything else, `async fn`s, `.await`, loops over
//! reads and writes, is written as if it were blocking code, and the
//! compiler turns it into state machines that fit this scheme.
//!
//! Production runtimes add a great deal (several threads and work
//! stealing, timers, cancellation-safe I/O types, fairness budgets, a
//! faster task queue than a mutex-protected `VecDeque`), but their core is
//! this loop: poll ready tasks, then block in the OS selector, then wake
//! the tasks whose I/O became ready. On Unix and Windows alike, a selector
//! with readiness events, such as nbio, is what lets that single blocking
//! point cover every socket at once.

use nbio::event::Source;
use nbio::net::{TcpListener, TcpStream};
use nbio::{Events, Interest, Token};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

// ---------------------------------------------------------------------------
// Part 1: the reactor. It owns the nbio `Poll` and, for every registered
// source, the wakers of the futures waiting for it to become readable or
// writable.
// ---------------------------------------------------------------------------

/// The token of the `nbio::Waker` that interrupts a blocked `poll`.
const WAKE_TOKEN: Token = Token(0);

/// The futures waiting on one source: at most one reader and one writer
/// (one task uses a socket at a time in this example).
#[derive(Default)]
struct Waiting {
    reader: Option<Waker>,
    writer: Option<Waker>,
}

/// Which half of a source an operation waits on.
#[derive(Clone, Copy)]
enum Direction {
    Read,
    Write,
}

struct Reactor {
    poll: RefCell<nbio::Poll>,
    events: RefCell<Events>,
    waiting: RefCell<HashMap<Token, Waiting>>,
    next_token: Cell<usize>,
}

impl Reactor {
    fn new() -> io::Result<Reactor> {
        Ok(Reactor {
            poll: RefCell::new(nbio::Poll::new()?),
            events: RefCell::new(Events::with_capacity(1024)),
            waiting: RefCell::new(HashMap::new()),
            next_token: Cell::new(WAKE_TOKEN.0 + 1),
        })
    }

    /// Registers a source under a fresh token.
    fn register(&self, source: &mut impl Source, interest: Interest) -> io::Result<Token> {
        let token = Token(self.next_token.get());
        self.next_token.set(token.0 + 1);
        self.poll
            .borrow()
            .registry()
            .register(source, token, interest)?;
        self.waiting.borrow_mut().insert(token, Waiting::default());
        Ok(token)
    }

    fn deregister(&self, source: &mut impl Source, token: Token) {
        // Dropping the entry also drops any waker left in it.
        self.waiting.borrow_mut().remove(&token);
        let _ = self.poll.borrow().registry().deregister(source);
    }

    /// Remembers who to wake when `token` is ready in `direction`. Called
    /// by a future that just got `WouldBlock`.
    fn set_waker(&self, token: Token, direction: Direction, waker: &Waker) {
        if let Some(waiting) = self.waiting.borrow_mut().get_mut(&token) {
            let slot = match direction {
                Direction::Read => &mut waiting.reader,
                Direction::Write => &mut waiting.writer,
            };
            // A task polled again keeps the same waker: skip the clone then.
            match slot {
                Some(old) if old.will_wake(waker) => {}
                _ => *slot = Some(waker.clone()),
            }
        }
    }

    /// Blocks in the OS selector until some registered source is ready or
    /// the `nbio::Waker` is woken. Keeps the events for `dispatch`.
    fn block(&self) -> io::Result<()> {
        let mut events = self.events.borrow_mut();
        match self.poll.borrow_mut().poll(&mut events, None) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            other => other,
        }
    }

    /// Wakes the futures waiting on the sources the last `block` reported.
    /// A closed or failed socket wakes both sides: the operation they retry
    /// then returns the end of file or the error.
    fn dispatch(&self) {
        let mut to_wake = Vec::new();
        {
            let mut waiting = self.waiting.borrow_mut();
            for event in self.events.borrow().iter() {
                let Some(w) = waiting.get_mut(&event.token()) else {
                    continue; // the WAKE_TOKEN, or a source dropped meanwhile
                };
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    to_wake.extend(w.reader.take());
                }
                if event.is_writable() || event.is_write_closed() || event.is_error() {
                    to_wake.extend(w.writer.take());
                }
            }
        }
        // Wake outside the borrow: a waker may run arbitrary code.
        for waker in to_wake {
            waker.wake();
        }
    }
}

/// A non-blocking nbio source tied to the reactor: the building block of
/// the async I/O types. Registered once, deregistered when dropped.
struct Async<T: Source> {
    io: T,
    token: Token,
    reactor: Rc<Reactor>,
}

impl<T: Source> Async<T> {
    fn new(mut io: T, interest: Interest, reactor: &Rc<Reactor>) -> io::Result<Async<T>> {
        // Register for everything the source will ever wait for, once. The
        // readiness is edge-triggered, so an event nobody waits for costs
        // one ignored entry and no reregistration is ever needed.
        let token = reactor.register(&mut io, interest)?;
        Ok(Async {
            io,
            token,
            reactor: Rc::clone(reactor),
        })
    }

    /// A future that runs `op` on the source until it stops returning
    /// `WouldBlock`.
    fn io<R, F>(&self, direction: Direction, op: F) -> IoFuture<'_, T, F>
    where
        F: FnMut(&T) -> io::Result<R> + Unpin,
    {
        IoFuture {
            source: self,
            direction,
            op,
        }
    }
}

impl<T: Source> Drop for Async<T> {
    fn drop(&mut self) {
        self.reactor.deregister(&mut self.io, self.token);
    }
}

/// The one I/O future everything else is made of.
struct IoFuture<'a, T: Source, F> {
    source: &'a Async<T>,
    direction: Direction,
    op: F,
}

impl<T: Source, R, F> Future for IoFuture<'_, T, F>
where
    F: FnMut(&T) -> io::Result<R> + Unpin,
{
    type Output = io::Result<R>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        let this = &mut *self; // fine: every field is `Unpin`
        loop {
            match (this.op)(&this.source.io) {
                // Not ready: leave our waker with the reactor and give the
                // thread back to the executor. Nothing can slip in between
                // the failed attempt and storing the waker, because the
                // reactor only runs when no task is being polled; and
                // whatever arrives after the attempt is a new edge, so it
                // will produce an event.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let source = this.source;
                    source
                        .reactor
                        .set_waker(source.token, this.direction, cx.waker());
                    return Poll::Pending;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                result => return Poll::Ready(result),
            }
        }
    }
}

impl Async<TcpListener> {
    fn bind(addr: SocketAddr, reactor: &Rc<Reactor>) -> io::Result<Self> {
        Async::new(TcpListener::bind(addr)?, Interest::READABLE, reactor)
    }

    async fn accept(&self) -> io::Result<(Async<TcpStream>, SocketAddr)> {
        let (stream, peer) = self.io(Direction::Read, |l| l.accept()).await?;
        let interest = Interest::READABLE | Interest::WRITABLE;
        Ok((Async::new(stream, interest, &self.reactor)?, peer))
    }
}

impl Async<TcpStream> {
    async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        // `Read` is implemented for `&TcpStream`, so a shared borrow reads.
        self.io(Direction::Read, |mut s: &TcpStream| s.read(buf))
            .await
    }

    async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = self
                .io(Direction::Write, |mut s: &TcpStream| s.write(buf))
                .await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            buf = &buf[n..];
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Part 2: the executor. Tasks live in a map by id; a task's waker puts its
// id on the ready queue, and wakes the `Poll` in case the executor is
// blocked in it.
// ---------------------------------------------------------------------------

/// The ids of tasks to poll. Shared with the wakers, which may be called
/// from any thread, hence `Arc`, `Mutex` and atomics here (and only here).
struct ReadyQueue {
    ids: Mutex<VecDeque<usize>>,
    /// True while the executor is (about to be) blocked in `poll`.
    parked: AtomicBool,
    /// Makes a blocked `nbio::Poll::poll` return.
    poll_waker: nbio::Waker,
}

impl ReadyQueue {
    fn push(&self, id: usize) {
        self.ids.lock().unwrap().push_back(id);
        // Only a parked executor needs the (system call) wake-up; a running
        // one looks at the queue before it blocks again. The executor sets
        // `parked` before its last look at the queue, and we push before
        // reading `parked`, so one of the two always sees the other.
        if self.parked.load(Ordering::SeqCst) {
            let _ = self.poll_waker.wake();
        }
    }
}

/// What a task's `std::task::Waker` does, via std's `Wake` trait: queue the
/// task's id.
struct TaskWaker {
    id: usize,
    queue: Arc<ReadyQueue>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.queue.push(self.id);
    }
}

struct Task {
    future: Pin<Box<dyn Future<Output = ()>>>,
    /// Made once per task, handed to every `poll` of it.
    waker: Waker,
}

struct Inner {
    reactor: Rc<Reactor>,
    queue: Arc<ReadyQueue>,
    tasks: RefCell<HashMap<usize, Task>>,
    next_id: Cell<usize>,
}

/// A handle to the runtime: cheap to clone, single-threaded.
#[derive(Clone)]
struct Runtime(Rc<Inner>);

impl Runtime {
    fn new() -> io::Result<Runtime> {
        let reactor = Reactor::new()?;
        let poll_waker = nbio::Waker::new(reactor.poll.borrow().registry(), WAKE_TOKEN)?;
        Ok(Runtime(Rc::new(Inner {
            reactor: Rc::new(reactor),
            queue: Arc::new(ReadyQueue {
                ids: Mutex::new(VecDeque::new()),
                parked: AtomicBool::new(false),
                poll_waker,
            }),
            tasks: RefCell::new(HashMap::new()),
            next_id: Cell::new(0),
        })))
    }

    fn reactor(&self) -> &Rc<Reactor> {
        &self.0.reactor
    }

    /// Adds a task and queues it for its first poll.
    fn spawn(&self, future: impl Future<Output = ()> + 'static) {
        let id = self.0.next_id.get();
        self.0.next_id.set(id + 1);
        let waker = Waker::from(Arc::new(TaskWaker {
            id,
            queue: Arc::clone(&self.0.queue),
        }));
        let task = Task {
            future: Box::pin(future),
            waker,
        };
        self.0.tasks.borrow_mut().insert(id, task);
        self.0.queue.push(id);
    }

    /// Runs until every task has finished.
    fn run(&self) -> io::Result<()> {
        let inner = &*self.0;
        loop {
            // 1. Poll every task that was woken. A task is taken out of the
            //    map while it runs, so it can spawn others freely.
            loop {
                let next = inner.queue.ids.lock().unwrap().pop_front();
                let Some(id) = next else { break };
                // A task woken twice, or after it finished, is not there.
                let Some(mut task) = inner.tasks.borrow_mut().remove(&id) else {
                    continue;
                };
                let mut cx = Context::from_waker(&task.waker);
                if task.future.as_mut().poll(&mut cx).is_pending() {
                    inner.tasks.borrow_mut().insert(id, task);
                }
            }
            if inner.tasks.borrow().is_empty() {
                return Ok(());
            }
            // 2. Nothing to do: sleep in the selector, unless a waker (from
            //    another thread) queued a task since the check above.
            inner.queue.parked.store(true, Ordering::SeqCst);
            let idle = inner.queue.ids.lock().unwrap().is_empty();
            if idle {
                inner.reactor.block()?;
            }
            inner.queue.parked.store(false, Ordering::SeqCst);
            // 3. Turn the readiness events into wake-ups: they fill the
            //    queue for the next round.
            inner.reactor.dispatch();
        }
    }
}

// ---------------------------------------------------------------------------
// Part 3: the application, written in plain async Rust.
// ---------------------------------------------------------------------------

fn main() -> io::Result<()> {
    let mut addr = "127.0.0.1:9000".to_string();
    let mut exit_after = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--exit-after-clients" => {
                let n = args.next().and_then(|n| n.parse::<usize>().ok());
                exit_after = Some(n.ok_or_else(|| invalid("--exit-after-clients needs a number"))?);
            }
            other => addr = other.to_string(),
        }
    }
    let addr = addr.parse().map_err(|_| invalid("bad listen address"))?;

    let runtime = Runtime::new()?;
    let listener = Async::<TcpListener>::bind(addr, runtime.reactor())?;
    println!(
        "async echo server listening on {}",
        listener.io.local_addr()?
    );
    io::stdout().flush()?;

    let served = Rc::new(Cell::new(0usize));
    runtime.spawn(accept_loop(
        runtime.clone(),
        listener,
        exit_after,
        Rc::clone(&served),
    ));
    // Returns once the accept loop and every client task have finished.
    runtime.run()?;
    println!("served {} clients, exiting", served.get());
    Ok(())
}

/// Accepts clients and spawns a task for each, until `limit` is reached.
async fn accept_loop(
    runtime: Runtime,
    listener: Async<TcpListener>,
    limit: Option<usize>,
    served: Rc<Cell<usize>>,
) {
    let mut accepted = 0;
    while limit.map_or(true, |n| accepted < n) {
        match listener.accept().await {
            Ok((stream, peer)) => {
                accepted += 1;
                println!("{peer} connected");
                let served = Rc::clone(&served);
                runtime.spawn(async move {
                    if let Err(e) = echo(&stream).await {
                        println!("{peer}: {e}");
                    }
                    println!("{peer} disconnected");
                    served.set(served.get() + 1);
                });
            }
            // The client gave up before we accepted it: not our problem.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
                ) => {}
            Err(e) => {
                println!("accept failed: {e}; no longer accepting");
                break;
            }
        }
    }
    // Returning drops the listener: it is deregistered and closed.
}

/// The per-client task: reads like blocking code, runs concurrently.
async fn echo(stream: &Async<TcpStream>) -> io::Result<()> {
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}
