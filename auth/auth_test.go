package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"
)

// The known-good pair from cc-metric-store's sample config and README.
const (
	refKey   = "kzfYrYy+TzpanWZHJ5qSdMj5uKUWgq74BWhQG6copP0="
	refToken = "eyJ0eXAiOiJKV1QiLCJhbGciOiJFZERTQSJ9.eyJ1c2VyIjoiYWRtaW4iLCJyb2xlcyI6WyJST0xFX0FETUlOIiwiUk9MRV9BTkFMWVNUIiwiUk9MRV9VU0VSIl19.d-3_3FZTsadPjDEdsWrrQ7nS0edMAR4zjl-eK7rJU3HziNBfI9PDHDIpJVHTNN5E5SlLGLFXctWyKAkwhXL-Dw"
)

// now is the fixed clock of tests that need one.
var now = time.Unix(1_800_000_000, 0)

func refVerifier(t testing.TB) *Verifier {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(refKey)
	if err != nil {
		t.Fatal(err)
	}
	return NewVerifier(key)
}

type keyPair struct {
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

func newKeyPair(t testing.TB) keyPair {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{pub, priv}
}

func (k keyPair) sign(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims).SignedString(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fixedVerifier returns a Verifier for k whose clock reads *clock.
func fixedVerifier(k keyPair, clock *time.Time) *Verifier {
	v := NewVerifier(k.pub)
	v.now = func() time.Time { return *clock }
	return v
}

func TestReferencePair(t *testing.T) {
	v := refVerifier(t)
	for range 2 { // parse, then cache hit
		claims, err := v.Verify("Bearer " + refToken)
		if err != nil {
			t.Fatalf("reference token rejected: %v", err)
		}
		if claims["user"] != "admin" {
			t.Errorf("claims = %v", claims)
		}
	}
	if len(v.cache) != 1 {
		t.Errorf("cache holds %d tokens, want 1", len(v.cache))
	}
}

func TestVerify(t *testing.T) {
	k := newKeyPair(t)
	other := newKeyPair(t)
	clock := now
	v := fixedVerifier(k, &clock)
	unix := func(d time.Duration) int64 { return now.Add(d).Unix() }

	hs256, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"user": "x"}).SignedString([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"user": "x"}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	// HS256 signed with the public key bytes as the HMAC secret: the
	// classic algorithm-confusion attack.
	confused, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"user": "x"}).SignedString([]byte(k.pub))
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	unknownAlg := b64([]byte(`{"alg":"XS999","typ":"JWT"}`)) + "." + b64([]byte(`{}`)) + "." + b64([]byte("sig"))
	noAlg := b64([]byte(`{"typ":"JWT"}`)) + "." + b64([]byte(`{}`)) + "." + b64([]byte("sig"))
	valid := k.sign(t, jwt.MapClaims{"user": "u"})
	tampered := valid[:len(valid)-4] + "AAAA"

	f := func(header, wantErr string, wantIs error) {
		t.Helper()
		claims, err := v.Verify(header)
		if wantErr == "" {
			if err != nil {
				t.Errorf("Verify(%q): %v", header, err)
			} else if claims == nil {
				t.Errorf("Verify(%q): nil claims", header)
			}
			return
		}
		if err == nil {
			t.Errorf("Verify(%q) accepted, want %q", header, wantErr)
			return
		}
		if err.Error() != wantErr {
			t.Errorf("Verify(%q) = %q, want %q", header, err, wantErr)
		}
		if wantIs != nil && !errors.Is(err, wantIs) {
			t.Errorf("Verify(%q) = %v, want errors.Is %v", header, err, wantIs)
		}
	}

	f("Bearer "+valid, "", nil)
	f("Bearer "+k.sign(t, jwt.MapClaims{"exp": unix(time.Hour), "nbf": unix(-time.Hour), "iat": unix(-time.Hour)}), "", nil)
	f("Bearer "+k.sign(t, jwt.MapClaims{"exp": unix(0) + 1, "roles": []string{"ROLE_NOBODY"}, "sub": "anyone"}), "", nil)

	// Header shape.
	f("", "Use JWT Authentication", ErrNoBearer)
	f(valid, "Use JWT Authentication", ErrNoBearer)
	f("bearer "+valid, "Use JWT Authentication", ErrNoBearer)
	f("BEARER "+valid, "Use JWT Authentication", ErrNoBearer)
	f("Bearer"+valid, "Use JWT Authentication", ErrNoBearer)
	f("Basic dXNlcjpwYXNz", "Use JWT Authentication", ErrNoBearer)
	f("Token "+valid, "Use JWT Authentication", ErrNoBearer)
	f("Bearer ", "token is malformed: token contains an invalid number of segments", jwt.ErrTokenMalformed)
	f("Bearer  "+valid, "token is malformed: could not base64 decode header: illegal base64 data at input byte 0", jwt.ErrTokenMalformed)
	f("Bearer a.b", "token is malformed: token contains an invalid number of segments", jwt.ErrTokenMalformed)

	// Algorithm and signature.
	f("Bearer "+hs256, "only Ed25519/EdDSA supported", ErrAlgorithm)
	f("Bearer "+confused, "only Ed25519/EdDSA supported", ErrAlgorithm)
	f("Bearer "+none, "only Ed25519/EdDSA supported", ErrAlgorithm)
	f("Bearer "+unknownAlg, "only Ed25519/EdDSA supported", ErrAlgorithm)
	f("Bearer "+noAlg, "only Ed25519/EdDSA supported", ErrAlgorithm)
	f("Bearer "+other.sign(t, jwt.MapClaims{"user": "u"}), "ed25519: verification error", jwt.ErrTokenSignatureInvalid)
	f("Bearer "+tampered, "ed25519: verification error", jwt.ErrEd25519Verification)
	f("Bearer "+refToken, "ed25519: verification error", jwt.ErrTokenSignatureInvalid)
	// A bad signature wins over bad time claims, as in cc-metric-store.
	f("Bearer "+other.sign(t, jwt.MapClaims{"exp": unix(-time.Hour)}), "ed25519: verification error", jwt.ErrTokenSignatureInvalid)

	// Time claims, each only when present.
	f("Bearer "+k.sign(t, jwt.MapClaims{"exp": unix(-time.Second)}), "Token is expired", jwt.ErrTokenExpired)
	f("Bearer "+k.sign(t, jwt.MapClaims{"exp": unix(0)}), "Token is expired", jwt.ErrTokenExpired)
	f("Bearer "+k.sign(t, jwt.MapClaims{"nbf": unix(time.Minute)}), "Token is not valid yet", jwt.ErrTokenNotValidYet)
	f("Bearer "+k.sign(t, jwt.MapClaims{"iat": unix(time.Minute)}), "Token used before issued", jwt.ErrTokenUsedBeforeIssued)
	f("Bearer "+k.sign(t, jwt.MapClaims{"exp": unix(-time.Hour), "nbf": unix(time.Hour)}), "Token is not valid yet", jwt.ErrTokenNotValidYet)
	f("Bearer "+k.sign(t, jwt.MapClaims{"exp": unix(-time.Hour), "iat": unix(time.Hour)}), "Token used before issued", jwt.ErrTokenUsedBeforeIssued)
	f("Bearer "+k.sign(t, jwt.MapClaims{"exp": "tomorrow"}), "token has invalid claims: invalid type for claim: exp is invalid", jwt.ErrInvalidType)

	// Only valid tokens are cached.
	if len(v.cache) != 3 {
		t.Errorf("cache holds %d tokens, want the 3 valid ones", len(v.cache))
	}
}

