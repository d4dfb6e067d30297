package httpapi_test

import (
	"fmt"
	"github.com/helpdeskd/helpdeskd/adapters/teststore"
	"io"
	"net/http"
	"strings"
	"testing"
)

// blobFiles lists what the blob store keeps, unfinished uploads included.
func (e *testEnv) blobFiles() []string {
	e.t.Helper()
	return teststore.BlobHashes(e.t, e.db)
}

// TestUploads_RefusedRequestsLeaveNoFile: a file staged before a later part or check
// refuses the request is removed before the error is answered, whatever refuses it —
// decoding, core's validation, the account, the ticket, the state machine, a second file, a
// file over the limit — on every endpoint that takes files. Bytes another ticket's
// attachment shares are kept.
func TestUploads_RefusedRequestsLeaveNoFile(t *testing.T) {
	e := newEnv(t)
	e.putDepartment(2, "tech-support")
	create := fmt.Sprintf("/api/Ticket?accountId=%d", acctA)
	ct, body := multipartBody(t, field("subject", "kept"), field("description", "d"), filePart("kept.txt", "text/plain", "shared bytes"))
	r := e.call("POST", create, e.alice, ct, body)
	expect(t, r, http.StatusCreated)
	var kept ticketData
	r.data(t, &kept)
	closed := e.createTicket(e.alice, acctA, nil)
	expect(t, e.json("POST", fmt.Sprintf("/api/Ticket/%d/Close?accountId=%d", closed, acctA), e.alice, nil), 200)
	bobs := e.createTicket(e.bob, acctB, nil)
	baseline := e.blobFiles()
	if len(baseline) != 1 {
		t.Fatalf("blob store after one attachment: %v", baseline)
	}

	big := strings.Repeat("x", testMaxAttachment+1)
	file := func(content string) part { return filePart("trace.har", "application/json", content) }
	compatFile := func(content string) part {
		return part{name: "attachments[]", fileName: "a.png", contentType: "image/png", value: content, file: true}
	}
	tests := []struct {
		name, key, path string
		parts           []part
		status          int
	}{
		{"subject after the file is empty", e.alice, create, []part{file("f1"), field("subject", ""), field("description", "d")}, 400},
		{"unknown field after the file", e.alice, create, []part{file("f2"), field("subject", "s"), field("colour", "red")}, 400},
		{"topic not a number", e.alice, create, []part{file("f3"), field("subject", "s"), field("description", "d"), field("topic", "x")}, 400},
		{"property of another account", e.alice, create, []part{file("f4"), field("subject", "s"), field("description", "d"), field("propertyId", itoa(propB))}, 400},
		{"another account", e.alice, fmt.Sprintf("/api/Ticket?accountId=%d", acctB), []part{file("f5"), field("subject", "s"), field("description", "d")}, 403},
		{"a second file", e.alice, create, []part{file("f6"), file("f6b"), field("subject", "s"), field("description", "d")}, 400},
		{"an oversized second file", e.alice, create, []part{field("subject", "s"), file("f7"), file(big)}, 400},
		{"a file over the limit", e.alice, create, []part{field("subject", "s"), file(big)}, 413},
		{"same bytes as another ticket's attachment", e.alice, create, []part{file("shared bytes"), field("subject", "")}, 400},
		{"reply to another account's ticket", e.alice, fmt.Sprintf("/api/Ticket/%d/Reply?accountId=%d", bobs, acctA), []part{file("f8"), field("message", "m")}, 404},
		{"reply to a closed ticket", e.alice, fmt.Sprintf("/api/Ticket/%d/Reply?accountId=%d", closed, acctA), []part{file("f9"), field("message", "m")}, 409},
		{"staff reply with a bad internal", e.staff, fmt.Sprintf("/api/staff/Ticket/%d/Reply", kept.ID), []part{file("f10"), field("internal", "maybe")}, 400},
		{"compat with a blank department", e.alice, "/v1/support/tickets", []part{compatFile("f11"), compatFile("f12"), field("department_id", "   "),
			field("subject", "Hello"), field("message", "Hello world")}, 400},
		{"compat with a file over the limit", e.alice, "/v1/support/tickets", []part{compatFile("f13"), compatFile("f14"), compatFile(big),
			field("department_id", "2"), field("subject", "Hello"), field("message", "Hello world")}, 413},
		{"compat with an unknown department", e.alice, "/v1/support/tickets", []part{compatFile("f15"), field("department_id", "9"),
			field("subject", "Hello"), field("message", "Hello world")}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, body := multipartBody(t, tt.parts...)
			res := e.request("POST", tt.path, tt.key, ct, body)
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
			if files := e.blobFiles(); len(files) != 1 || files[0] != baseline[0] {
				t.Fatalf("blob store after the refused request: %v, want only %v", files, baseline)
			}
		})
	}
	// A body cut off after its file is refused too.
	ct, body = multipartBody(t, file("cut off"), field("subject", "s"), field("description", "d"))
	cut := body.String()[:strings.Index(body.String(), "cut off")+len("cut off")+4]
	res := e.request("POST", create, e.alice, ct, strings.NewReader(cut))
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest || len(e.blobFiles()) != 1 {
		t.Fatalf("cut-off body: %d, blob store %v", res.StatusCode, e.blobFiles())
	}
	// Five refused uploads of a whole attachment's size leave nothing either.
	for i := range 5 {
		ct, body := multipartBody(t, file(fmt.Sprintf("%d%s", i, strings.Repeat("y", testMaxAttachment-1))), field("subject", ""))
		res := e.request("POST", create, e.alice, ct, body)
		res.Body.Close()
	}
	if files := e.blobFiles(); len(files) != 1 {
		t.Fatalf("after five refused uploads: %v", files)
	}
	// The attachment that shares its bytes with a refused upload is whole.
	d := e.detail(e.alice, acctA, kept.ID)
	res = e.request("GET", fmt.Sprintf("/api/Ticket/%d/Attachment/%d?accountId=%d", kept.ID, d.Messages[0].Attachments[0].ID, acctA), e.alice, "", nil)
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(got) != "shared bytes" {
		t.Fatalf("kept attachment: %d %q", res.StatusCode, got)
	}
}
