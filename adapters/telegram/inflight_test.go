package telegram

import (
	"context"
	"testing"
	"time"
)

func TestInflight_SettleWaitsForTheChatsSends(t *testing.T) {
	var f inflight
	ctx := context.Background()
	if !f.settle(ctx, 1, time.Hour) {
		t.Fatal("no send under way: settle must not wait")
	}
	f.begin(1)
	f.begin(1)
	f.begin(2)
	settled := make(chan bool)
	go func() { settled <- f.settle(ctx, 1, time.Hour) }()
	f.end(1)
	select {
	case <-settled:
		t.Fatal("settle returned with one of chat 1's two sends still under way")
	case <-time.After(50 * time.Millisecond):
	}
	f.end(1)
	if !<-settled {
		t.Fatal("settle after chat 1's last send: want true")
	}
	if f.settle(ctx, 2, time.Millisecond) {
		t.Fatal("chat 2's send is still under way: settle must give up after its bound")
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if f.settle(canceled, 2, time.Hour) {
		t.Fatal("a canceled wait reports a settled chat")
	}
	f.end(2)
	f.end(2) // one end too many is harmless
	if !f.settle(ctx, 2, time.Hour) {
		t.Fatal("chat 2 after its send")
	}
}
