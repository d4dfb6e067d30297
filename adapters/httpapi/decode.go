package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/helpdeskd/helpdeskd/core"
)

// Limits of request decoding.
const (
	// DefaultMaxBodyBytes is the request body limit when Options.MaxBodyBytes is 0 (raised
	// to leave room for one attachment of the configured size plus the form around it).
	DefaultMaxBodyBytes = 12 << 20
	// formOverheadBytes is what a multipart body may carry besides its file.
	formOverheadBytes = 1 << 20
	// maxShortFieldBytes caps a one-line multipart field (subject, topic, propertyId).
	maxShortFieldBytes = 4 << 10
	// maxEchoedNameChars caps a client-supplied field name quoted back in an error.
	maxEchoedNameChars = 64
	// fileField is the multipart part that carries the one optional file.
	fileField = "file"
)

// invalid is the EINVALID error for one field (core.FieldErrors collects several).
func invalid(field, msg string) error { return core.Invalid(field, msg) }

// echo makes a client-supplied name safe and short enough to quote back.
func echo(name string) string {
	name = strings.ToValidUTF8(name, "?")
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, name)
	if utf8.RuneCountInString(name) > maxEchoedNameChars {
		name = string([]rune(name)[:maxEchoedNameChars]) + "…"
	}
	if name == "" {
		return `""`
	}
	return name
}

// bodyKind is how a request body is encoded.
type bodyKind int

const (
	bodyJSON bodyKind = iota
	bodyMultipart
)

// kindOf reads the Content-Type. multipart is whether the endpoint takes multipart/form-data
// besides JSON; anything else is 415.
func kindOf(r *http.Request, multipart bool) (bodyKind, error) {
	want := "application/json"
	if multipart {
		want = "application/json or multipart/form-data"
	}
	unsupported := &core.Error{Code: eUnsupportedMediaType, Message: "Unsupported content type: send " + want + "."}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return 0, unsupported
	}
	switch {
	case mt == "application/json":
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
			return 0, &core.Error{Code: eUnsupportedMediaType, Message: "Unsupported charset: send UTF-8 JSON."}
		}
		return bodyJSON, nil
	case mt == "multipart/form-data" && multipart:
		return bodyMultipart, nil
	}
	return 0, unsupported
}

// decodeJSON decodes a JSON-only endpoint's body into dst; see decodeJSONBody.
func decodeJSON(r *http.Request, dst any) error {
	if _, err := kindOf(r, false); err != nil {
		return err
	}
	return decodeJSONBody(r, dst)
}

// decodeJSONBody decodes exactly one JSON object into dst: unknown fields, wrong types,
// malformed JSON and anything after the object are EINVALID naming the field (or "body").
// A body over the limit stays an *http.MaxBytesError, which writeError answers with 413.
func decodeJSONBody(r *http.Request, dst any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return invalid("body", "must hold exactly one JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var (
		tooBig *http.MaxBytesError
		syn    *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooBig):
		return err
	case errors.Is(err, io.EOF):
		return invalid("body", "must not be empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("body", "malformed JSON: unexpected end")
	case errors.As(err, &syn):
		return invalid("body", fmt.Sprintf("malformed JSON at byte %d", syn.Offset))
	case errors.As(err, &typ):
		if typ.Field == "" {
			return invalid("body", "must be a JSON object")
		}
		return invalid(echo(typ.Field), "must be "+kindName(typ.Type))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, uerr := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		if uerr != nil {
			name = strings.TrimPrefix(err.Error(), "json: unknown field ")
		}
		return invalid(echo(name), "unknown field")
	}
	return invalid("body", "malformed JSON")
}

// kindName says in words what JSON value a Go type takes.
func kindName(t reflect.Type) string {
	if t == nil {
		return "of another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	}
	return "an object"
}

// form is a decoded multipart/form-data body: its text fields and its files, already
// staged in the blob store.
type form struct {
	values map[string]string
	staged []core.FileRef
	// fileField names the file parts; maxFiles is how many may come.
	fileField string
	maxFiles  int
}

// files returns the staged files as the list core takes.
func (f *form) files() []core.FileRef { return f.staged }

// readForm streams a multipart/form-data body. fields names the text fields allowed, each
// with its size limit; the part named "file" is the one optional file, handed to
// core.Service.StageFile, which enforces the attachment limit while reading. Nothing is
// buffered beyond one text field at a time.
func (s *server) readForm(r *http.Request, fields map[string]int64) (*form, error) {
	return s.readFormFiles(r, fields, fileField, 1)
}

// readFormFiles is readForm with up to maxFiles files in parts named fileName.
func (s *server) readFormFiles(r *http.Request, fields map[string]int64, fileName string, maxFiles int) (*form, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, invalid("body", "malformed multipart/form-data")
	}
	f := &form{values: map[string]string{}, fileField: fileName, maxFiles: maxFiles}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return f, nil
		}
		if err != nil {
			return nil, partError(err)
		}
		err = s.readPart(r.Context(), part, f, fields)
		_ = part.Close()
		if err != nil {
			return nil, err
		}
	}
}

