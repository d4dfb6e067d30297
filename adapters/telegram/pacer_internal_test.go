package telegram

import (
	"context"
	"testing"
	"time"
)

// A group waiting out its gap must not hold up a private chat: the dispatcher gives the
// staff chat a lane of its own, and a shared overall slot reserved ahead would tie them
// together again. It asserts no timing: the group's gap is an hour, the guard only stops a
// test that would hang.
func TestPacer_GroupGapHoldsUpNoPrivateChat(t *testing.T) {
	p := newPacer(Pace{PerChat: time.Hour, PerGroup: time.Hour, Overall: time.Microsecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := p.wait(ctx, -100); err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	go func() { second <- p.wait(ctx, -100) }() // the group's next slot: an hour away
	for _, chat := range []int64{1, 2, 3} {
		done := make(chan error, 1)
		go func() { done <- p.wait(ctx, chat) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("private chat %d waited behind the group", chat)
		}
	}
	select {
	case <-second:
		t.Fatal("the group's second message did not wait for its gap")
	default:
	}
	cancel()
	if err := <-second; err == nil {
		t.Fatal("a cancelled wait returned no error")
	}
}
