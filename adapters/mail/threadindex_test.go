package mail

import (
	"encoding/base64"
	"testing"
)

func TestThreadIndex(t *testing.T) {
	secret := []byte("thread-index-secret")
	ours := ThreadIndex(secret, 4711)
	raw, err := base64.StdEncoding.DecodeString(ours)
	if err != nil || len(raw) != 22 {
		t.Fatalf("ThreadIndex = %q (%d bytes, %v): Outlook wants a 22-byte header", ours, len(raw), err)
	}
	// Outlook's reply appends five bytes to the index it got.
	reply := base64.StdEncoding.EncodeToString(append(raw, 0x00, 0x00, 0x01, 0x2c, 0x40))
	forged := base64.StdEncoding.EncodeToString(append(append([]byte{}, raw[:13]...), append([]byte{0x2a}, raw[14:]...)...))
	tests := []struct {
		name, value string
		want        int64
	}{
		{"ours", ours, 4711},
		{"a reply to ours", reply, 4711},
		{"folded over two lines", reply[:20] + "\r\n " + reply[20:], 4711},
		{"another ticket number under our signature", forged, 0},
		{"Outlook's own", "AQHZ3kLmQ5c8bXk0TEq9hG8Yc2yJbQ==", 0},
		{"not base64", "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", 0},
		{"short", "AQ==", 0},
		{"empty", "", 0},
	}
	for _, tt := range tests {
		got, ok := TicketFromThreadIndex(secret, tt.value)
		if got != tt.want || ok != (tt.want != 0) {
			t.Errorf("%s: got %d %v, want %d", tt.name, got, ok, tt.want)
		}
	}
	if _, ok := TicketFromThreadIndex([]byte("other secret"), ours); ok {
		t.Error("an index signed under another secret was accepted")
	}
	if ThreadIndex(nil, 1) != "" {
		t.Error("a Thread-Index without a secret")
	}
}
