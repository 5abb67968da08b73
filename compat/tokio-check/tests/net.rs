//! tokio's networking on nbio: TCP with many concurrent tasks, UDP, Unix
//! streams and datagrams. Every operation runs under a timeout so a lost
//! wake-up fails the test instead of hanging it.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream};
use tokio::time::timeout;

const DEADLINE: Duration = Duration::from_secs(20);

fn temp_path(name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("nbio-tokio-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// An echo server task: copies everything each connection sends back to it.
async fn echo_server(listener: TcpListener) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(async move {
            let (mut r, mut w) = stream.split();
            let _ = tokio::io::copy(&mut r, &mut w).await;
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_echo_with_many_concurrent_tasks() {
    const CLIENTS: usize = 200;
    const MESSAGES: usize = 50;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(echo_server(listener));
    let mut clients = Vec::new();
    for id in 0..CLIENTS {
        clients.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let mut reply = [0u8; 64];
            for n in 0..MESSAGES {
                let msg = [(id + n) as u8; 64];
                stream.write_all(&msg).await.unwrap();
                stream.read_exact(&mut reply).await.unwrap();
                assert_eq!(reply, msg, "client {id}, message {n}");
            }
            // Half-close: the server's copy sees EOF and closes too.
            stream.shutdown().await.unwrap();
            assert_eq!(stream.read(&mut reply).await.unwrap(), 0);
        }));
    }
    timeout(DEADLINE, async {
        for client in clients {
            client.await.unwrap();
        }
    })
    .await
    .expect("echo clients did not finish");
    server.abort();
}

#[tokio::test]
async fn tcp_large_transfer_in_both_directions() {
    // More than the socket buffers hold, so both sides see WouldBlock and
    // must be woken by writable and readable events.
    const LEN: usize = 8 << 20;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(echo_server(listener));
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut r, mut w) = stream.into_split();
    let data: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
    let expected = data.clone();
    let writer = tokio::spawn(async move {
        w.write_all(&data).await.unwrap();
        w.shutdown().await.unwrap();
    });
    let mut got = Vec::with_capacity(LEN);
    timeout(DEADLINE, r.read_to_end(&mut got))
        .await
        .expect("transfer stalled")
        .unwrap();
    writer.await.unwrap();
    assert!(got == expected, "echoed bytes differ");
    server.abort();
}

#[tokio::test]
async fn tcp_connect_to_a_closed_port_is_refused() {
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let err = timeout(DEADLINE, TcpStream::connect(addr))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn udp_round_trip() {
    let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let b_addr = b.local_addr().unwrap();
    let a_addr = a.local_addr().unwrap();
    timeout(DEADLINE, async {
        for n in 0..100u8 {
            a.send_to(&[n; 32], b_addr).await.unwrap();
            let mut buf = [0u8; 64];
            let (len, from) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!((len, from, buf[0]), (32, a_addr, n));
            b.send_to(&buf[..len], from).await.unwrap();
            let len = a.recv(&mut buf).await.unwrap();
            assert_eq!((len, buf[31]), (32, n));
        }
    })
    .await
    .expect("UDP exchange stalled");
}

#[tokio::test]
async fn unix_stream_echo_and_peer_close() {
    let path = temp_path("stream.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let server = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 1024];
        loop {
            let n = s.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            s.write_all(&buf[..n]).await.unwrap();
        }
    });
    let mut client = UnixStream::connect(&path).await.unwrap();
    timeout(DEADLINE, async {
        let mut buf = [0u8; 5];
        for _ in 0..100 {
            client.write_all(b"hello").await.unwrap();
            client.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"hello");
        }
        client.shutdown().await.unwrap();
        server.await.unwrap();
        // The server dropped its end: EOF.
        assert_eq!(client.read(&mut buf).await.unwrap(), 0);
    })
    .await
    .expect("Unix stream exchange stalled");
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn unix_datagrams_pair_and_bound() {
    let (a, b) = UnixDatagram::pair().unwrap();
    timeout(DEADLINE, async {
        a.send(b"one").await.unwrap();
        let mut buf = [0u8; 16];
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"one");
    })
    .await
    .unwrap();

    let (pa, pb) = (temp_path("dgram-a.sock"), temp_path("dgram-b.sock"));
    let a = UnixDatagram::bind(&pa).unwrap();
    let b = UnixDatagram::bind(&pb).unwrap();
    timeout(DEADLINE, async {
        a.send_to(b"two", &pb).await.unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"two");
        assert_eq!(from.as_pathname(), Some(pa.as_path()));
    })
    .await
    .unwrap();
    let _ = std::fs::remove_file(&pa);
    let _ = std::fs::remove_file(&pb);
}
