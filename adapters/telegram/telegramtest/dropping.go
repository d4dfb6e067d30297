package telegramtest

import (
	"net"
	"testing"
)

// Dropping returns the URL of a Bot API whose line drops: it accepts every connection and
// closes it at once, so each call fails in the transport (an error that quotes the request
// URL, token included). It stops when the test ends.
func Dropping(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return "http://" + ln.Addr().String()
}
