package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/go-chi/chi/v5/middleware"
)

// The served OpenAPI document, loaded once for every test of the package: every JSON answer
// an HTTP test receives is checked against it (checkResponses), so the document cannot drift
// from what the API sends.
var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter routers.Router
	specErr    error
)

func loadSpec(h http.Handler) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/openapi.json", nil))
	if rec.Code != http.StatusOK {
		specErr = fmt.Errorf("GET /api/openapi.json: %d", rec.Code)
		return
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(rec.Body.Bytes())
	if err != nil {
		specErr = err
		return
	}
	// The document's one server is relative ("/"); match requests by path alone.
	doc.Servers = nil
	specDoc = doc
	specRouter, specErr = legacy.NewRouter(doc)
}

// checkResponses passes every request to h and checks the JSON answer against the schema
// the document gives for its route and status (an unknown route's answer against
// ErrorEnvelope), failing t on a mismatch or an undocumented status.
func checkResponses(t *testing.T, h http.Handler) http.Handler {
	specOnce.Do(func() { loadSpec(h) })
	if specErr != nil {
		t.Fatalf("load the OpenAPI document: %v", specErr)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body bytes.Buffer
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		ww.Tee(&body)
		h.ServeHTTP(ww, r)
		if !strings.HasPrefix(ww.Header().Get("Content-Type"), "application/json") {
			return // attachments, metrics: not JSON, checked by their own tests
		}
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		if err := validateAnswer(r, status, ww.Header(), body.Bytes()); err != nil {
			t.Errorf("%s %s → %d does not match the OpenAPI document: %v\nbody: %s", r.Method, r.URL.Path, status, err, truncate(body.Bytes()))
		}
	})
}

func validateAnswer(r *http.Request, status int, header http.Header, body []byte) error {
	route, params, err := specRouter.FindRoute(r)
	if err != nil {
		// No documented operation (404 and 405 from the router): the error answer of the
		// API the path belongs to.
		name := "ErrorEnvelope"
		if strings.HasPrefix(r.URL.Path, "/v1/") {
			name = "CompatError"
		}
		return specDoc.Components.Schemas[name].Value.VisitJSON(decodeAny(body), openapi3.VisitAsResponse())
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(context.Background(), in)
}

func decodeAny(body []byte) any {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return string(body) // not JSON: any schema but a string refuses it
	}
	return v
}

func truncate(b []byte) string {
	const max = 2000
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
