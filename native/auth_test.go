package native_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/cc-metric-bridge/cc-metric-bridge/auth"
	"github.com/cc-metric-bridge/cc-metric-bridge/native"
)

// The reference's known-good pair (cc-metric-store sample config and README).
const (
	refKey   = "kzfYrYy+TzpanWZHJ5qSdMj5uKUWgq74BWhQG6copP0="
	refToken = "eyJ0eXAiOiJKV1QiLCJhbGciOiJFZERTQSJ9.eyJ1c2VyIjoiYWRtaW4iLCJyb2xlcyI6WyJST0xFX0FETUlOIiwiUk9MRV9BTkFMWVNUIiwiUk9MRV9VU0VSIl19.d-3_3FZTsadPjDEdsWrrQ7nS0edMAR4zjl-eK7rJU3HziNBfI9PDHDIpJVHTNN5E5SlLGLFXctWyKAkwhXL-Dw"
)

// TestJWTOnNativeRoutes: with a key configured every data route needs a
// valid Bearer token; 404/405 still come first, a bodiless healthcheck
// stays open.
func TestJWTOnNativeRoutes(t *testing.T) {
	raw, _ := base64.StdEncoding.DecodeString(refKey)
	srv := startServer(t, testMetrics, func(o *native.Options) {
		o.Auth = auth.NewVerifier(ed25519.PublicKey(raw)).Middleware()
	})
	send := func(method, path, body, authz string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, readAll(t, resp.Body)
	}
	routes := []struct{ method, path, body string }{
		{"POST", "/api/write?cluster=c", "cpu_load,hostname=h value=1 1700000000\n"},
		{"GET", "/api/query/", `{"cluster":"c","from":1700000000,"to":1700000010,"queries":[{"metric":"cpu_load","host":"h"}]}`},
		{"POST", "/api/query", `{"cluster":"c","from":1700000000,"to":1700000010,"queries":[]}`},
		{"POST", "/api/free?to=0", "[]"},
		{"GET", "/api/debug", ""},
		{"GET", "/api/healthcheck", `{"cluster":"c","nodes":["h"],"metric-names":["cpu_load"]}`},
	}
	for _, r := range routes {
		for _, bad := range []struct{ header, msg string }{
			{"", "Use JWT Authentication\n"},
			{"bearer " + refToken, "Use JWT Authentication\n"},
			{"Bearer " + refToken[:len(refToken)-4] + "AAAA", "ed25519: verification error\n"},
		} {
			if status, got := send(r.method, r.path, r.body, bad.header); status != 401 || got != bad.msg {
				t.Errorf("%s %s with %.20q: %d %q", r.method, r.path, bad.header, status, got)
			}
		}
		if status, got := send(r.method, r.path, r.body, "Bearer "+refToken); status != 200 {
			t.Errorf("%s %s with the reference token: %d %q", r.method, r.path, status, got)
		}
	}
	if status, _ := send("GET", "/api/healthcheck/", "", ""); status != 200 {
		t.Errorf("bodiless healthcheck: %d", status)
	}
	if status, _ := send("GET", "/api/write", "", ""); status != 405 {
		t.Errorf("405 must come before auth: %d", status)
	}
}
