//! Flow control (RFC 9113 §5.2, §6.9) as plain accounting: the windows
//! that limit what we send, and the windows we grant the server.
//!
//! Sending: grpc-go's stream window starts at 64 KiB, so a 1.5 MiB put
//! waits for WINDOW_UPDATEs; a SETTINGS change of INITIAL_WINDOW_SIZE moves
//! every open stream's window by the difference (possibly below zero).
//!
//! Receiving: we grant large windows and top them up when half is used:
//! the connection's as soon as data arrives (a slow reader of one stream
//! must not stall the others), a stream's when its reader has taken the
//! data (so what is buffered for a stream stays within its window).

use super::frame::MAX_WINDOW;

/// A window we send within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SendWindow(i64);

impl SendWindow {
    pub(crate) fn new(size: i64) -> SendWindow {
        SendWindow(size)
    }

    /// Bytes that may be sent now.
    pub(crate) fn available(&self) -> usize {
        usize::try_from(self.0.max(0)).unwrap_or(usize::MAX)
    }

    /// Counts `n` bytes sent (never more than [`available`](Self::available)).
    pub(crate) fn spend(&mut self, n: usize) {
        self.0 -= n as i64;
    }

    /// A WINDOW_UPDATE: `Err` if the window would pass 2^31-1 (a
    /// FLOW_CONTROL_ERROR).
    pub(crate) fn grow(&mut self, increment: u32) -> Result<(), ()> {
        self.shift(i64::from(increment))
    }

    /// A change of INITIAL_WINDOW_SIZE by `delta`.
    pub(crate) fn shift(&mut self, delta: i64) -> Result<(), ()> {
        let next = self.0 + delta;
        if next > MAX_WINDOW {
            return Err(());
        }
        self.0 = next;
        Ok(())
    }
}

/// A window we grant: what the server may still send, and what was used
/// and not yet given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecvWindow {
    size: u32,
    left: i64,
    used: u32,
}

impl RecvWindow {
    pub(crate) fn new(size: u32) -> RecvWindow {
        RecvWindow {
            size,
            left: i64::from(size),
            used: 0,
        }
    }

    /// Counts `n` bytes received: `Err` if that is more than was granted (a
    /// FLOW_CONTROL_ERROR).
    pub(crate) fn receive(&mut self, n: u32) -> Result<(), ()> {
        if i64::from(n) > self.left {
            return Err(());
        }
        self.left -= i64::from(n);
        Ok(())
    }

    /// `n` received bytes were taken: the increment to grant back in a
    /// WINDOW_UPDATE, once half the window is used (fewer, larger updates).
    pub(crate) fn release(&mut self, n: u32) -> Option<u32> {
        self.used = self.used.saturating_add(n);
        if self.used >= self.size / 2 && self.used > 0 {
            let increment = self.used;
            self.left += i64::from(increment);
            self.used = 0;
            return Some(increment);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sending_stops_at_the_window_and_resumes_with_updates() {
        let mut w = SendWindow::new(65_535);
        let mut sent = 0usize;
        let total = 1_500_000usize;
        let mut updates = 0;
        while sent < total {
            let n = w.available().min(16_384).min(total - sent);
            if n == 0 {
                w.grow(32_768).unwrap();
                updates += 1;
                continue;
            }
            w.spend(n);
            sent += n;
        }
        assert_eq!(sent, total);
        assert!(updates >= (total - 65_535) / 32_768);
    }

    #[test]
    fn a_settings_change_may_take_the_window_below_zero() {
        let mut w = SendWindow::new(65_535);
        w.spend(60_000);
        w.shift(16_384 - 65_535).unwrap();
        assert_eq!(w.available(), 0);
        w.grow(50_000).unwrap();
        assert_eq!(w.available(), 6_384); // 16384 - 60000 + 50000
    }

    #[test]
    fn a_window_past_2_31_is_an_error() {
        let mut w = SendWindow::new(MAX_WINDOW - 10);
        assert!(w.grow(11).is_err());
        assert!(w.grow(10).is_ok());
        assert!(w.shift(1).is_err());
    }

    #[test]
    fn receiving_counts_and_gives_back_at_half() {
        let mut w = RecvWindow::new(100);
        w.receive(40).unwrap();
        assert_eq!(w.release(40), None);
        w.receive(60).unwrap();
        assert!(w.receive(1).is_err(), "nothing left");
        assert_eq!(w.release(20), Some(60));
        w.receive(60).unwrap();
        assert!(w.receive(1).is_err());
        assert_eq!(w.release(40), None);
        assert_eq!(w.release(10), Some(50));
    }
}