func TestCacheHit(t *testing.T) {
	k := newKeyPair(t)
	clock := now
	v := fixedVerifier(k, &clock)
	token := k.sign(t, jwt.MapClaims{"user": "u", "exp": now.Add(time.Hour).Unix()})

	first, err := v.Verify("Bearer " + token)
	if err != nil {
		t.Fatal(err)
	}
	second, err := v.Verify("Bearer " + token)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%p", first) != fmt.Sprintf("%p", second) {
		t.Errorf("second Verify did not come from the cache")
	}

	// A hit skips the signature: an entry planted under a raw string that
	// is no token at all is accepted.
	v.cache["planted"] = jwt.MapClaims{"user": "p"}
	if claims, err := v.Verify("Bearer planted"); err != nil || claims["user"] != "p" {
		t.Errorf("planted entry: %v, %v", claims, err)
	}

	// A hit re-checks the time claims, and an expired entry is dropped.
	clock = now.Add(2 * time.Hour)
	if _, err := v.Verify("Bearer " + token); err == nil || err.Error() != "Token is expired" || !errors.Is(err, jwt.ErrTokenExpired) {
		t.Errorf("expired cached token: %v", err)
	}
	if _, ok := v.cache[token]; ok {
		t.Errorf("expired token still cached")
	}
	if _, ok := v.cache["planted"]; !ok {
		t.Errorf("token without exp was dropped")
	}
}

func TestCacheEviction(t *testing.T) {
	k := newKeyPair(t)
	clock := now
	v := fixedVerifier(k, &clock)
	// Signing a thousand tokens is slow under the race detector; the
	// eviction only looks at cached claims, so plant them directly.
	seq := 0
	fill := func(n int, exp time.Time) {
		t.Helper()
		for range n {
			seq++
			v.cache[fmt.Sprint("planted-", seq)] = jwt.MapClaims{"exp": float64(exp.Unix())}
		}
	}

	// At the cap, expired entries go and live ones stay.
	fill(MaxCachedTokens/2, now.Add(time.Minute))
	fill(MaxCachedTokens/2, now.Add(time.Hour))
	if len(v.cache) != MaxCachedTokens {
		t.Fatalf("cache holds %d tokens, want %d", len(v.cache), MaxCachedTokens)
	}
	clock = now.Add(10 * time.Minute)
	last := k.sign(t, jwt.MapClaims{"last": true})
	if _, err := v.Verify("Bearer " + last); err != nil {
		t.Fatal(err)
	}
	if want := MaxCachedTokens/2 + 1; len(v.cache) != want {
		t.Errorf("after evicting expired tokens the cache holds %d, want %d", len(v.cache), want)
	}
	for _, c := range v.cache {
		if exp, _ := c.GetExpirationTime(); exp != nil && exp.Before(clock) {
			t.Errorf("expired token %v still cached", c)
		}
	}

	// At the cap with nothing expired, the cache is cleared.
	fill(MaxCachedTokens-len(v.cache), now.Add(2*time.Hour))
	if len(v.cache) != MaxCachedTokens {
		t.Fatalf("cache holds %d tokens, want %d", len(v.cache), MaxCachedTokens)
	}
	if _, err := v.Verify("Bearer " + k.sign(t, jwt.MapClaims{"after": "clear"})); err != nil {
		t.Fatal(err)
	}
	if len(v.cache) != 1 {
		t.Errorf("after clearing the cache holds %d tokens, want 1", len(v.cache))
	}
	// Tokens dropped by the clear still verify (and are cached again).
	if _, err := v.Verify("Bearer " + last); err != nil || len(v.cache) != 2 {
		t.Errorf("re-verify after clear: %v, cache %d", err, len(v.cache))
	}
}