func (s *server) readPart(ctx context.Context, part *multipart.Part, f *form, fields map[string]int64) error {
	name := part.FormName()
	if name == f.fileField {
		if len(f.staged) >= f.maxFiles {
			if f.maxFiles == 1 {
				return invalid(f.fileField, "only one file may be attached")
			}
			return invalid(f.fileField, fmt.Sprintf("at most %d files may be attached", f.maxFiles))
		}
		ref, err := s.stageFile(ctx, part)
		if err != nil {
			return err
		}
		if ref != nil {
			f.staged = append(f.staged, *ref)
			info := infoFrom(ctx)
			info.staged = append(info.staged, *ref)
		}
		return nil
	}
	limit, ok := fields[name]
	if !ok {
		return invalid(echo(name), "unknown field")
	}
	if _, dup := f.values[name]; dup {
		return invalid(name, "must be given once")
	}
	b, err := io.ReadAll(io.LimitReader(part, limit+1))
	if err != nil {
		return partError(err)
	}
	if int64(len(b)) > limit {
		return invalid(name, fmt.Sprintf("too long (at most %s)", humanBytes(limit)))
	}
	f.values[name] = string(b)
	return nil
}

// stageFile keeps one file part in the blob store. A part with no file name and no bytes is
// what a browser sends when no file was chosen: no file. A failure to read the request is the
// client's (partError); a failure to store is the server's and stays as it is.
func (s *server) stageFile(ctx context.Context, part *multipart.Part) (*core.FileRef, error) {
	body := &readErrs{r: part}
	br := bufio.NewReader(body)
	if part.FileName() == "" {
		if _, err := br.Peek(1); errors.Is(err, io.EOF) {
			return nil, nil
		} else if err != nil {
			return nil, partError(err)
		}
	}
	ref, err := s.svc.StageFile(ctx, part.FileName(), part.Header.Get("Content-Type"), br)
	if err != nil {
		if body.err != nil && core.ErrorCode(err) != core.ETOOLARGE {
			return nil, partError(body.err)
		}
		return nil, err
	}
	return &ref, nil
}

// readErrs remembers the first error other than io.EOF that reading r gave.
type readErrs struct {
	r   io.Reader
	err error
}

func (e *readErrs) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && e.err == nil {
		e.err = err
	}
	return n, err
}

// partError keeps domain errors and an over-limit body as they are; anything else going
// wrong while reading a multipart body is the client's malformed input.
func partError(err error) error {
	var tooBig *http.MaxBytesError
	var de *core.Error
	if errors.As(err, &tooBig) || errors.As(err, &de) || errors.Is(err, context.Canceled) {
		return err
	}
	return invalid("body", "malformed multipart/form-data")
}

// optInt parses an optional integer form or query value; "" is absent.
func optInt(bad *core.FieldErrors, name, v string, bits int) *int64 {
	if v == "" {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, bits)
	if err != nil {
		bad.Add(name, "must be an integer")
		return nil
	}
	return &n
}

// accountIDParam reads the accountId query parameter every customer endpoint requires.
func accountIDParam(r *http.Request) (int64, error) {
	var bad core.FieldErrors
	id := accountIDInto(&bad, r)
	return id, bad.Err()
}

func accountIDInto(bad *core.FieldErrors, r *http.Request) int64 {
	vs := r.URL.Query()["accountId"]
	switch {
	case len(vs) == 0 || vs[0] == "":
		bad.Add("accountId", "is required")
		return 0
	case len(vs) > 1:
		bad.Add("accountId", "must be given once")
		return 0
	}
	id, err := strconv.ParseInt(vs[0], 10, 64)
	if err != nil || id <= 0 {
		bad.Add("accountId", "must be a positive integer")
		return 0
	}
	return id
}

// pathID reads a positive integer route parameter. A malformed ID is 400 naming it; a
// well-formed one that names nothing the caller may see is core's 404.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, name), 10, 64)
	if err != nil || id <= 0 {
		return 0, invalid(name, "must be a positive integer")
	}
	return id, nil
}

// pageQuery reads pageNumber and pageSize, with core's defaults filled in so that the paging
// fields of the answer say which page this is; core validates the range.
func pageQuery(bad *core.FieldErrors, q url.Values) core.Page {
	p := core.Page{Number: 1, Size: core.DefaultPageSize}
	if v := optInt(bad, "pageNumber", q.Get("pageNumber"), 32); v != nil && *v != 0 {
		p.Number = int(*v)
	}
	if v := optInt(bad, "pageSize", q.Get("pageSize"), 32); v != nil && *v != 0 {
		p.Size = int(*v)
	}
	return p
}
