package smtp

import (
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/helpdeskd/helpdeskd/gateway"
)

// countingServer is fakeServer that counts the connections it accepted.
func countingServer(t *testing.T) (port int, accepted *atomic.Int64) {
	return acceptCounting(t, func(c net.Conn) { serveFake(c, "", "", "") })
}

// acceptCounting serves every connection of a loopback listener with serve, each in its own
// goroutine, and counts them.
func acceptCounting(t *testing.T, serve func(net.Conn)) (port int, accepted *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveListener(t, l, serve)
}

// serveListener serves every connection of l with serve, each in its own goroutine, until
// the test ends, and counts them.
func serveListener(t *testing.T, l net.Listener, serve func(net.Conn)) (port int, accepted *atomic.Int64) {
	t.Cleanup(func() { _ = l.Close() })
	accepted = new(atomic.Int64)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go serve(c)
		}
	}()
	return l.Addr().(*net.TCPAddr).Port, accepted
}

func TestSend_ConcurrentSendsShareTheKeptConnections(t *testing.T) {
	for _, tc := range []struct{ connections, senders, mails int }{
		{1, 4, 12},
		{3, 6, 30},
	} {
		t.Run(strconv.Itoa(tc.connections), func(t *testing.T) {
			port, accepted := countingServer(t)
			snd, err := New(Options{Host: "127.0.0.1", Port: port, Security: SecurityNone, From: "support@helpdesk.test",
				Connections: tc.connections})
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var next atomic.Int64
			errs := make(chan error, tc.mails)
			for range tc.senders {
				wg.Go(func() {
					for i := next.Add(1); i <= int64(tc.mails); i = next.Add(1) {
						id := strconv.FormatInt(i, 10)
						errs <- snd.Send(ctx, gateway.Outgoing{NotificationID: i, To: "ann@helpdesk.test", Subject: id, Text: "x",
							MessageID: "pool-" + id + "@helpdesk.test"})
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if n := accepted.Load(); n < 1 || n > int64(tc.connections) {
				t.Errorf("%d connections for %d mails, want 1 to %d", n, tc.mails, tc.connections)
			}
			if err := snd.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
}