func TestConcurrent(t *testing.T) {
	k := newKeyPair(t)
	clock := now
	v := fixedVerifier(k, &clock)
	tokens := make([]string, 64)
	for i := range tokens {
		tokens[i] = "Bearer " + k.sign(t, jwt.MapClaims{"i": i, "exp": now.Add(time.Hour).Unix()})
	}
	bad := "Bearer " + newKeyPair(t).sign(t, jwt.MapClaims{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				tok := tokens[(g*31+i)%len(tokens)]
				if _, err := v.Verify(tok); err != nil {
					t.Errorf("Verify: %v", err)
					return
				}
				if _, err := v.Verify(bad); err == nil {
					t.Errorf("bad token accepted")
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestNewVerifierRejectsBadKey(t *testing.T) {
	for _, key := range []ed25519.PublicKey{nil, make(ed25519.PublicKey, 31), make(ed25519.PublicKey, 64)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewVerifier(%d-byte key) did not panic", len(key))
				}
			}()
			NewVerifier(key)
		}()
	}
}

func TestMiddleware(t *testing.T) {
	gin.SetMode(gin.TestMode)
	v := refVerifier(t)
	r := gin.New()
	var calls int
	r.GET("/api/query", v.Middleware(), func(c *gin.Context) {
		calls++
		claims, ok := ClaimsFrom(c)
		if !ok {
			c.String(http.StatusInternalServerError, "no claims")
			return
		}
		c.String(http.StatusOK, "hello %v", claims["user"])
	})

	f := func(header string, set bool, wantStatus int, wantBody string) {
		t.Helper()
		before := calls
		req := httptest.NewRequest(http.MethodGet, "/api/query", nil)
		if set {
			req.Header.Set("Authorization", header)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != wantStatus || w.Body.String() != wantBody {
			t.Errorf("Authorization %q: got %d %q, want %d %q", header, w.Code, w.Body.String(), wantStatus, wantBody)
		}
		if wantStatus == http.StatusUnauthorized {
			if ct := w.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("Authorization %q: Content-Type %q", header, ct)
			}
			if calls != before {
				t.Errorf("Authorization %q: handler ran after 401", header)
			}
		}
	}
	f("", false, http.StatusUnauthorized, "Use JWT Authentication\n")
	f("bearer "+refToken, true, http.StatusUnauthorized, "Use JWT Authentication\n")
	f("Bearer "+refToken+"x", true, http.StatusUnauthorized, "ed25519: verification error\n")
	hs256, err := jwt.New(jwt.SigningMethodHS256).SignedString([]byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	f("Bearer "+hs256, true, http.StatusUnauthorized, "only Ed25519/EdDSA supported\n")
	f("Bearer "+refToken, true, http.StatusOK, "hello admin")
	f("Bearer "+refToken, true, http.StatusOK, "hello admin") // cache hit

	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	if _, ok := ClaimsFrom(c); ok {
		t.Errorf("ClaimsFrom on an unauthenticated context")
	}
}

func FuzzVerify(f *testing.F) {
	k := newKeyPair(f)
	f.Add("Bearer " + refToken)
	f.Add("Bearer " + k.sign(f, jwt.MapClaims{"exp": 1, "nbf": "x", "iat": 1e300}))
	f.Add("Bearer " + k.sign(f, jwt.MapClaims{"user": "u"}))
	f.Add("bearer x.y.z")
	f.Add("Bearer eyJhbGciOiJub25lIn0.e30.")
	f.Add("Bearer ..")
	f.Add("")
	v := NewVerifier(k.pub)
	ref := refVerifier(f)
	f.Fuzz(func(t *testing.T, header string) {
		for _, v := range []*Verifier{v, ref} {
			claims, err := v.Verify(header)
			if (err == nil) == (claims == nil) {
				t.Fatalf("Verify(%q) = %v, %v", header, claims, err)
			}
			if err != nil && err.Error() == "" {
				t.Fatalf("Verify(%q): empty error text", header)
			}
		}
	})
}
