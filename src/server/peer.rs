//! Which local user is at the other end of a loopback TCP connection, so
//! the server can put its own user's clients first and bound what any
//! other user holds.
//!
//! On Linux the kernel says: one `sock_diag` netlink query for the exact
//! 4-tuple of the client's socket returns its owner's uid. It costs the
//! same whatever the number of sockets on the machine (reading
//! `/proc/net/tcp` would cost a scan of every socket per connection, which
//! another user can make long). Elsewhere the uid is unknown and every
//! client is treated alike.

use std::net::SocketAddr;

/// Who a connection comes from, lowest priority first: the order in which
/// connections are given up when the server is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Peer {
    /// Another local user (their uid).
    Other(u32),
    /// The uid could not be found (not Linux, or the lookup failed).
    Unknown,
    /// The user the server runs as: the token holder.
    Own,
}

impl Peer {
    /// The class of the client at `peer` of a connection accepted on
    /// `local`.
    pub(crate) fn of(local: SocketAddr, peer: SocketAddr) -> Peer {
        match uid_of(local, peer) {
            // SAFETY: geteuid(2) cannot fail.
            Some(uid) if uid == unsafe { libc::geteuid() } => Peer::Own,
            Some(uid) => Peer::Other(uid),
            None => Peer::Unknown,
        }
    }

    /// The priority class alone (all other users are one class).
    pub(crate) fn rank(self) -> u8 {
        match self {
            Peer::Other(_) => 0,
            Peer::Unknown => 1,
            Peer::Own => 2,
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn uid_of(_local: SocketAddr, _peer: SocketAddr) -> Option<u32> {
    None
}

/// The uid owning the client socket of the connection `peer` -> `local`.
#[cfg(target_os = "linux")]
fn uid_of(local: SocketAddr, peer: SocketAddr) -> Option<u32> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    const NETLINK_SOCK_DIAG: i32 = 4;
    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const NLM_F_REQUEST: u16 = 1;
    // inet_diag_msg: family, state, timer, retrans (4), the socket id (48),
    // expires, rqueue, wqueue (12), then the uid.
    const UID_AT: usize = 16 + 4 + 48 + 12;

    let family = match (local, peer) {
        (SocketAddr::V4(_), SocketAddr::V4(_)) => libc::AF_INET,
        (SocketAddr::V6(_), SocketAddr::V6(_)) => libc::AF_INET6,
        _ => return None,
    };
    let addr = |a: &SocketAddr| -> [u8; 16] {
        let mut out = [0u8; 16];
        match a {
            SocketAddr::V4(v4) => out[..4].copy_from_slice(&v4.ip().octets()),
            SocketAddr::V6(v6) => out = v6.ip().octets(),
        }
        out
    };
    // The client's socket: its local end is our peer, its remote end us.
    let mut id = Vec::with_capacity(48);
    id.extend_from_slice(&peer.port().to_be_bytes());
    id.extend_from_slice(&local.port().to_be_bytes());
    id.extend_from_slice(&addr(&peer));
    id.extend_from_slice(&addr(&local));
    id.extend_from_slice(&0u32.to_ne_bytes()); // any interface
    id.extend_from_slice(&[0xff; 8]); // INET_DIAG_NOCOOKIE
    let mut msg = Vec::with_capacity(72);
    msg.extend_from_slice(&72u32.to_ne_bytes());
    msg.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    msg.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    msg.extend_from_slice(&1u32.to_ne_bytes()); // sequence
    msg.extend_from_slice(&0u32.to_ne_bytes()); // to the kernel
    msg.push(family as u8);
    msg.push(libc::IPPROTO_TCP as u8);
    msg.extend_from_slice(&[0, 0]); // no extensions, padding
    msg.extend_from_slice(&u32::MAX.to_ne_bytes()); // every state
    msg.extend_from_slice(&id);

    // SAFETY: socket(2) returns a new descriptor we own, or -1.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            NETLINK_SOCK_DIAG,
        )
    };
    if fd < 0 {
        return None;
    }
    // SAFETY: fd is a fresh descriptor nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: a valid buffer of msg.len() bytes; the kernel answers a
    // request on this socket before send returns.
    let sent = unsafe { libc::send(fd.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0) };
    if sent != msg.len() as isize {
        return None;
    }
    let mut buf = [0u8; 512];
    // SAFETY: a valid buffer; MSG_DONTWAIT: never blocks the server.
    let n = unsafe {
        libc::recv(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
        )
    };
    let reply = buf.get(..usize::try_from(n).ok()?)?;
    let ty = u16::from_ne_bytes(reply.get(4..6)?.try_into().ok()?);
    // An error reply (no such socket) or another socket: unknown. The
    // kernel echoes the id with its cookie: compare ports and addresses.
    if ty != SOCK_DIAG_BY_FAMILY || reply.get(20..56)? != &id[..36] {
        return None;
    }
    Some(u32::from_ne_bytes(
        reply.get(UID_AT..UID_AT + 4)?.try_into().ok()?,
    ))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_connection_from_this_process_is_our_own_user() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (_s, peer) = l.accept().unwrap();
        assert_eq!(peer, c.local_addr().unwrap());
        assert_eq!(Peer::of(l.local_addr().unwrap(), peer), Peer::Own);
        // A port nobody is connected from: no socket, so unknown.
        let mut gone = peer;
        gone.set_port(1);
        assert_eq!(Peer::of(l.local_addr().unwrap(), gone), Peer::Unknown);
    }

    #[test]
    fn an_ipv6_connection_is_looked_up_too() {
        // No IPv6 loopback on this machine: nothing to look up.
        let Ok(l) = std::net::TcpListener::bind("[::1]:0") else {
            return;
        };
        let _c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (_s, peer) = l.accept().unwrap();
        assert_eq!(Peer::of(l.local_addr().unwrap(), peer), Peer::Own);
        // Mixed families never name a socket.
        let v4: SocketAddr = "127.0.0.1:1".parse().unwrap();
        assert_eq!(Peer::of(l.local_addr().unwrap(), v4), Peer::Unknown);
    }
}
