package mail

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
)

// Outlook and Exchange thread by Thread-Index rather than by References, and some of their
// replies carry no In-Reply-To at all. A Thread-Index is base64 of a 22-byte header (a reserved
// byte, five bytes of a FILETIME, a 16-byte GUID) that every reply copies, followed by five
// bytes per reply. Ours names the ticket in the GUID and signs it, so the first 22 bytes of a
// reply's index are enough to find the ticket and cannot be made up for another one.
const threadIndexHeader = 22

// ThreadIndex returns the Thread-Index value of every mail about ticketID; "" without a secret.
func ThreadIndex(secret []byte, ticketID int64) string {
	if len(secret) == 0 || ticketID <= 0 {
		return ""
	}
	b := make([]byte, threadIndexHeader)
	b[0] = 0x01 // what Outlook puts there
	binary.BigEndian.PutUint64(b[6:14], uint64(ticketID))
	copy(b[14:], threadIndexMAC(secret, b[6:14]))
	return base64.StdEncoding.EncodeToString(b)
}

// TicketFromThreadIndex reads the ticket from a reply's Thread-Index that starts with one of
// ours; ok is false for any other index or a wrong signature.
func TicketFromThreadIndex(secret []byte, value string) (int64, bool) {
	if len(secret) == 0 {
		return 0, false
	}
	value = strings.Join(strings.Fields(value), "")
	// 22 bytes are 30 base64 characters (29.3 rounded up), enough to decode the header alone
	// whatever padding the rest has.
	if len(value) < 32 {
		return 0, false
	}
	b, err := base64.StdEncoding.DecodeString(value[:32])
	if err != nil || len(b) < threadIndexHeader || b[0] != 0x01 {
		return 0, false
	}
	if !hmac.Equal(b[14:threadIndexHeader], threadIndexMAC(secret, b[6:14])) {
		return 0, false
	}
	id := int64(binary.BigEndian.Uint64(b[6:14]))
	return id, id > 0
}

func threadIndexMAC(secret, id []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("helpdeskd thread index "))
	m.Write(id)
	return m.Sum(nil)[:threadIndexHeader-14]
}
