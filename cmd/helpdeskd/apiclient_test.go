package main

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"strconv"
	"testing"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/helpdeskd/helpdeskd/adapters/httpapi/apiclient"
)

// TestAPIClient drives a running daemon through the client that oapi-codegen generated from
// the daemon's own OpenAPI document (adapters/httpapi/apiclient), and through nothing else:
// a customer opens a ticket with JSON and one with multipart and a file, lists them, reads
// the detail, replies, closes, and downloads the file. What a panel's developers generate
// from the document works against the real thing: its paths, parameters, bodies and the
// shapes of its answers.
func TestAPIClient(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := writeConfig(t, dir, addr)
	key := provision(t, cfg) // account 1, customer 1 with this key
	if code, out, errOut := runCLI(t, nil, "admin", "property", "put", "-config", cfg, "--id", "7", "--account", "1", "--name", "acme.example"); code != 0 {
		t.Fatalf("property put: %s %s", out, errOut)
	}
	d := startDaemon(t, cfg, addr)

	c, err := apiclient.NewClientWithResponses(d.base, apiclient.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		req.Header.Set("X-API-Key", key)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	const account = 1
	fail := func(what string, status int, body []byte) {
		t.Helper()
		t.Fatalf("%s: %d %s; log:\n%s", what, status, body, d.logs)
	}

	// Open a ticket with JSON.
	prop, topic := int64(7), apiclient.TopicN3
	created, err := c.PostApiTicketWithResponse(ctx, &apiclient.PostApiTicketParams{AccountId: account}, apiclient.CreateTicketRequest{
		Subject: "Invoice twice", Description: "I was charged twice in May.", PropertyId: &prop, Topic: &topic,
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.StatusCode() != http.StatusCreated || created.JSON201 == nil || !created.JSON201.Succeeded {
		fail("create (JSON)", created.StatusCode(), created.Body)
	}
	jsonTicket := created.JSON201.Data
	if jsonTicket.Subject != "Invoice twice" || jsonTicket.Status != apiclient.StatusN0 || jsonTicket.Topic != topic ||
		jsonTicket.PropertyId == nil || *jsonTicket.PropertyId != prop || jsonTicket.PropertyName == nil || *jsonTicket.PropertyName != "acme.example" {
		t.Fatalf("create (JSON): %+v", jsonTicket)
	}

	// Open a ticket with multipart/form-data and a file: the body is the generated form type,
	// encoded by hand (oapi-codegen's client takes a multipart body as a reader).
	fileBytes := append([]byte("crash log\x00\x01\x02\xff"), bytes.Repeat([]byte{0xAB}, 4096)...)
	form := apiclient.CreateTicketForm{Subject: "Site down", Description: "See the attached log.", File: &openapi_types.File{}}
	form.File.InitFromBytes(fileBytes, "crash.log")
	body, contentType := encodeCreateForm(t, form)
	created, err = c.PostApiTicketWithBodyWithResponse(ctx, &apiclient.PostApiTicketParams{AccountId: account}, contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	if created.StatusCode() != http.StatusCreated || created.JSON201 == nil {
		fail("create (multipart)", created.StatusCode(), created.Body)
	}
	formTicket := created.JSON201.Data
	if formTicket.Subject != "Site down" || formTicket.PropertyId != nil || formTicket.Topic != apiclient.TopicN0 {
		t.Fatalf("create (multipart): %+v", formTicket)
	}

	// List: both, newest first, in the envelope's paging.
	pageSize := 10
	list, err := c.GetApiTicketWithResponse(ctx, &apiclient.GetApiTicketParams{AccountId: account, PageSize: &pageSize})
	if err != nil {
		t.Fatal(err)
	}
	if list.StatusCode() != http.StatusOK || list.JSON200 == nil {
		fail("list", list.StatusCode(), list.Body)
	}
	if l := list.JSON200; l.TotalRecords != 2 || l.PageSize != 10 || l.PageNumber != 1 || l.TotalPages != 1 || len(l.Data) != 2 ||
		l.Data[0].Id != formTicket.Id || l.Data[1].Id != jsonTicket.Id || l.Data[1].MessageCount != 1 || l.Data[1].CreatedAt.IsZero() {
		t.Fatalf("list: %s", list.Body)
	}

	// Detail of the multipart ticket: its first message carries the file.
	detail, err := c.GetApiTicketIdWithResponse(ctx, formTicket.Id, &apiclient.GetApiTicketIdParams{AccountId: account})
	if err != nil {
		t.Fatal(err)
	}
	if detail.StatusCode() != http.StatusOK || detail.JSON200 == nil {
		fail("detail", detail.StatusCode(), detail.Body)
	}
	dt := detail.JSON200.Data
	if dt.Id != formTicket.Id || dt.AccountId != account || dt.Description != "See the attached log." || len(dt.Messages) != 1 ||
		dt.Messages[0].Author != apiclient.MessageAuthorCustomer || len(dt.Messages[0].Attachments) != 1 || len(dt.History) == 0 {
		t.Fatalf("detail: %s", detail.Body)
	}
	att := dt.Messages[0].Attachments[0]
	if att.FileName != "crash.log" || att.Size != int64(len(fileBytes)) {
		t.Fatalf("attachment: %+v", att)
	}

	// Reply, then the detail has two messages.
	reply, err := c.PostApiTicketIdReplyWithResponse(ctx, formTicket.Id, &apiclient.PostApiTicketIdReplyParams{AccountId: account},
		apiclient.ReplyRequest{Message: "It is back up, thanks."})
	if err != nil {
		t.Fatal(err)
	}
	if reply.StatusCode() != http.StatusCreated || reply.JSON201 == nil || reply.JSON201.Data.Message != "It is back up, thanks." ||
		reply.JSON201.Data.Channel != apiclient.MessageChannelApi || reply.JSON201.Data.Internal {
		fail("reply", reply.StatusCode(), reply.Body)
	}
	detail, err = c.GetApiTicketIdWithResponse(ctx, formTicket.Id, &apiclient.GetApiTicketIdParams{AccountId: account})
	if err != nil || detail.JSON200 == nil || len(detail.JSON200.Data.Messages) != 2 || detail.JSON200.Data.Messages[1].Id != reply.JSON201.Data.Id {
		t.Fatalf("detail after the reply: %v %s", err, detail.Body)
	}

	// Close.
	closed, err := c.PostApiTicketIdCloseWithResponse(ctx, formTicket.Id, &apiclient.PostApiTicketIdCloseParams{AccountId: account})
	if err != nil {
		t.Fatal(err)
	}
	if closed.StatusCode() != http.StatusOK || closed.JSON200 == nil || closed.JSON200.Data.Status != apiclient.StatusN3 {
		fail("close", closed.StatusCode(), closed.Body)
	}

	// Download the file: the very bytes sent.
	dl, err := c.GetApiTicketIdAttachmentAttachmentIdWithResponse(ctx, formTicket.Id, att.Id, &apiclient.GetApiTicketIdAttachmentAttachmentIdParams{AccountId: account})
	if err != nil {
		t.Fatal(err)
	}
	if dl.StatusCode() != http.StatusOK || !bytes.Equal(dl.Body, fileBytes) {
		fail("download", dl.StatusCode(), dl.Body)
	}
	if got := dl.HTTPResponse.Header.Get("Content-Length"); got != strconv.Itoa(len(fileBytes)) {
		t.Errorf("download Content-Length %q, want %d", got, len(fileBytes))
	}

	// An error answer decodes into the generated error envelope.
	missing, err := c.GetApiTicketIdAttachmentAttachmentIdWithResponse(ctx, jsonTicket.Id, att.Id, &apiclient.GetApiTicketIdAttachmentAttachmentIdParams{AccountId: account})
	if err != nil {
		t.Fatal(err)
	}
	if missing.StatusCode() != http.StatusNotFound || missing.JSON4XX == nil || missing.JSON4XX.Succeeded != apiclient.ErrorEnvelopeSucceededFalse || missing.JSON4XX.Message == "" {
		fail("an attachment of another ticket", missing.StatusCode(), missing.Body)
	}
}

// encodeCreateForm encodes f as the multipart/form-data body of POST /api/Ticket.
func encodeCreateForm(t *testing.T, f apiclient.CreateTicketForm) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fields := [][2]string{{"subject", f.Subject}, {"description", f.Description}}
	if f.PropertyId != nil {
		fields = append(fields, [2]string{"propertyId", strconv.FormatInt(*f.PropertyId, 10)})
	}
	if f.Topic != nil {
		fields = append(fields, [2]string{"topic", strconv.FormatInt(*f.Topic, 10)})
	}
	for _, kv := range fields {
		if err := w.WriteField(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	if f.File != nil {
		data, err := f.File.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		part, err := w.CreateFormFile("file", f.File.Filename())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := part.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf, w.FormDataContentType()
}
